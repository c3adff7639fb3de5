"""Reports: one data model (:mod:`monitor.report.model`) rendered as HTML, Markdown or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

from monitor.report.html import render_html
from monitor.report.markdown import render_markdown
from monitor.report.model import ReportData, build


def render_json(data: ReportData) -> str:
    """SPEC §10 ``report --format json``."""
    return json.dumps(data.as_json(), indent=2, ensure_ascii=False) + "\n"


FORMATS: dict[str, Callable[[ReportData], str]] = {
    "html": render_html,
    "md": render_markdown,
    "json": render_json,
}

__all__ = ["FORMATS", "ReportData", "build", "render_html", "render_json", "render_markdown"]

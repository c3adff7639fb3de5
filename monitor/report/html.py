"""HTML report: one self-contained page (inline CSS, no scripts, no external assets)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from monitor.report.links import safe_href
from monitor.report.model import ReportData

_ENV = Environment(loader=PackageLoader("monitor.report", "templates"),
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                   lstrip_blocks=True)
_ENV.filters["href"] = safe_href


def needs_action(data: ReportData) -> list[dict[str, Any]]:
    """Resources that need the maintainer, most urgent first: new dead, dead, moved, failing."""
    new_dead = data.new_event_urls("went_dead")
    rank = {"dead": 1, "moved": 2, "failing": 3}
    rows = [r for r in data.resources if r["state"] in rank]
    rows.sort(key=lambda r: (0 if r["url"] in new_dead else rank[r["state"]], r["section"]))
    return [r | {"new": r["url"] in new_dead} for r in rows]


def render_html(data: ReportData) -> str:
    """Render ``data`` as one HTML page."""
    template = _ENV.get_template("report.html.j2")
    return template.render(data=data, counts=data.counts(), actions=needs_action(data),
                           blocked=data.by_state("blocked"), sections=data.sections())

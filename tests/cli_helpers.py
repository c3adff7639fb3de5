"""Helpers to drive the ``monitor`` command line in-process against the simulated web."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from monitor.cli import main
from tests.simweb import SimWeb


def write_catalog(path: Path, urls: Sequence[str | tuple[str, str]]) -> Path:
    """A catalog CSV with ``url,title,section``; items are URLs or ``(url, section)``."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["url", "title", "section"])
        for i, item in enumerate(urls):
            url, section = (item, "Section A") if isinstance(item, str) else item
            w.writerow([url, f"Resource {i}", section])
    return path


def write_config(path: Path, web: SimWeb | None = None, **sections: dict[str, Any]) -> Path:
    """A monitor.toml reaching ``web`` with fast retries; ``sections`` override keys."""
    http: dict[str, Any] = {"retries": 1, "backoff_base": 0.001, "timeout": 3.0,
                            "connect_timeout": 2.0}
    if web is not None:
        http |= {"connect_to": web.connect_to(), "ca_bundle": web.ca_path}
    tables = {"http": http | sections.pop("http", {}),
              "report": {"dir": str(path.parent / "reports")}} | sections
    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def monitor(db_url: str, config: Path | None, *args: str) -> Result:
    """Run ``monitor --db URL [--config PATH] ARGS`` in-process; never raises."""
    opts = ["--db", db_url] + (["--config", str(config)] if config else [])
    return CliRunner().invoke(main, [*opts, *args], catch_exceptions=False)


def status_json(db_url: str, config: Path | None) -> dict[str, dict[str, Any]]:
    """``status --json`` keyed by URL."""
    result = monitor(db_url, config, "status", "--json")
    assert result.exit_code == 0, result.output
    return {r["url"]: r for r in json.loads(result.stdout)}

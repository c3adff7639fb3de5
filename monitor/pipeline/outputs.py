"""The files a run writes: its reports (SPEC §9), each written atomically."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.files import write_atomic
from monitor.health import HealthPolicy
from monitor.report import FORMATS, ReportData, build
from monitor.store.db import Database

EXTENSIONS = {"html": "html", "md": "md", "json": "json"}


def write_report(db: Database, settings: Settings, fmt: str = "html", out: str | None = None,
                 run_id: int | None = None, data: ReportData | None = None) -> list[str]:
    """Render a report and write it; returns the paths written ('-' for standard output).

    With no ``out``, html goes to ``report.dir/YYYY-MM-DD.html`` and ``report.dir/index.html``
    (the date of the run's start; ``run-ID.html`` for ``--run ID``), md and json to standard
    output. ``data``: the report's data when already built (else read from ``db``).
    """
    if data is None:
        data = build(db, run_id, settings["report.history_runs"],
                     HealthPolicy.from_settings(settings))
    if run_id is not None and (data.run is None or data.run["id"] != run_id):
        raise ConfigError(f"--run {run_id}: no finished run with that id")
    text = FORMATS[fmt](data)
    if out == "":
        raise ConfigError("--out: empty path (use '-' for standard output)")
    if out == "-" or (out is None and fmt != "html"):
        sys.stdout.write(text)
        return ["-"]
    if out is not None:
        return [_write(Path(out), text)]
    day = (data.run["started_at"][:10] if data.run else date.today().isoformat())
    folder = Path(settings["report.dir"])
    if run_id is not None:  # an earlier run: never overwrite the day's or the latest report
        return [_write(folder / f"run-{run_id}.{EXTENSIONS[fmt]}", text)]
    return [_write(folder / f"{day}.{EXTENSIONS[fmt]}", text),
            _write(folder / f"index.{EXTENSIONS[fmt]}", text)]


def _write(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` atomically (:func:`monitor.files.write_atomic`: through a
    symbolic link, never over a device or FIFO). Raises ConfigError naming the path."""
    if not path.name:
        raise ConfigError(f"cannot write the report to {str(path)!r}: it is a directory")
    write_atomic(path, text.encode("utf-8"), "report")
    return str(path)


def write_reports(db: Database, settings: Settings,
                  policy: HealthPolicy) -> tuple[ReportData, list[str]]:
    """The nightly reports: ``report.dir/YYYY-MM-DD.html`` and ``index.html``, ``latest.md``,
    ``latest.json``, from one read of the database. Returns the data and a "wrote ..." line per
    format."""
    data = build(db, None, settings["report.history_runs"], policy)
    lines = []
    for fmt in ("html", "md", "json"):
        out = None if fmt == "html" else str(Path(settings["report.dir"]) /
                                             f"latest.{EXTENSIONS[fmt]}")
        lines.append("wrote " + ", ".join(write_report(db, settings, fmt, out, data=data)))
    return data, lines

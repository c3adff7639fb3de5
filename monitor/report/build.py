"""One read of the database for a report: :func:`build` gives the :class:`ReportData` every
format renders (the latest run, or an earlier one replayed)."""

from __future__ import annotations

from typing import Any

from monitor import __version__
from monitor.health import HealthPolicy
from monitor.report.history import replay
from monitor.report.model import (
    ReportData,
    iso,
    run_object,
    status_objects,
    suggestion_object,
)
from monitor.store import queries, suggestions
from monitor.store.db import Database
from monitor.store.models import utcnow


def suggestion_objects(db: Database) -> list[dict[str, Any]]:
    """The open suggestions as SPEC §10 objects, best first (empty until the watch has run)."""
    return [suggestion_object(s) for s in suggestions.list_suggestions(db, status="new")]


def build(db: Database, run_id: int | None = None, history_runs: int = 30,
          policy: HealthPolicy | None = None) -> ReportData:
    """Read the report data for ``run_id`` (default: the latest finished run).

    For an earlier run the resources are replayed as they stood then
    (:mod:`monitor.report.history`, with ``policy``: the configured ``[health]`` policy, so that
    every reader of an earlier run sees the same states; the defaults when None).
    """
    runs = queries.list_runs(db)
    finished = [r for r in runs if r.status != "running"]
    run = next((r for r in finished if r.id == run_id), None) if run_id else (
        finished[0] if finished else None)
    previous = next((r for r in finished if run and r.id < run.id), None)
    if run is not None and finished and run.id != finished[0].id:
        resources = replay(db, run.id, policy or HealthPolicy())
    else:
        resources = status_objects(db)
    events = [{"run_id": rid, "at": iso(at), "url": url, "kind": kind, "detail": detail}
              for rid, at, url, kind, detail in queries.event_values(db, run.id)] if run else []
    history = [run_object(r) | {"unknown": r.unknown}
               for r in reversed([r for r in finished if not run or r.id <= run.id][:history_runs])]
    return ReportData(run_object(run) | {"note": run.note} if run else None, resources, events,
                      suggestion_objects(db), history,
                      run_object(previous) | {"unknown": previous.unknown} if previous else None,
                      utcnow().isoformat(timespec="seconds"), __version__)

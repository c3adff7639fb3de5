"""The report's data: one read of the database shaped as the SPEC §10 JSON objects.

Every format (HTML, Markdown, JSON) renders the same :class:`ReportData`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.store import queries
from monitor.store.db import Database
from monitor.store.models import Event, Resource, ResourceState, Run

STATE_ORDER = ("dead", "failing", "moved", "blocked", "unknown", "ok")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with offset, or None."""
    return value.isoformat() if value else None


def status_object(res: Resource, st: ResourceState) -> dict[str, Any]:
    """One ``status --json`` object (SPEC §10)."""
    return {
        "url": res.url, "canonical_url": res.canonical_url, "title": res.title,
        "section": res.section, "kind": res.kind, "state": st.state,
        "http_status": st.http_status, "error": st.error, "final_url": st.final_url,
        "consecutive_failures": st.consecutive_failures, "failing_since": iso(st.failing_since),
        "last_ok_at": iso(st.last_ok_at), "last_checked_at": iso(st.last_checked_at),
        "changed_at": iso(st.changed_at), "similarity": st.similarity,
        "suggested_url": st.suggested_url, "detail": st.detail, "chapter": res.chapter,
        "source": res.source,
    }


def run_object(run: Run) -> dict[str, Any]:
    """One ``runs --json`` object (SPEC §10)."""
    return {
        "id": run.id, "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
        "status": run.status, "checked": run.checked, "ok": run.ok, "moved": run.moved,
        "failing": run.failing, "dead": run.dead, "blocked": run.blocked,
    }


def event_object(event: Event, res: Resource) -> dict[str, Any]:
    """One event object (SPEC §10)."""
    return {"run_id": event.run_id, "at": iso(event.at), "url": res.url, "kind": event.kind,
            "detail": event.detail}


@dataclass
class ReportData:
    """Everything a report shows: ``run``, ``resources``, ``events``, ``suggestions``, history."""

    run: dict[str, Any] | None
    resources: list[dict[str, Any]]
    events: list[dict[str, Any]]
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    previous: dict[str, Any] | None = None
    generated_at: str = ""
    version: str = ""

    def duration(self) -> str:
        """The run's duration in words ("2 min 5 s"), or "" while unknown."""
        if not self.run or not self.run.get("finished_at"):
            return ""
        seconds = int((datetime.fromisoformat(self.run["finished_at"])
                       - datetime.fromisoformat(self.run["started_at"])).total_seconds())
        return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"

    def counts(self) -> dict[str, int]:
        c = Counter(r["state"] for r in self.resources)
        return {s: c.get(s, 0) for s in ("ok", "moved", "failing", "dead", "blocked", "unknown")}

    def by_state(self, state: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["state"] == state]

    def new_event_urls(self, kind: str) -> set[str]:
        return {e["url"] for e in self.events if e["kind"] == kind}

    def sections(self) -> list[tuple[str, dict[str, int]]]:
        """Per section, counts per state, worst first (most dead, then failing, ...)."""
        table: dict[str, Counter[str]] = {}
        for r in self.resources:
            table.setdefault(r["section"] or "(none)", Counter())[r["state"]] += 1
        rows = [(name, {s: c.get(s, 0) for s in STATE_ORDER} | {"total": sum(c.values())})
                for name, c in table.items()]
        rows.sort(key=lambda row: tuple(-row[1][s] for s in STATE_ORDER[:4]))
        return rows

    def as_json(self) -> dict[str, Any]:
        """SPEC §10 ``report --format json``: ``{run, resources, events, suggestions}``."""
        return {"run": self.run, "resources": self.resources, "events": self.events,
                "suggestions": self.suggestions}


def suggestion_objects(db: Database) -> list[dict[str, Any]]:
    """The open suggestions as SPEC §10 objects, best first (empty until the watch has run)."""
    from monitor.watch.store import list_suggestions, suggestion_object

    return [suggestion_object(s) for s in list_suggestions(db, status="new")]


def build(db: Database, run_id: int | None = None, history_runs: int = 30,
          policy: Any = None) -> ReportData:
    """Read the report data for ``run_id`` (default: the latest finished run).

    For an earlier run the resources are replayed as they stood then
    (:mod:`monitor.report.history`, with ``policy``, a HealthPolicy).
    """
    from monitor import __version__
    from monitor.store.models import utcnow

    runs = queries.list_runs(db)
    finished = [r for r in runs if r.status != "running"]
    run = next((r for r in finished if r.id == run_id), None) if run_id else (
        finished[0] if finished else None)
    previous = next((r for r in finished if run and r.id < run.id), None)
    if run is not None and finished and run.id != finished[0].id:
        from monitor.health import HealthPolicy
        from monitor.report.history import replay

        resources = replay(db, run.id, policy or HealthPolicy())
    else:
        resources = [status_object(r, st) for r, st in queries.status_rows(db)]
    events = [event_object(e, r) for e, r in queries.run_events(db, run.id)] if run else []
    history = [run_object(r) | {"unknown": r.unknown}
               for r in reversed([r for r in finished if not run or r.id <= run.id][:history_runs])]
    return ReportData(run_object(run) | {"note": run.note} if run else None, resources, events,
                      suggestion_objects(db), history,
                      run_object(previous) | {"unknown": previous.unknown} if previous else None,
                      utcnow().isoformat(timespec="seconds"), __version__)

"""The report's data: one read of the database shaped as the SPEC §10 JSON objects.

Every format (HTML, Markdown, JSON) renders the same :class:`ReportData`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
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


def status_objects(db: Database) -> list[dict[str, Any]]:
    """The status objects of every active resource in catalog order: :func:`status_object`'s
    dicts (same keys in the same order, same values) from plain rows, not ORM objects."""
    return [obj for _, obj in status_items(db)]


def status_items(db: Database) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(resource id, status object)`` of every active resource in catalog order.

    Strings that repeat across resources (section, kind, state, error, chapter; a canonical URL
    equal to its URL; ``last_ok_at`` equal to ``last_checked_at``) are shared, not copied.
    """
    shared: dict[Any, Any] = {}
    one = shared.setdefault
    for (url, canonical, title, section, kind, state, http_status, error, final_url, failures,
         failing_since, last_ok_at, last_checked_at, changed_at, similarity, suggested_url,
         detail, chapter, source, rid) in queries.status_values(db):
        checked = utc_iso(last_checked_at)
        yield rid, {
            "url": url, "canonical_url": url if canonical == url else canonical, "title": title,
            "section": one(section, section), "kind": one(kind, kind), "state": one(state, state),
            "http_status": http_status, "error": one(error, error), "final_url": final_url,
            "consecutive_failures": failures, "failing_since": utc_iso(failing_since),
            "last_ok_at": checked if last_ok_at == last_checked_at else utc_iso(last_ok_at),
            "last_checked_at": checked, "changed_at": utc_iso(changed_at),
            "similarity": similarity, "suggested_url": suggested_url, "detail": detail,
            "chapter": one(chapter, chapter), "source": source,
        }


def utc_iso(naive_utc: datetime | None) -> str | None:
    """What :func:`iso` gives for the aware UTC time of ``naive_utc`` (a naive UTC datetime)."""
    return naive_utc.isoformat() + "+00:00" if naive_utc else None


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
        """Resources per state, ``{"ok": n, "moved": n, ...}`` (every state, zeros included)."""
        c = Counter(map(itemgetter("state"), self.resources))
        return {s: c.get(s, 0) for s in ("ok", "moved", "failing", "dead", "blocked", "unknown")}

    def by_state(self, state: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["state"] == state]

    def new_event_urls(self, kind: str) -> set[str]:
        return {e["url"] for e in self.events if e["kind"] == kind}

    def sections(self) -> list[tuple[str, dict[str, int]]]:
        """Per section, counts per state, worst first (most dead, then failing, ...)."""
        # (section, state) pairs counted in C; a pair's first appearance comes with its
        # section's first appearance, so the table keeps catalog order (ties sort stably)
        pairs = Counter(map(itemgetter("section", "state"), self.resources))
        table: dict[str, Counter[str]] = {}
        for (section, state), n in pairs.items():
            name = section or "(none)"
            if name not in table:
                table[name] = Counter()
            table[name][state] += n
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
        resources = status_objects(db)
    events = [{"run_id": rid, "at": iso(at), "url": url, "kind": kind, "detail": detail}
              for rid, at, url, kind, detail in queries.event_values(db, run.id)] if run else []
    history = [run_object(r) | {"unknown": r.unknown}
               for r in reversed([r for r in finished if not run or r.id <= run.id][:history_runs])]
    return ReportData(run_object(run) | {"note": run.note} if run else None, resources, events,
                      suggestion_objects(db), history,
                      run_object(previous) | {"unknown": previous.unknown} if previous else None,
                      utcnow().isoformat(timespec="seconds"), __version__)

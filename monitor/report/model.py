"""The report's data: the SPEC §10 JSON objects (status, run, event, suggestion) and
:class:`ReportData`, what every format renders.

Every format (HTML, Markdown, JSON) renders the same :class:`ReportData`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from monitor.sites.arxiv import abs_url
from monitor.store import queries
from monitor.store.db import Database
from monitor.store.models import CheckResult, Event, Resource, Run, Suggestion
from monitor.vocabulary import COUNT_ORDER, SEVERITY

STATE_ORDER = SEVERITY


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with offset, or None."""
    return value.isoformat() if value else None


def status_objects(db: Database, state: str | None = None) -> list[dict[str, Any]]:
    """The status objects (``status --json``, SPEC §10) of every active resource in catalog
    order, optionally only those in ``state``."""
    return [obj for _, obj in status_items(db, state)]


def status_items(db: Database, state: str | None = None, resource_id: int | None = None,
                 active_only: bool = True) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(resource id, status object)`` in catalog order: of every active resource, or only
    those in ``state``, or only resource ``resource_id`` (active or not with ``active_only``
    false). Read as plain rows (:func:`monitor.store.queries.status_values`).

    Strings that repeat across resources (section, kind, state, error, chapter; a canonical URL
    equal to its URL; ``last_ok_at`` equal to ``last_checked_at``) are shared, not copied.

    Besides the SPEC §10 keys (``page_title``: the page's own title, or None), each object has
    ``detail``, ``chapter``, ``source`` (``file:line`` in the catalog sources) and
    ``anchor_missing`` (the URL's ``#fragment`` that the page no longer has, or None).
    """
    shared: dict[Any, Any] = {}
    one = shared.setdefault
    for (url, canonical, title, section, kind, state_, http_status, error, final_url, failures,
         failing_since, last_ok_at, last_checked_at, changed_at, similarity, suggested_url,
         detail, chapter, source, page_title, anchor_missing, rid) in queries.status_values(
            db, state, resource_id, active_only):
        checked = utc_iso(last_checked_at)
        yield rid, {
            "url": url, "canonical_url": url if canonical == url else canonical, "title": title,
            "section": one(section, section), "kind": one(kind, kind),
            "state": one(state_, state_),
            "http_status": http_status, "error": one(error, error), "final_url": final_url,
            "consecutive_failures": failures, "failing_since": utc_iso(failing_since),
            "last_ok_at": checked if last_ok_at == last_checked_at else utc_iso(last_ok_at),
            "last_checked_at": checked, "changed_at": utc_iso(changed_at),
            "similarity": similarity, "suggested_url": suggested_url, "detail": detail,
            "chapter": one(chapter, chapter), "source": source, "page_title": page_title,
            "anchor_missing": anchor_missing,
        }


def utc_iso(naive_utc: datetime | None) -> str | None:
    """What :func:`iso` gives for the aware UTC time of ``naive_utc`` (a naive UTC datetime)."""
    return naive_utc.isoformat() + "+00:00" if naive_utc else None


def run_object(run: Run) -> dict[str, Any]:
    """One ``runs --json`` object (SPEC §10)."""
    return {
        "id": run.id, "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
        "status": run.status, "checked": run.checked, "ok": run.ok, "moved": run.moved,
        "failing": run.failing, "dead": run.dead, "blocked": run.blocked, "note": run.note,
    }


def result_object(c: CheckResult, run_status: str) -> dict[str, Any]:
    """One check of one resource (``monitor history --json``, the web UI's resource page):
    ``run_id``, ``run_status``, ``checked_at``, ``outcome``, ``http_status``, ``error``,
    ``detail``, ``final_url``, ``redirect_chain`` (``[{url, status, location}]``), ``elapsed_ms``
    (milliseconds)."""
    return {"run_id": c.run_id, "run_status": run_status, "checked_at": iso(c.checked_at),
            "outcome": c.outcome, "http_status": c.http_status, "error": c.error,
            "detail": c.detail, "final_url": c.final_url,
            "redirect_chain": list(c.redirect_chain or []), "elapsed_ms": c.elapsed_ms}


def event_object(event: Event, res: Resource) -> dict[str, Any]:
    """One event object (SPEC §10)."""
    return {"run_id": event.run_id, "at": iso(event.at), "url": res.url, "kind": event.kind,
            "detail": event.detail}


def suggestion_object(s: Suggestion) -> dict[str, Any]:
    """The SPEC §10 JSON object of a suggestion, plus ``abstract``, ``explanation``, ``reason``
    and ``ranking`` (how the watch that stored it ranked, e.g. ``"ranking: semantic (<model>)"``,
    or "" for suggestions stored before issue 14).

    Text (title, abstract) is kept raw: escaping is the renderer's job. ``published`` is ISO 8601
    with offset (or null); ``score`` is a float in [0, 1]; ``chapter`` a heading or null.
    """
    return {
        "id": s.id,
        "arxiv_id": s.arxiv_id,
        "version": s.version,
        "title": s.title,
        "authors": list(s.authors or []),
        "published": s.published.isoformat() if s.published else None,
        "categories": list(s.categories or []),
        "score": s.score,
        "section": s.section,
        "chapter": s.chapter or None,
        "matched_terms": list(s.matched_terms or []),
        "status": s.status,
        "url": abs_url(s.arxiv_id),
        "abstract": s.abstract,
        "explanation": explanation(s),
        "reason": s.reason,
        "ranking": s.ranking or "",
    }


def explanation(s: Suggestion) -> str:
    """The stored explanation (e.g. ``"close to: Section IV: Finetuning Methods for LLMs /
    Low-Rank Adapters (LoRA)"``), else the lexical one, e.g. ``"matches Section IV: Finetuning
    Methods for LLMs: LoRA, adapters"``."""
    if s.explanation:
        return s.explanation
    if not s.section:
        return "matches no section"
    terms = ", ".join(s.matched_terms or [])
    return f"matches {s.section}: {terms}" if terms else f"matches {s.section}"


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
        return {s: c.get(s, 0) for s in COUNT_ORDER}

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

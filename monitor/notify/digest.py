"""What one run found, as a plain value: the only input of the notification stage.

:class:`Digest` is independent of the database and of the report model, so the policy
(:mod:`monitor.notify.policy`) and the message (:mod:`monitor.notify.message`) are pure
functions of it, and tests build one by hand. :func:`digest_from_report` builds one from the
SPEC §10 JSON shapes that the report already has (``run``, ``resources``, ``events``,
``suggestions``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from monitor.report.titles import lead
from monitor.vocabulary import COUNT_ORDER as STATES

ACTION_KINDS = frozenset({"went_dead", "moved", "changed", "updated", "anchor_missing"})
"""The events that need the maintainer (SPEC §13 ``when = "action"``)."""


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class RunInfo:
    """The run being notified about.

    - ``id``: the run's number (``runs --json`` ``id``);
    - ``status``: ``complete``, ``degraded`` or ``aborted`` (SPEC §10);
    - ``started_at``: when it started, timezone-aware.
    """

    id: int
    status: str
    started_at: datetime


@dataclass(frozen=True)
class DigestEvent:
    """One event of the run (SPEC §6), with what a reader needs to act on it.

    - ``kind``: one of :data:`EVENT_KINDS`;
    - ``url``: the resource's catalog URL (outside text: neutralised before display);
    - ``title``: what to call the resource: the page's own title when the catalog title (the
      link text) is generic or a fragment, else the catalog title (:func:`monitor.report.titles.
      lead`); "" when there is neither;
    - ``section``: the handbook section ("" when none);
    - ``source``: ``file:line`` of the link in the catalog sources ("" when unknown);
    - ``detail``: the event's stored ``detail`` (JSON-able; shown only through ``fix``);
    - ``fix``: how to act, as text: a replacement URL (moved: ``final_url``; dead: the archived
      copy) or a command (``monitor fix``, ``monitor ack URL``); "" when there is nothing to do.
    """

    kind: str
    url: str
    title: str = ""
    section: str = ""
    source: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    fix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", _frozen_mapping(self.detail))


@dataclass(frozen=True)
class DigestSuggestion:
    """A paper suggested in this run (SPEC §8): ``arxiv_id``, ``title``, ``score`` in [0, 1],
    the best-matching ``section`` and the paper's ``url`` (its arXiv abstract page)."""

    arxiv_id: str
    title: str
    score: float
    section: str = ""
    url: str = ""


@dataclass(frozen=True)
class Digest:
    """What one run found, for the notification stage.

    - ``run``: the run (:class:`RunInfo`);
    - ``counts``: resources per state after the run, keys from :data:`STATES` (missing: 0);
    - ``previous_counts``: the same for the previous finished run (empty when none);
    - ``events``: the run's events (:class:`DigestEvent`), any order;
    - ``suggestions``: papers suggested *in this run* (:class:`DigestSuggestion`), any order;
    - ``previous_status``: the previous finished run's status, or None for a first run;
    - ``base_url``: where the reports are served (``report.base_url``), "" when not served;
    - ``report_markdown``: the Markdown report (``reports/latest.md``), the GitHub issue's body;
      "" to use the short message instead.
    """

    run: RunInfo
    counts: Mapping[str, int] = field(default_factory=dict)
    previous_counts: Mapping[str, int] = field(default_factory=dict)
    events: Sequence[DigestEvent] = ()
    suggestions: Sequence[DigestSuggestion] = ()
    previous_status: str | None = None
    base_url: str = ""
    report_markdown: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", _frozen_mapping(self.counts))
        object.__setattr__(self, "previous_counts", _frozen_mapping(self.previous_counts))
        object.__setattr__(self, "events", tuple(self.events))
        object.__setattr__(self, "suggestions", tuple(self.suggestions))

    def count(self, state: str) -> int:
        """Resources in ``state`` after the run (0 when not counted)."""
        return int(self.counts.get(state, 0))

    def delta(self, state: str) -> int:
        """Change of :meth:`count` since the previous run (0 without a previous run)."""
        if not self.previous_counts:
            return 0
        return self.count(state) - int(self.previous_counts.get(state, 0))

    def events_of(self, kind: str) -> list[DigestEvent]:
        """The run's events of one kind, in the order given."""
        return [e for e in self.events if e.kind == kind]


def _fix_for(kind: str, url: str, resource: Mapping[str, Any]) -> str:
    """The fix text of an event from its resource's status object (SPEC §10)."""
    if kind == "moved":
        return str(resource.get("final_url") or "monitor fix")
    if kind == "went_dead":
        return str(resource.get("suggested_url") or "monitor fix")
    if kind == "anchor_missing":
        return "monitor fix"
    if kind == "changed":
        return f"monitor ack {url}"
    return ""


def _event(obj: Mapping[str, Any], resource: Mapping[str, Any]) -> DigestEvent:
    kind, url = str(obj["kind"]), str(obj["url"])
    named = resource.get("title") or resource.get("page_title")
    return DigestEvent(kind=kind, url=url, title=lead(resource)[0] if named else "",
                       section=str(resource.get("section") or ""),
                       source=str(resource.get("source") or ""),
                       detail=obj.get("detail") or {}, fix=_fix_for(kind, url, resource))


def _suggestion(obj: Mapping[str, Any]) -> DigestSuggestion:
    return DigestSuggestion(arxiv_id=str(obj.get("arxiv_id") or ""),
                            title=str(obj.get("title") or ""), score=float(obj.get("score") or 0),
                            section=str(obj.get("section") or ""), url=str(obj.get("url") or ""))


def _counts(run: Mapping[str, Any] | None) -> dict[str, int]:
    return {s: int(run.get(s) or 0) for s in STATES if s in run} if run else {}


def digest_from_report(run: Mapping[str, Any], previous: Mapping[str, Any] | None,
                       resources: Iterable[Mapping[str, Any]],
                       events: Iterable[Mapping[str, Any]],
                       new_suggestions: Iterable[Mapping[str, Any]], *,
                       base_url: str = "", report_markdown: str = "") -> Digest:
    """A :class:`Digest` from the SPEC §10 shapes the report already holds.

    ``run`` and ``previous``: ``runs --json`` objects (``{id, started_at, status, ok, moved,
    failing, dead, blocked}``, ``unknown`` when present); ``resources``: ``status --json``
    objects; ``events``: report events ``{run_id, at, url, kind, detail}``; ``new_suggestions``:
    ``suggestions list --json`` objects of the papers suggested in this run only. The counts
    are the run's own (as stored on the run), so an earlier run is notified as it was.
    """
    events = list(events)
    wanted = {str(e["url"]) for e in events}
    by_url = {str(r["url"]): r for r in resources if r.get("url") in wanted}
    return Digest(
        run=RunInfo(int(run["id"]), str(run["status"]),
                    datetime.fromisoformat(str(run["started_at"]))),
        counts=_counts(run), previous_counts=_counts(previous),
        events=[_event(e, by_url.get(str(e["url"]), {})) for e in events],
        suggestions=[_suggestion(s) for s in new_suggestions],
        previous_status=str(previous["status"]) if previous else None,
        base_url=base_url, report_markdown=report_markdown)

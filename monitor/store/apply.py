"""The end of a run, in one transaction: the health stage's decisions applied to the stored
states (SPEC §6, §7).

For each checked resource: the state machine's transition (:func:`monitor.health.transition`),
the probe's ``updated`` events (:func:`monitor.sites.site_events`), the anchor its URL names
(:func:`monitor.health.anchor_transition`: ``anchor_missing``), the page's own title (from the
probe or the new fingerprint), the Wayback answer (:func:`monitor.store.states.record_snapshot`)
and the change detection (:mod:`monitor.store.freshness`); then the events are stored and the
run closed. A degraded run only records when each resource was checked. The work goes in chunks
of ``CHUNK`` resources (states loaded, updated, flushed and expunged), so the session never
holds every state at once.

A crash before the commit leaves every state as it was before the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.health import Health, HealthPolicy, anchor_transition, transition
from monitor.sites import site_events
from monitor.sites.wayback import Snapshot
from monitor.store import fingerprints, freshness, queries
from monitor.store.db import Database
from monitor.store.models import ResourceState
from monitor.store.states import record_snapshot
from monitor.vocabulary import Check, EventDraft

CHUNK = 2000  # states loaded, updated and expunged per step
MAX_PAGE_TITLE = 300  # characters of a page's own title kept (it is outside text)
PROBE_TITLES = ("title", "repo")  # probe info keys that give the page's title (oEmbed, arXiv;
#                                   GitHub's owner/name)
Events = list[tuple[int, datetime, str, dict[str, Any]]]


@dataclass(frozen=True)
class RunVerdict:
    """How a run is closed: ``degraded`` (then no state moves), the distinct ``hosts`` checked
    and how many were ``unreachable``, and the ``note`` shown with the run."""

    degraded: bool
    hosts: int
    unreachable: int
    note: str = ""

    @property
    def status(self) -> str:
        return "degraded" if self.degraded else "complete"


def apply_run(db: Database, run_id: int, checks: Iterable[Check], verdict: RunVerdict,
              policy: HealthPolicy, snapshots: Mapping[int, Snapshot]) -> int:
    """Apply the run's checks to the states, store its events, close it. Returns the number of
    events stored.

    ``checks``: the crawl's slim checks (a local run), or the run's stored results read back
    (:class:`monitor.store.results.StoredChecks`, a distributed run); taken ``CHUNK`` at a
    time, one pass. A resource without a check was not checked in this run: its state stays
    as it was (never a failure).
    """
    events: Events = []
    checked = 0
    with db.session() as s:
        for chunk in _chunks(checks, CHUNK):
            checked += len(chunk)
            states = queries.load_states(s, (c.resource_id for c in chunk))
            for c in chunk:
                st = states.get(c.resource_id)
                if st is None:
                    continue
                st.last_checked_at = c.at
                if verdict.degraded:
                    continue
                drafts = _apply_health(st, c, policy) + _apply_probe(st, c) + _apply_anchor(st, c)
                _apply_title(st, c)
                record_snapshot(st, c.outcome.outcome, c.at, snapshots.get(st.resource_id))
                events.extend((c.resource_id, c.at, d.kind, d.detail) for d in drafts)
            if not verdict.degraded:
                events.extend(_changes(s, run_id, chunk, states, policy.change_threshold))
            s.flush()
            for st in states.values():
                s.expunge(st)
        queries.add_events(s, run_id, events)
        queries.finish_run(s, run_id, verdict.status, checked, verdict.note, verdict.hosts,
                           verdict.unreachable)
        fingerprints.purge_unfinished(s)
    return len(events)


def _chunks(checks: Iterable[Check], size: int) -> Iterator[list[Check]]:
    chunk: list[Check] = []
    for check in checks:
        chunk.append(check)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _apply_health(st: ResourceState, c: Check, policy: HealthPolicy) -> list[EventDraft]:
    prev = Health(st.state, st.consecutive_failures, st.failing_since, st.last_ok_at, st.final_url)
    new, drafts = transition(prev, c.outcome, c.at, policy)
    if new.state != st.state:
        st.state_since = c.at
    st.state, st.consecutive_failures = new.state, new.consecutive_failures
    st.failing_since, st.last_ok_at, st.final_url = new.failing_since, new.last_ok_at, new.final_url
    st.http_status, st.error, st.detail = c.outcome.http_status, c.outcome.error, c.outcome.detail
    if c.outcome.outcome == "ok" and c.outcome.http_status != 304:
        st.etag, st.last_modified = c.etag, c.last_modified
    return drafts


def _apply_probe(st: ResourceState, c: Check) -> list[EventDraft]:
    """Store the probe's info under its site in ``st.probe``; the site's ``updated`` events."""
    if c.site is None:
        return []
    probe = c.probe or {}
    old = dict(st.probe or {})
    drafts = site_events(c.site, old.get(c.site) or {}, probe)
    st.probe = old | {c.site: probe}
    return drafts


def _apply_anchor(st: ResourceState, c: Check) -> list[EventDraft]:
    """Store which anchor is missing; the ``anchor_missing`` event when it just went."""
    st.anchor_missing, draft = anchor_transition(st.anchor_missing, c.url, c.anchor)
    return [draft] if draft is not None else []


def _apply_title(st: ResourceState, c: Check) -> None:
    """Keep the page's own title: a probe's (video, paper, repository) or the ``<title>`` of
    a new fingerprint; one line, at most ``MAX_PAGE_TITLE`` characters."""
    info = c.probe or {}
    found = next((info[k] for k in PROBE_TITLES if isinstance(info.get(k), str) and info[k]),
                 None) if c.site else c.title
    if found and found.strip():
        st.page_title = " ".join(found.split())[:MAX_PAGE_TITLE]


def _changes(s: Any, run_id: int, checks: list[Check], states: dict[int, ResourceState],
             threshold: float) -> Events:
    observed = {c.resource_id: (c.content, c.at) for c in checks if c.content is not None}
    return [(rid, at, d.kind, d.detail)
            for rid, at, d in freshness.apply(s, run_id, observed, states, threshold)]

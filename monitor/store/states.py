"""Resource states outside the run's transaction: ``monitor ack`` (a reviewed page becomes the
baseline, SPEC §7) and the Wayback Machine suggestions (which resources still need one, and
storing an answer).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.sites import canonical_url
from monitor.sites.wayback import Snapshot
from monitor.store import fingerprints
from monitor.store.db import Database
from monitor.store.models import Resource, ResourceState
from monitor.store.queries import load_states
from monitor.urls import InvalidURL


def _wanted(session: Session, urls: tuple[str, ...], all_changed: bool
            ) -> tuple[list[tuple[Resource, ResourceState]], list[str]]:
    """The resources to acknowledge and the URLs that name no active resource."""
    stmt = (select(Resource, ResourceState)
            .join(ResourceState, ResourceState.resource_id == Resource.id)
            .where(Resource.active.is_(True)).order_by(Resource.position, Resource.id))
    rows = [(r, st) for r, st in session.execute(stmt)]
    if all_changed:
        return [(r, st) for r, st in rows if st.changed_at is not None], []
    by_key: dict[str, tuple[Resource, ResourceState]] = {}
    for r, st in rows:
        by_key[r.url] = by_key[r.canonical_url] = (r, st)
    found, unknown = [], []
    for url in urls:
        hit = by_key.get(url) or by_key.get(_canonical(url))
        if hit is None:
            unknown.append(url)
        elif hit not in found:
            found.append(hit)
    return found, unknown


def _canonical(url: str) -> str:
    try:
        return canonical_url(url)
    except InvalidURL:
        return url


def acknowledge(db: Database, urls: tuple[str, ...] = (), all_changed: bool = False
                ) -> tuple[list[str], list[str], list[str]]:
    """Make the newest fingerprint the baseline. One transaction.

    Returns ``(acknowledged urls, urls without any fingerprint yet, unknown urls)``.
    """
    done, empty = [], []
    with db.session() as s:
        found, unknown = _wanted(s, urls, all_changed)
        for res, st in found:
            row = fingerprints.newest_counted(s, res.id)
            if row is None:
                empty.append(res.url)
                continue
            fingerprints.set_baseline(s, res.id, row.id)
            st.changed_at, st.similarity = None, 1.0
            done.append(res.url)
    return done, empty, unknown


def needing_snapshot(db: Database, failing: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    """The ``(resource_id, url)`` among ``failing`` whose Wayback Machine copy was not asked for
    yet (asked once per failure streak: :func:`record_snapshot` forgets it on recovery)."""
    failing = list(failing)
    with db.session() as s:
        states = load_states(s, (rid for rid, _ in failing))
        return [(rid, url) for rid, url in failing if (st := states.get(rid)) is not None
                and st.suggested_url is None and "wayback" not in (st.probe or {})]


def record_snapshot(st: ResourceState, outcome: str, at: datetime,
                    snapshot: Snapshot | None) -> None:
    """Store a Wayback answer as ``suggested_url`` (and that it was asked); forget both once the
    resource is ``ok`` or ``moved`` again, so a later failure asks again."""
    probe = dict(st.probe or {})
    if outcome in ("ok", "moved") and ("wayback" in probe or st.suggested_url):
        probe.pop("wayback", None)
        st.probe, st.suggested_url = probe, None
    elif snapshot is not None and snapshot.answered:
        probe["wayback"] = {"asked_at": at.isoformat(), "timestamp": snapshot.timestamp}
        st.probe, st.suggested_url = probe, snapshot.url

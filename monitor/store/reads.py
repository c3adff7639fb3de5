"""Reads of the web UI's pages that the report does not already make: one resource's history
(results, events, fingerprints) and the section names (plain rows; the web shapes them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from monitor.sites import canonical_url
from monitor.store.db import Database
from monitor.store.models import (
    CheckResult,
    Event,
    Fingerprint,
    Resource,
    Run,
    Suggestion,
)
from monitor.urls import InvalidURL


def resource_history(db: Database, resource_id: int, limit: int = 60
                     ) -> tuple[bool, list[tuple[CheckResult, str]], list[Event],
                                list[Fingerprint]] | None:
    """Resource ``resource_id``: whether it is active, its last ``limit`` results with their
    run's status (newest first), its last ``limit`` events (newest first) and its counted and
    uncounted fingerprints (oldest first). None when there is no such resource."""
    with db.session() as s:
        res = s.get(Resource, resource_id)
        if res is None:
            return None
        results = [(c, status) for c, status in s.execute(
            select(CheckResult, Run.status).join(Run, Run.id == CheckResult.run_id)
            .where(CheckResult.resource_id == resource_id)
            .order_by(CheckResult.id.desc()).limit(limit))]
        events = list(s.scalars(select(Event).where(Event.resource_id == resource_id)
                                .order_by(Event.id.desc()).limit(limit)))
        prints = list(s.scalars(select(Fingerprint).where(Fingerprint.resource_id == resource_id)
                                .order_by(Fingerprint.id)))
        return res.active, results, events, prints


def find_resource(db: Database, url: str) -> tuple[int, str] | None:
    """``(id, catalog URL)`` of the resource whose catalog or canonical URL is ``url`` (or its
    canonical spelling), active or not, the active one first; None when there is none."""
    try:
        canonical = canonical_url(url)
    except InvalidURL:
        canonical = url
    with db.session() as s:
        found = s.execute(select(Resource.id, Resource.url)
                          .where(or_(Resource.url == url, Resource.canonical_url == canonical))
                          .order_by(Resource.active.desc(), Resource.id)).first()
    return (found[0], found[1]) if found else None


def results_of(db: Database, resource_id: int) -> list[tuple[CheckResult, str]]:
    """Every check result of one resource with its run's status, newest first."""
    with db.session() as s:
        return [(c, status) for c, status in s.execute(
            select(CheckResult, Run.status).join(Run, Run.id == CheckResult.run_id)
            .where(CheckResult.resource_id == resource_id).order_by(CheckResult.id.desc()))]


def section_names(db: Database) -> list[str]:
    """Every section name of the active catalog and of stored suggestions, sorted."""
    with db.session() as s:
        names: set[Any] = set(s.scalars(select(Resource.section)
                                        .where(Resource.active.is_(True))))
        names |= set(s.scalars(select(Suggestion.section)))
    return sorted(n for n in names if n)

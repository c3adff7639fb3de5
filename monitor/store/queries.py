"""Queries: catalog sync, runs, results, states and the read models used by reports and the CLI.

Every function takes a :class:`~monitor.store.db.Database` or an open ``Session`` and returns
plain values or model objects; nothing here knows about HTTP or the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Row, func, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from monitor.catalog import CatalogError, CatalogRow
from monitor.store import fingerprints
from monitor.store.db import Database
from monitor.store.models import (
    CheckResult,
    Event,
    Resource,
    ResourceState,
    Run,
    UTCDateTime,
    utcnow,
)
from monitor.vocabulary import COUNT_ORDER, Check, Target

CATALOG_FIELDS = ("url", "title", "section", "chapter", "kind", "source", "added", "notes")
SYNC_CHUNK = 2000  # resources read, updated or inserted per statement by sync_catalog
IDS_CHUNK = 900  # ids per IN (...) list (SQLite's default limit is 999 parameters)


@dataclass(frozen=True)
class SyncSummary:
    """What a catalog sync did: counts of added, updated, reactivated and deactivated rows."""

    added: int = 0
    updated: int = 0
    reactivated: int = 0
    deactivated: int = 0
    active: int = 0


def _row_values(row: CatalogRow, position: int) -> dict[str, Any]:
    values = {f: getattr(row, f) for f in CATALOG_FIELDS}
    values.update(extra=dict(row.extra), position=position)
    return values


def sync_catalog(db: Database, rows: Sequence[CatalogRow]) -> SyncSummary:
    """Make the active resources equal the catalog rows, keyed by canonical URL (SPEC §5).

    New rows are added (with an ``unknown`` state), edited rows updated, rows gone from the file
    marked inactive (history kept), rows back in the file reactivated. One transaction.

    The stored resources are read as plain rows in chunks of ``SYNC_CHUNK`` (no ORM object
    per resource: 100,000 of them took more memory than the whole crawl), and only the rows
    that change are written back, in bulk.
    """
    added = updated = reactivated = deactivated = 0
    now = utcnow()
    position_of = {row.canonical_url: position for position, row in enumerate(rows)}
    found = bytearray(len(rows))  # 1 at the (last) position of each URL already stored
    changes: list[dict[str, Any]] = []
    gone: list[int] = []
    columns = [getattr(Resource, f) for f in (*CATALOG_FIELDS, "extra", "position")]
    with db.session() as s:
        if not rows:
            active = s.scalar(select(func.count()).select_from(Resource)
                              .where(Resource.active.is_(True)))
            if active:
                raise CatalogError(f"the catalog has no valid rows: refusing to deactivate "
                                   f"all {active} resources (a truncated file?)")
        last = None
        while True:
            stmt = select(Resource.id, Resource.canonical_url, Resource.active, *columns)
            if last is not None:
                stmt = stmt.where(Resource.id > last)
            chunk = s.execute(stmt.order_by(Resource.id).limit(SYNC_CHUNK)).all()
            if not chunk:
                break
            last = chunk[-1][0]
            for rid, url, is_active, *stored in chunk:
                position = position_of.get(url)
                if position is None:
                    if is_active:
                        gone.append(rid)
                    continue
                found[position] = 1
                values = _row_values(rows[position], position)
                change: dict[str, Any] = {}
                if not is_active:
                    change["active"], reactivated = True, reactivated + 1
                if any(old != values[k] for k, old in zip(values, stored, strict=True)
                       if k != "position"):
                    updated += 1
                    change.update(values, updated_at=now)
                elif stored[-1] != position:
                    change["position"] = position
                if change:
                    changes.append({"id": rid, **change})
        deactivated = len(gone)
        for start in range(0, len(gone), SYNC_CHUNK):
            s.execute(update(Resource).where(Resource.id.in_(gone[start:start + SYNC_CHUNK]))
                      .values(active=False).execution_options(synchronize_session=False))
        for start in range(0, len(changes), SYNC_CHUNK):
            s.execute(update(Resource), changes[start:start + SYNC_CHUNK])
        new = [p for p, row in enumerate(rows)  # a URL given twice: its last row, once
               if position_of[row.canonical_url] == p and not found[p]]
        added = len(new)
        _add_new(s, rows, new, now)
    return SyncSummary(added, updated, reactivated, deactivated, len(position_of))


def _add_new(session: Session, rows: Sequence[CatalogRow], positions: list[int],
             now: datetime) -> None:
    """Insert the new resources ``rows[p]`` (``p`` in ``positions``) and their ``unknown``
    states with bulk INSERTs of ``SYNC_CHUNK`` rows (an ORM flush per row took 17 s for 10,000
    rows on SQLite and 45 s on PostgreSQL; the unit of work for all at once still 5 s; one
    INSERT of 100,000 parameter sets held them all in memory at once)."""
    stmt = insert(Resource).returning(Resource.id, sort_by_parameter_order=True)
    for start in range(0, len(positions), SYNC_CHUNK):
        values = [{"canonical_url": rows[p].canonical_url, "active": True,
                   "first_seen_at": now, "updated_at": now, **_row_values(rows[p], p)}
                  for p in positions[start:start + SYNC_CHUNK]]
        ids = list(session.scalars(stmt, values))
        session.execute(insert(ResourceState),
                        [{"resource_id": rid, "state": "unknown", "probe": {}} for rid in ids])


def active_targets(db: Database, resource_ids: Sequence[int] | None = None) -> list[Target]:
    """Every active resource in catalog order (or only those among ``resource_ids``: a host
    batch of a distributed run, read in chunks of ``IDS_CHUNK`` ids).

    One small object per resource: slots, ``canonical_url`` shared with ``url`` when equal,
    and one string object per distinct ``kind``, ``state`` and ``Last-Modified`` value.
    """
    stmt = (select(Resource.id, Resource.url, Resource.canonical_url, Resource.kind,
                   ResourceState.etag, ResourceState.last_modified, ResourceState.state)
            .join(ResourceState, ResourceState.resource_id == Resource.id)
            .where(Resource.active.is_(True)).order_by(Resource.position, Resource.id))
    if resource_ids is None:
        statements = [stmt]
    else:
        ids = sorted(resource_ids)
        statements = [stmt.where(Resource.id.in_(ids[start:start + IDS_CHUNK]))
                      for start in range(0, len(ids), IDS_CHUNK)]
    shared: dict[str | None, str | None] = {}
    out: list[Target] = []
    with db.session() as s:
        for one in statements:
            for rid, url, canonical, kind, etag, modified, state in s.execute(one).yield_per(
                    2000):
                out.append(Target(rid, url, url if canonical == url else canonical,
                                  shared.setdefault(kind, kind), etag,
                                  shared.setdefault(modified, modified),
                                  shared.setdefault(state, state)))
    return out


def running_runs(db: Database) -> list[int]:
    """Ids of the runs still ``running``, newest first (after a crash, or a distributed run
    whose coordinator is waiting or was restarted)."""
    with db.session() as s:
        return list(s.scalars(select(Run.id).where(Run.status == "running")
                              .order_by(Run.id.desc())))


def run_is_running(db: Database, run_id: int) -> bool:
    """Whether run ``run_id`` is still ``running`` (a worker drops the batches of a run that
    ended: aborted, or applied without them)."""
    with db.session() as s:
        return s.scalar(select(Run.status).where(Run.id == run_id)) == "running"


def abort_stale_runs(db: Database, keep: int | None = None) -> list[int]:
    """Mark every ``running`` run aborted but ``keep`` (a distributed run being resumed); call
    while holding the run lock. Returns their ids."""
    with db.session() as s:
        ids = [i for i in s.scalars(select(Run.id).where(Run.status == "running"))
               if i != keep]
        if ids:
            s.execute(update(Run).where(Run.id.in_(ids))
                      .values(status="aborted", note="interrupted; marked aborted at next start",
                              checked=_results_count(Run.id)))
        return ids


def _results_count(run_id: Any) -> Any:
    return (select(func.count()).select_from(CheckResult)
            .where(CheckResult.run_id == run_id).scalar_subquery())


def mark_aborted(db: Database, run_id: int, note: str) -> None:
    """Mark run ``run_id`` aborted now (an interrupted run keeps its results, not its states);
    ``checked`` becomes the number of results it stored."""
    with db.session() as s:
        s.execute(update(Run).where(Run.id == run_id, Run.status == "running")
                  .values(status="aborted", finished_at=utcnow(), note=note,
                          checked=_results_count(run_id)))


def add_run_note(db: Database, run_id: int, note: str) -> None:
    """Append a line to a run's note (shown in the report header), unless the note already
    has that line. The row is locked while it is read and written (workers of a distributed
    run add their notes at once)."""
    with db.session() as s:
        run = s.get(Run, run_id, with_for_update=True)
        if run is not None and note not in (run.note or "").split("\n"):
            run.note = "\n".join(filter(None, [run.note, note]))


def run_note_lines(db: Database, run_id: int) -> list[str]:
    """The lines of run ``run_id``'s note, in order (empty when it has none)."""
    with db.session() as s:
        note = s.scalar(select(Run.note).where(Run.id == run_id))
    return [line for line in (note or "").split("\n") if line]


def start_run(db: Database, command: str, pid: int | None = None) -> int:
    """Insert a ``running`` run and return its id."""
    with db.session() as s:
        run = Run(command=command, started_at=utcnow(), status="running", pid=pid, note="")
        s.add(run)
        s.flush()
        return run.id


def insert_results(db: Database, rows: Iterable[dict[str, Any]]) -> int:
    """Insert check results (dicts of CheckResult columns) in one transaction; returns count."""
    batch = list(rows)
    if batch:
        with db.session() as s:
            s.execute(insert(CheckResult), batch)
    return len(batch)


def result_row(run_id: int, check: Check) -> dict[str, Any]:
    """The ``check_results`` row of one check."""
    return {
        "run_id": run_id, "resource_id": check.resource_id, "checked_at": check.at,
        "url": check.url, "final_url": check.final_url, "http_status": check.outcome.http_status,
        "outcome": check.outcome.outcome, "error": check.outcome.error,
        "detail": check.outcome.detail,
        "redirect_chain": [{"url": h.url, "status": h.status, "location": h.location}
                           for h in check.chain],
        "elapsed_ms": check.elapsed_ms, "attempts": check.attempts,
        "bytes_received": check.bytes_received, "content_type": check.content_type,
        "etag": None if check.site else check.etag,
        "last_modified": None if check.site else check.last_modified,
        "probe": {"site": check.site, **(check.probe or {})} if check.site else {},
        "content": check.content, "outcome_url": check.outcome.final_url,
        "anchor": check.anchor, "page_title": check.title,
    }


def _insert_once(db: Database) -> Any:
    """``INSERT INTO check_results ... ON CONFLICT (run_id, resource_id) DO NOTHING RETURNING
    resource_id`` in this database's dialect (the unique index of migration 0004)."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(CheckResult).on_conflict_do_nothing(
        index_elements=["run_id", "resource_id"])
    return stmt.returning(CheckResult.resource_id)


def insert_checks(db: Database, run_id: int, checks: list[Check]) -> int:
    """Write a batch of checks of run ``run_id`` in one transaction: their result rows, then
    the new fingerprints (which count only once the run is complete). Returns how many rows
    were written.

    Idempotent per (run, resource): a resource that already has a result in the run (a host
    batch of a distributed run checked again after its worker died) keeps it, and only the
    rows written now bring their fingerprints. Local and distributed runs write the same way.
    """
    if not checks:
        return 0
    with db.session() as s:
        written = set(s.scalars(_insert_once(db), [result_row(run_id, c) for c in checks],
                                execution_options={"sort_by_parameter_order": False}))
        fingerprints.insert_rows(s, [
            fingerprints.row_values(c.fingerprint, c.resource_id, run_id, c.at)
            for c in checks if c.fingerprint is not None and c.resource_id in written])
    return len(written)


def load_states(session: Session, resource_ids: Iterable[int]) -> dict[int, ResourceState]:
    """Current states by resource id."""
    ids = list(resource_ids)
    out: dict[int, ResourceState] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        out.update((st.resource_id, st) for st in
                   session.scalars(select(ResourceState).where(ResourceState.resource_id.in_(chunk))))
    return out


EventRow = tuple[int, datetime, str, dict[str, Any]]


def add_events(session: Session, run_id: int, events: Iterable[EventRow]) -> int:
    """Insert ``(resource_id, at, kind, detail)`` events for ``run_id``; returns count."""
    rows = [{"run_id": run_id, "resource_id": rid, "at": at, "kind": kind, "detail": detail}
            for rid, at, kind, detail in events]
    if rows:
        session.execute(insert(Event), rows)
    return len(rows)


def state_counts(session: Session) -> dict[str, int]:
    """Number of active resources per state."""
    stmt = (select(ResourceState.state, Resource.id)
            .join(Resource, Resource.id == ResourceState.resource_id)
            .where(Resource.active.is_(True)))
    counts: dict[str, int] = {}
    for state, _ in session.execute(stmt):
        counts[state] = counts.get(state, 0) + 1
    return counts


def finish_run(session: Session, run_id: int, status: str, checked: int, note: str,
               hosts: int = 0, unreachable: int = 0) -> Run:
    """Close run ``run_id`` with its status and the state counts after it."""
    run = session.get(Run, run_id)
    assert run is not None
    counts = state_counts(session)
    run.status, run.finished_at, run.checked, run.note = status, utcnow(), checked, note
    run.hosts, run.hosts_unreachable = hosts, unreachable
    for state in COUNT_ORDER:
        setattr(run, state, counts.get(state, 0))
    return run


def list_runs(db: Database, limit: int | None = None) -> list[Run]:
    """Runs, newest first."""
    stmt = select(Run).order_by(Run.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    with db.session() as s:
        return list(s.scalars(stmt))


def latest_run(db: Database, finished_only: bool = True) -> Run | None:
    """The newest run (by default the newest that is not running)."""
    stmt = select(Run).order_by(Run.id.desc()).limit(1)
    if finished_only:
        stmt = stmt.where(Run.status != "running")
    with db.session() as s:
        return s.scalar(stmt)


def run_events(db: Database, run_id: int | None = None) -> list[tuple[Event, Resource]]:
    """Events of one run (or of every run), oldest first, with their resources."""
    stmt = (select(Event, Resource).join(Resource, Resource.id == Event.resource_id)
            .order_by(Event.id))
    if run_id is not None:
        stmt = stmt.where(Event.run_id == run_id)
    with db.session() as s:
        return [(e, r) for e, r in s.execute(stmt)]


def last_results(db: Database, run_id: int) -> dict[int, CheckResult]:
    """The check results of one run by resource id."""
    with db.session() as s:
        return {c.resource_id: c for c in
                s.scalars(select(CheckResult).where(CheckResult.run_id == run_id))}


def results_upto(db: Database, run_id: int) -> Iterator[Row[Any]]:
    """Every result of the complete (not degraded or aborted) runs up to ``run_id``, oldest
    first, as plain rows ``(resource_id, outcome, error, http_status, final_url, detail,
    checked_at)`` (``checked_at`` naive, in UTC), streamed: what replaying the state machine
    needs (``report --run ID``), without a ``CheckResult`` object per row."""
    stmt = (select(CheckResult.resource_id, CheckResult.outcome, CheckResult.error,
                   CheckResult.http_status, CheckResult.final_url, CheckResult.detail,
                   type_coerce(CheckResult.checked_at, DateTime()))
            .join(Run, Run.id == CheckResult.run_id)
            .where(CheckResult.run_id <= run_id, Run.status == "complete")
            .order_by(CheckResult.run_id, CheckResult.id))
    with db.engine.connect() as connection:
        yield from connection.execute(stmt)


STATUS_COLUMNS = (
    Resource.url, Resource.canonical_url, Resource.title, Resource.section, Resource.kind,
    ResourceState.state, ResourceState.http_status, ResourceState.error,
    ResourceState.final_url, ResourceState.consecutive_failures, ResourceState.failing_since,
    ResourceState.last_ok_at, ResourceState.last_checked_at, ResourceState.changed_at,
    ResourceState.similarity, ResourceState.suggested_url, ResourceState.detail,
    Resource.chapter, Resource.source, ResourceState.page_title, ResourceState.anchor_missing,
)
"""The columns of a status object (SPEC §10), in its key order: what :func:`status_values`
yields per row."""


def status_values(db: Database, state: str | None = None, resource_id: int | None = None,
                  active_only: bool = True) -> Iterator[Row[Any]]:
    """Resources with their states in catalog order (active ones, optionally only those in
    ``state``, or only resource ``resource_id``), as plain rows of :data:`STATUS_COLUMNS`
    followed by the resource id, streamed (one open connection until exhausted or closed).

    Times come **naive, in UTC** (as stored: no per-value conversion to aware datetimes).
    This is the report's read of every resource: as ``Resource`` + ``ResourceState`` ORM pairs
    (as ORM pairs) 100,000 of them took about 9 s of CPU and most of a 520 MB peak;
    these rows take about 1 s.
    """
    columns = [type_coerce(c, DateTime()).label(c.key) if isinstance(c.type, UTCDateTime)
               else c for c in STATUS_COLUMNS]
    stmt = (select(*columns, Resource.id)
            .join(ResourceState, ResourceState.resource_id == Resource.id)
            .order_by(Resource.position, Resource.id))
    if active_only:
        stmt = stmt.where(Resource.active.is_(True))
    if state is not None:
        stmt = stmt.where(ResourceState.state == state)
    if resource_id is not None:
        stmt = stmt.where(Resource.id == resource_id)
    with db.engine.connect() as connection:
        yield from connection.execute(stmt)


def event_values(db: Database, run_id: int) -> list[Row[Any]]:
    """Events of run ``run_id``, oldest first, as plain rows ``(run_id, at, url, kind,
    detail)`` (``at``: aware UTC; ``url``: the resource's catalog URL; ``detail``: a dict)."""
    stmt = (select(Event.run_id, Event.at, Resource.url, Event.kind, Event.detail)
            .join(Resource, Resource.id == Event.resource_id)
            .where(Event.run_id == run_id).order_by(Event.id))
    with db.engine.connect() as connection:
        return list(connection.execute(stmt))

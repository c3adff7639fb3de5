"""Results written once per (run, resource), whoever checks the resource and however often.

A retried batch (its worker was killed after writing part of it, or a stalled worker came
back) checks resources again; ``write_once`` inserts a batch's results with
``ON CONFLICT (run_id, resource_id) DO NOTHING`` (PostgreSQL and SQLite alike) and the new
fingerprints of exactly the rows it inserted, in one transaction, so the first result of a
resource in a run stands and its fingerprint is never doubled. ``already_checked`` lets a
retried batch skip what was written before (fewer requests to the host).

The conflict target needs the unique index ``ux_check_results_run_resource``: proposed as
migration 0002 (``docs/distributed/0002_check_results_unique.py``); ``ensure_unique_index``
creates it for this prototype and its tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Insert, func, select, text

from monitor.store import fingerprints
from monitor.store.db import Database
from monitor.store.models import CheckResult

UNIQUE_INDEX = "ux_check_results_run_resource"
CHUNK = 900  # ids per IN (...) list (SQLite's parameter limit)


def ensure_unique_index(db: Database) -> None:
    """Create the unique (run_id, resource_id) index on check_results if missing."""
    with db.session() as s:
        s.execute(text(f"CREATE UNIQUE INDEX IF NOT EXISTS {UNIQUE_INDEX} "
                       "ON check_results (run_id, resource_id)"))


def _insert(db: Database) -> Any:
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def insert_once(db: Database) -> Insert:
    """``INSERT INTO check_results ... ON CONFLICT (run_id, resource_id) DO NOTHING
    RETURNING resource_id`` for this database's dialect."""
    stmt = _insert(db)(CheckResult).on_conflict_do_nothing(
        index_elements=["run_id", "resource_id"])
    return stmt.returning(CheckResult.resource_id)


def write_once(db: Database, rows: list[dict[str, Any]],
               prints: Iterable[dict[str, Any]] = ()) -> set[int]:
    """Insert results not yet stored for their (run, resource) and the fingerprints of those
    rows only, in one transaction; returns the resource ids inserted now."""
    if not rows:
        return set()
    with db.session() as s:
        inserted = set(s.scalars(insert_once(db), rows, execution_options={
            "sort_by_parameter_order": False}))
        fresh = [p for p in prints if p["resource_id"] in inserted]
        fingerprints.insert_rows(s, fresh)
    return inserted


def already_checked(db: Database, run_id: int, resource_ids: Iterable[int]) -> set[int]:
    """The ids among ``resource_ids`` that have a result in run ``run_id``."""
    ids, found = list(resource_ids), set()
    with db.session() as s:
        for start in range(0, len(ids), CHUNK):
            found.update(s.scalars(select(CheckResult.resource_id).where(
                CheckResult.run_id == run_id,
                CheckResult.resource_id.in_(ids[start:start + CHUNK]))))
    return found


def checked_count(db: Database, run_id: int) -> int:
    """How many resources have a result in run ``run_id`` (progress in resources, for the
    coordinator's bar; an index-only count on the unique index)."""
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(CheckResult)
                        .where(CheckResult.run_id == run_id)) or 0

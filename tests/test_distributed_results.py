"""Results written once per (run, resource): SQLite always, PostgreSQL when one answers
(in a schema of its own, so the shared ``public`` schema is never touched)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytest.importorskip("procrastinate")
from sqlalchemy import func, select

from monitor.catalog import CatalogRow
from monitor.distributed.queue import conninfo
from monitor.distributed.results import (
    already_checked,
    checked_count,
    ensure_unique_index,
    write_once,
)
from monitor.store import queries
from monitor.store.db import Database, open_database
from monitor.store.models import CheckResult, Fingerprint
from tests.test_distributed import PG_URL, needs_pg


def _pg_database() -> Iterator[Database]:
    schema = f"r_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    db = open_database(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        yield db
    finally:
        db.dispose()
        with psycopg.connect(conninfo(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated store with the unique index, on each backend."""
    if request.param == "sqlite":
        db = open_database(f"sqlite:///{tmp_path / 'monitor.db'}")
        ensure_unique_index(db)
        yield db
        db.dispose()
        return
    for db in _pg_database():
        ensure_unique_index(db)
        yield db


def _rows(db: Database, count: int) -> tuple[int, list[int]]:
    urls = [f"https://h{i % 7}.example/{i}" for i in range(count)]
    queries.sync_catalog(db, [CatalogRow(url=u, canonical_url=u) for u in urls])
    run_id = queries.start_run(db, "check")
    return run_id, [t.resource_id for t in queries.active_targets(db)]


def result(run_id: int, resource_id: int, outcome: str = "ok") -> dict[str, Any]:
    return {"run_id": run_id, "resource_id": resource_id, "checked_at": datetime.now(UTC),
            "url": f"https://x.example/{resource_id}", "outcome": outcome}


def fingerprint(resource_id: int, run_id: int) -> dict[str, Any]:
    return {"resource_id": resource_id, "run_id": run_id, "at": datetime.now(UTC),
            "extractor_version": "t", "raw_hash": "0" * 64}


def test_a_retried_batch_writes_each_result_and_fingerprint_once(store: Database) -> None:
    run_id, ids = _rows(store, 10)
    first = write_once(store, [result(run_id, i) for i in ids[:6]],
                       [fingerprint(i, run_id) for i in ids[:6]])
    assert first == set(ids[:6])
    again = write_once(store, [result(run_id, i, "failing") for i in ids],
                       [fingerprint(i, run_id) for i in ids])
    assert again == set(ids[6:])
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(CheckResult)) == 10
        assert s.scalar(select(func.count()).select_from(Fingerprint)) == 10
        kept = s.scalars(select(CheckResult.outcome).where(
            CheckResult.resource_id.in_(ids[:6]))).all()
    assert set(kept) == {"ok"}  # the first result of a resource in a run stands
    assert already_checked(store, run_id, ids) == set(ids)
    assert already_checked(store, run_id + 1, ids) == set()
    assert checked_count(store, run_id) == 10


def test_the_same_resource_in_another_run_is_another_result(store: Database) -> None:
    run_id, ids = _rows(store, 3)
    other = queries.start_run(store, "check")
    write_once(store, [result(run_id, i) for i in ids])
    assert write_once(store, [result(other, i) for i in ids]) == set(ids)

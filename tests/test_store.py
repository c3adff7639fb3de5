"""Storage: migrations, the fast path that skips Alembic, time zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from monitor.store.db import SCHEMA_HEAD, alembic_config, current_revision, open_database
from monitor.store.models import Base, Run


def test_schema_head_constant_matches_alembic() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_current_head() == SCHEMA_HEAD


def test_migrations_create_every_table_and_rerun_is_a_no_op(db_url: str) -> None:
    database = open_database(db_url)
    tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert current_revision(database.engine) == SCHEMA_HEAD
    database.dispose()
    open_database(db_url).dispose()


def test_times_come_back_aware_utc(db) -> None:
    start = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    with db.session() as s:
        s.add(Run(command="check", started_at=start, status="complete", note=""))
    with db.session() as s:
        run = s.query(Run).one()
    assert run.started_at == start and run.started_at.tzinfo is not None
    with pytest.raises(Exception, match="naive"), db.session() as s:
        s.add(Run(command="check", started_at=datetime(2026, 1, 1), status="x", note=""))


def test_latest_map_gives_back_what_it_was_given() -> None:
    from monitor.store.fingerprints import LatestMap
    from monitor.vocabulary import Latest

    raw, text = "ab" * 32, "0f" * 32
    rows = [
        (3, 30, raw, text, "lxml-2"),
        (5, 51, raw, None, "lxml-1"),  # a binary: no text hash
        (4, 40, "AB" * 32, text, "lxml-2"),  # out of order, and upper-case hex: kept aside
        (9, 90, "not-a-hash", None, "lxml-2"),
        (12, 120, text, raw, "lxml-2"),
    ]
    mapping = LatestMap(rows)
    expected = {rid: Latest(fid, r, t, v) for rid, fid, r, t, v in rows}
    assert dict(mapping) == expected and len(mapping) == 5
    assert 4 in mapping and 6 not in mapping and "3" not in mapping
    assert mapping.get(6) is None and mapping.get(6, "none") == "none"
    assert sorted(mapping) == [3, 4, 5, 9, 12]


def test_sync_catalog_adds_updates_reorders_deactivates_and_reactivates(db) -> None:
    from sqlalchemy import select

    from monitor.catalog import CatalogRow
    from monitor.store import queries
    from monitor.store.models import Resource

    def row(n: int, title: str = "") -> CatalogRow:
        url = f"https://site{n}.test/"
        return CatalogRow(url, url, title or f"Page {n}", "S", "", "site", "", "", "", {}, n)

    assert queries.sync_catalog(db, [row(1), row(2), row(3)]) == queries.SyncSummary(
        3, 0, 0, 0, 3)
    # 3 edited, 1 gone, order changed, 4 new, and 4 given twice (its last row counts)
    summary = queries.sync_catalog(db, [row(3, "New title"), row(2), row(4, "first"),
                                        row(4, "second")])
    assert summary == queries.SyncSummary(1, 1, 0, 1, 3)
    assert queries.sync_catalog(db, [row(1), row(3, "New title")]) == queries.SyncSummary(
        0, 0, 1, 2, 2)
    with db.session() as s:
        got = {r.url: (r.title, r.active, r.position) for r in s.scalars(select(Resource))}
    assert got == {"https://site1.test/": ("Page 1", True, 0),
                   "https://site2.test/": ("Page 2", False, 1),
                   "https://site3.test/": ("New title", True, 1),
                   "https://site4.test/": ("second", False, 3)}
    assert [t.url for t in queries.active_targets(db)] == ["https://site1.test/",
                                                          "https://site3.test/"]

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

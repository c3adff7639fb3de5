"""Database fixtures: SQLite in a temporary folder, or PostgreSQL when
``MONITOR_TEST_DATABASE_URL`` is set (its ``public`` schema is emptied before each test)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from monitor.store.db import Database, open_database

PG_URL = os.environ.get("MONITOR_TEST_DATABASE_URL", "")


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh, empty database URL for one test."""
    if PG_URL:
        _reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database for one test."""
    database = open_database(db_url)
    yield database
    database.dispose()

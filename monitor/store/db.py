"""Engines, migrations and sessions.

``open_database(url)`` creates the engine, runs the Alembic migrations in ``migrations/`` to head
and returns a :class:`Database`. Any SQLAlchemy URL works; SQLite gets WAL mode and a busy
timeout so a reader (``monitor status``) never blocks a running check.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import ConfigError, DatabaseError

SQLError = exc.SQLAlchemyError
"""Any error of the database layer (the CLI reports it as a failed job, exit 1)."""

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
SCHEMA_HEAD = "0005"
"""The newest migration's revision. When the database is already there, Alembic (slow to
import) is not loaded at all; ``tests/test_store.py`` checks this equals Alembic's head."""


@dataclass
class Database:
    """An engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``. Raises ConfigError for a malformed URL or unknown driver."""
    try:
        parsed = make_url(url)
        engine = create_engine(parsed, pool_pre_ping=True)
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError, ValueError) as err:
        raise ConfigError(f"bad database URL {url!r}: {err}") from err
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at ``migrations/`` for ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def current_revision(engine: Engine) -> str | None:
    """The database's Alembic revision, or None when it has none (or no database yet)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except exc.OperationalError as err:
        if "no such table" in str(err.orig):
            return None
        raise DatabaseError(f"database unreachable: {err.orig}") from err
    except exc.ProgrammingError:  # PostgreSQL: relation does not exist
        return None


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Serialise migrations of SQLite files across processes with ``flock`` on the folder that
    holds the file; a no-op for memory and URI databases. (Never open and close the database
    file itself: closing any descriptor of it drops SQLite's own POSIX locks in this process.)"""
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    import fcntl

    folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # releases the flock


def _migrate(engine: Engine) -> None:
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if engine.url.get_backend_name() == "postgresql":  # held until the transaction ends
            connection.execute(text("SELECT pg_advisory_xact_lock(7310001)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def upgrade(engine: Engine) -> None:
    """Run migrations to head, one process at a time (concurrent first starts are safe).

    Raises DatabaseError when the database cannot be reached or a migration fails.
    """
    if current_revision(engine) == SCHEMA_HEAD:
        return
    try:
        if engine.url.get_backend_name() == "sqlite":
            with _sqlite_file_lock(engine):
                _migrate(engine)
        else:
            _migrate(engine)
    except OSError as err:
        raise DatabaseError(f"database file unusable: {err}") from err
    except exc.OperationalError as err:
        raise DatabaseError(f"database unreachable: {err.orig}") from err
    except exc.SQLAlchemyError as err:
        raise DatabaseError(f"database migration failed: {err}") from err


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Open (and by default migrate) the database at ``url``.

    Raises ConfigError for a malformed URL, DatabaseError when unreachable.
    """
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    return Database(engine, sessionmaker(engine, expire_on_commit=False))

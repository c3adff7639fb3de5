"""Engines, migrations and sessions.

``open_database(url)`` creates the engine, runs the Alembic migrations in ``migrations/`` to head
and returns a :class:`Database`. Any SQLAlchemy URL works; SQLite gets WAL mode and a busy
timeout so a reader (``monitor status``) never blocks a running check.

**Read-only SQLite files.** A database file this process cannot write, or one in a folder it
cannot write, is opened read-only, so the read commands (``status``, ``runs``, ``report``,
``suggestions list``) work and a command that writes fails with SQLite's "attempt to write a
readonly database". SQLite's rules (https://www.sqlite.org/wal.html, "Read-Only Databases";
https://www.sqlite.org/uri.html): a reader of a WAL database needs the ``-shm`` and ``-wal``
files, which it creates when it can write the folder, and can use when they exist; otherwise
only ``immutable=1`` opens it, which promises SQLite that nobody changes the file meanwhile
(true when no ``-wal`` file exists: no writer is active and everything is in the main file). So:
``mode=ro``, plus ``immutable=1`` when the folder is not writable and the ``-wal``/``-shm``
pair is absent. Read-only connections skip the PRAGMAs that write (``journal_mode=WAL``,
``synchronous``); migrations are never attempted when the schema is at head, and a read-only
database behind head is a clear DatabaseError.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url
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

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of this database, password included (for the task queue's own
        connections, :func:`libpq_conninfo`)."""
        return self.engine.url.render_as_string(hide_password=False)

    @property
    def backend(self) -> str:
        """``"sqlite"``, ``"postgresql"``, ... (SQLAlchemy's backend name)."""
        return self.engine.url.get_backend_name()


def libpq_conninfo(url: str) -> str:
    """The libpq connection URI of a SQLAlchemy PostgreSQL URL, for psycopg connections made
    outside SQLAlchemy (the task queue of distributed runs): ``postgresql+psycopg://u@h/db``
    -> ``postgresql://u@h/db`` (query parameters such as ``options`` kept).

    Raises ConfigError for any other database: distributed runs need PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise ConfigError(f"bad database URL {url!r}: {err}") from err
    backend = parsed.get_backend_name()
    if backend != "postgresql":
        raise ConfigError(f"distributed runs need PostgreSQL (the workers share the run "
                          f"through its task queue), not {backend}: set --db / MONITOR_DB / "
                          "database.url to a postgresql+psycopg:// URL")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_read_only_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _writable(path: str, mode: int) -> bool:
    effective = os.access in os.supports_effective_ids
    return os.access(path, mode, effective_ids=effective)


def read_only_query(path: str) -> dict[str, str] | None:
    """The SQLite URI parameters to open the existing file ``path`` read-only, or None when
    this process can write it and its folder (rules in the module docstring)."""
    folder = os.path.dirname(os.path.abspath(path))
    folder_ok = _writable(folder, os.W_OK | os.X_OK)
    if _writable(path, os.W_OK) and folder_ok:
        return None
    query = {"mode": "ro"}
    if not folder_ok and not (os.path.exists(f"{path}-wal") and os.path.exists(f"{path}-shm")):
        query["immutable"] = "1"
    return query


def _read_only_url(parsed: URL) -> URL | None:
    """``parsed`` (a SQLite file URL) as a read-only URI URL, or None when writable."""
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:") or not os.path.isfile(path):
        return None
    query = read_only_query(path)
    if query is None:
        return None
    uri = "file:" + quote(os.path.abspath(path), safe="/")
    return parsed.set(database=uri, query={**parsed.query, **query, "uri": "true"})


def is_read_only(engine: Engine) -> bool:
    """True for an engine made by :func:`make_engine` over a read-only SQLite file."""
    return engine.url.get_backend_name() == "sqlite" and engine.url.query.get("mode") == "ro"


POSTGRES_EXTRA = "pip install 'monitor[postgres]'"
"""How to install the PostgreSQL driver (psycopg 3, the ``postgres`` extra of pyproject.toml)."""
_POSTGRES_MODULES = ("psycopg", "psycopg_binary", "psycopg_c", "psycopg2")
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


def _driver(parsed: URL) -> URL:
    """``postgresql://`` names no driver, and SQLAlchemy's default for it is psycopg2, which the
    ``postgres`` extra does not install: use psycopg (3), unless psycopg2 is there."""
    if parsed.drivername == "postgresql" and importlib.util.find_spec("psycopg2") is None:
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def _missing_driver(parsed: URL, err: ImportError) -> str:
    """What to install for the driver that ``err`` says is missing."""
    module = (err.name or "").split(".")[0]
    if parsed.get_backend_name() == "postgresql" and (
            module in _POSTGRES_MODULES or "psycopg" in str(err)):
        return (f"the PostgreSQL driver is not installed ({err}): {POSTGRES_EXTRA}, "
                "or pip install 'psycopg[binary]'")
    return f"the driver for {parsed.drivername} is not installed ({err})"


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` (SQLite files this process cannot write: read-only).

    Raises ConfigError for a malformed URL, an unknown driver, or a driver that is not
    installed (saying what to install: :data:`POSTGRES_EXTRA` for PostgreSQL). The URL's
    password is never part of a message.
    """
    shown = _PASSWORD.sub(r"\1***@", url)
    try:
        parsed = _driver(make_url(url))
        shown = parsed.render_as_string(hide_password=True)
        read_only = _read_only_url(parsed) if parsed.get_backend_name() == "sqlite" else None
        engine = create_engine(read_only or parsed, pool_pre_ping=True)
    except ImportError as err:
        raise ConfigError(f"database URL {shown}: {_missing_driver(parsed, err)}") from err
    except (exc.ArgumentError, exc.NoSuchModuleError, ValueError) as err:
        raise ConfigError(f"bad database URL {shown}: {err}") from err
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect",
                     _sqlite_read_only_pragmas if read_only else _sqlite_pragmas)
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
    revision = current_revision(engine)
    if revision == SCHEMA_HEAD:
        return
    if is_read_only(engine):
        path = unquote((engine.url.database or "").removeprefix("file:"))
        raise DatabaseError(f"the database file {path} is read-only here and its "
                            f"schema is not at head (revision {revision or 'none'}, head "
                            f"{SCHEMA_HEAD}): run 'monitor db upgrade' where it can be written")
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

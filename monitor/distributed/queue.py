"""The task queue: a procrastinate app on the monitor's own PostgreSQL database.

The queue's tables, types and functions live in their own PostgreSQL schema
(:data:`QUEUE_SCHEMA`, ``monitor_queue``) beside the Alembic-managed tables in ``public``:
every connection of the queue's pool sets ``search_path`` to that schema, and procrastinate's
SQL names nothing schema-qualified, so its objects resolve there. The schema is
procrastinate's to create and upgrade (:func:`install_schema`, run by the coordinator and by
every worker at start); Alembic never sees it. The SQL here touches only the queue's tables;
the monitor's own tables are reached through :mod:`monitor.store` alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import procrastinate
from procrastinate.schema import SchemaManager

from monitor.errors import DatabaseError
from monitor.store.db import libpq_conninfo

QUEUE_SCHEMA = "monitor_queue"
CHECK_QUEUE = "checks"
TASK_NAME = "monitor.check_host_batch"
INSTALL_LOCK = 7310017  # advisory lock key of concurrent first starts
RUN_INDEX = ("CREATE INDEX IF NOT EXISTS monitor_jobs_run_idx "
             "ON procrastinate_jobs (((args->>'run_id')::int))")
"""Ours, in the queue's schema: a run's jobs by run id (progress polls, cancel); without it a
progress poll scanned every job's arguments (539 ms with 95,679 jobs queued, 85 ms with it)."""
RUN_FILTER = "task_name = %(task)s AND (args->>'run_id')::int = %(run)s"


def make_app(url: str, schema: str = QUEUE_SCHEMA, pool_size: int = 4) -> procrastinate.App:
    """A procrastinate app (not yet opened) on the database at SQLAlchemy ``url``.

    Raises ConfigError for a database other than PostgreSQL.
    """
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_conninfo(url), min_size=1, max_size=pool_size,
        kwargs={"options": f"-c search_path={schema}"},
    )
    return procrastinate.App(connector=connector)


async def install_schema(url: str, schema: str = QUEUE_SCHEMA) -> str:
    """Install or upgrade the queue's objects in ``schema``; returns what it did
    (``"installed"``, ``"upgraded from X"`` or ``"current"``).

    One transaction under an advisory lock, so concurrent first starts are safe. The installed
    procrastinate version is kept as the schema's comment; an upgrade applies procrastinate's
    shipped migrations newer than it, in order (:func:`pending_migrations`). Raises
    ConfigError for a database other than PostgreSQL, DatabaseError when it cannot be reached.
    """
    import psycopg

    try:
        conn = await psycopg.AsyncConnection.connect(libpq_conninfo(url), connect_timeout=30)
    except psycopg.OperationalError as err:
        raise DatabaseError(f"database unreachable: {err}") from err
    async with conn:
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (INSTALL_LOCK,))
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')  # type: ignore[arg-type]
        await conn.execute(f'SET LOCAL search_path TO "{schema}"')  # type: ignore[arg-type]
        cur = await conn.execute(
            "SELECT to_regclass('procrastinate_jobs') IS NOT NULL, "
            "obj_description(%s::regnamespace, 'pg_namespace')", (schema,))
        found, comment = await cur.fetchone() or (False, None)
        done = "current"
        if not found:
            await conn.execute(SchemaManager.get_schema())  # type: ignore[arg-type]
            done = "installed"
        elif comment != _version_note():
            installed = (comment or "procrastinate 0").split()[-1]
            for path in pending_migrations(installed):
                await conn.execute(path.read_text(encoding="utf-8"))  # type: ignore[arg-type]
            done = f"upgraded from {installed}"
        if done != "current":
            await conn.execute(RUN_INDEX)  # type: ignore[arg-type]
            await conn.execute(  # type: ignore[arg-type]
                f'COMMENT ON SCHEMA "{schema}" IS \'{_version_note()}\'')
    return done


def _version_note() -> str:
    return f"procrastinate {procrastinate.__version__}"


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def pending_migrations(installed: str) -> list[Path]:
    """procrastinate's shipped SQL migrations newer than version ``installed``, in order."""
    folder = Path(SchemaManager.get_migrations_path())
    newer = [p for p in folder.glob("*.sql")
             if _version_key(p.name.split("_")[0]) > _version_key(installed)]
    return sorted(newer, key=lambda p: p.name)


@dataclass(frozen=True)
class RunProgress:
    """The queue's view of one run: its batch jobs by status (``todo``, ``doing``,
    ``succeeded``, ``failed``, ``cancelled``, ``aborted``), and the workers alive now (a
    heartbeat within the last minute)."""

    counts: Mapping[str, int]
    workers: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        """Batches that will not run again (succeeded, failed for good, cancelled)."""
        return sum(n for s, n in self.counts.items() if s not in ("todo", "doing"))

    @property
    def done(self) -> bool:
        return self.total > 0 and self.finished == self.total


async def run_progress(app: procrastinate.App, run_id: int) -> RunProgress:
    """How many of run ``run_id``'s batch jobs are in each status, and how many workers are
    alive (one aggregate over the run's jobs, on :data:`RUN_INDEX`)."""
    rows: list[dict[str, Any]] = await app.connector.execute_query_all_async(
        f"SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs "
        f"WHERE {RUN_FILTER} GROUP BY status", task=TASK_NAME, run=int(run_id))
    alive = await app.connector.execute_query_one_async(
        "SELECT count(*) AS n FROM procrastinate_workers "
        "WHERE last_heartbeat > now() - interval '1 minute'")
    return RunProgress({row["status"]: int(row["n"]) for row in rows}, int(alive["n"]))

"""The queue's worker: claim host batches and check them, until SIGTERM (``monitor worker``
runs it with the pipeline's checker, :mod:`monitor.pipeline.worker`).

A worker is a procrastinate worker with ``concurrency`` batches at once (each batch keeps the
per-host limit inside it; the group lock keeps other workers off that host). Beside it runs the
stalled-batch sweeper: procrastinate 3.x records a heartbeat per worker, but leaves retrying
the jobs of a dead worker to the application; every worker (and the coordinator, see
:mod:`monitor.distributed.coordinator`) sweeps, and a sweep lost to another is harmless.

SIGTERM or SIGINT: stop claiming, let the running batches finish for ``graceful_seconds``, then
cancel them; a cancelled batch is queued again at once (:class:`~monitor.distributed.jobs.
BatchRetry`) and its host lock released, so another worker takes it. A second signal kills.
SIGKILL: the worker's heartbeat stops; after ``stalled_seconds`` a sweep queues its batches
again. Results are idempotent per (run, resource), so a batch checked twice is written once.

A missed heartbeat does not prove a worker dead: a worker whose event loop stalls (measured:
module imports on a loaded machine blocked one for over 2 s) is swept while it still sends
requests, and without more the retry would send the same host a second ``per_host``. So each
running batch holds a PostgreSQL advisory lock on its job id in the worker's own session
(:class:`JobFence`): a retry of the batch waits until the first try has ended (its session holds
the lock until then, and PostgreSQL drops it the moment the process dies), then skips what the
first try wrote. Liveness of the database session, not the heartbeat, is what keeps a host's
batches apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import procrastinate
import psycopg

from monitor.distributed.jobs import BatchChecker, add_check_task
from monitor.distributed.queue import CHECK_QUEUE, make_app
from monitor.store.db import libpq_conninfo
from monitor.store.lock import holder_id

FENCE_CLASS = 7310018  # advisory lock namespace of running batches (key: job id)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker claims, beats and sweeps (times in seconds)."""

    concurrency: int = 16  # batches at once (groups at once) in this process
    graceful_seconds: float = 30.0  # SIGTERM: how long running batches may finish
    heartbeat_seconds: float = 5.0  # how often this worker says it is alive
    stalled_seconds: float = 20.0  # a worker silent this long is dead: its batches go back
    sweep_seconds: float = 5.0  # how often to look for a dead worker's batches
    poll_seconds: float = 1.0  # claim poll (NOTIFY wakes workers for new jobs; not for
    #                            a retried batch or a host lock freed by another worker)
    wait: bool = True  # False: return once the queue is empty (tests, benchmarks)


class JobFence:
    """Advisory locks on running job ids, held in one session of this worker process.

    A session's advisory locks stack (a second lock of the same key in the same session
    succeeds), and a stalled worker may claim its own swept job again once its loop resumes:
    so the jobs running in this process are also tracked here, and a second run of one of
    them waits for the first locally before it asks PostgreSQL.
    """

    def __init__(self, conn: psycopg.AsyncConnection, poll_seconds: float) -> None:
        self.conn, self.poll_seconds = conn, poll_seconds
        self._running: dict[int, asyncio.Event] = {}

    @classmethod
    async def open(cls, url: str, poll_seconds: float = 0.5) -> JobFence:
        """The fence's session, named ``monitor-worker:<host>:<pid>`` in pg_stat_activity
        (so ``running_batches`` can tell which process runs which batch)."""
        conn = await psycopg.AsyncConnection.connect(
            libpq_conninfo(url), autocommit=True,
            application_name=f"monitor-worker:{holder_id()}",
            keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
        return cls(conn, poll_seconds)

    async def close(self) -> None:
        await self.conn.close()

    @contextlib.asynccontextmanager
    async def hold(self, job_id: int) -> AsyncIterator[None]:
        """Wait until no other session runs job ``job_id``, and hold it meanwhile."""
        key = (FENCE_CLASS, job_id % 2**31)
        while job_id in self._running:  # this very process still runs it
            await self._running[job_id].wait()
        self._running[job_id] = done = asyncio.Event()
        try:
            await self._acquire(job_id, key)
            try:
                yield
            finally:
                await asyncio.shield(
                    self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", key))
        finally:
            del self._running[job_id]
            done.set()

    async def _acquire(self, job_id: int, key: tuple[int, int]) -> None:
        while True:
            cur = await self.conn.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            row = await cur.fetchone()
            if row and row[0]:
                break
            log.warning("job %s still runs elsewhere (a stalled worker): waiting", job_id)
            await asyncio.sleep(self.poll_seconds)


async def running_batches(app: procrastinate.App) -> list[dict[str, object]]:
    """The batches running now: job id, its arguments and the worker process
    (``monitor-worker:<host>:<pid>``) whose fence holds it."""
    return await app.connector.execute_query_all_async(
        "SELECT j.id, j.args, a.application_name AS worker FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid "
        "JOIN procrastinate_jobs j ON j.id = l.objid::bigint "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %(fence)s",
        fence=FENCE_CLASS)


async def retry_stalled(app: procrastinate.App, stalled_seconds: float) -> list[int]:
    """Queue again every running batch of a worker silent for ``stalled_seconds``; returns
    their ids (a batch that another sweeper requeued first is skipped)."""
    requeued = []
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
        with contextlib.suppress(Exception):  # already requeued by another sweeper
            await app.job_manager.retry_job(job)
            requeued.append(job.id)
    if requeued:
        log.warning("requeued batches of stalled workers: %s", requeued)
    return [j for j in requeued if j is not None]


async def _sweep(app: procrastinate.App, options: WorkerOptions) -> None:
    while True:
        await retry_stalled(app, options.stalled_seconds)
        await asyncio.sleep(options.sweep_seconds)


async def run_worker(url: str, checker: BatchChecker, options: WorkerOptions = WorkerOptions(),
                     *, name: str | None = None, signals: bool = True,
                     app_factory: Callable[[str], procrastinate.App] = make_app) -> None:
    """Run a worker on the database at SQLAlchemy ``url`` until stopped (or, with
    ``options.wait`` False, until the queue is empty)."""
    app = app_factory(url)
    add_check_task(app)
    fence = await JobFence.open(url)
    async with app.open_async():
        sweeper = asyncio.create_task(_sweep(app, options), name="stalled-batch sweeper")
        try:
            await app.run_worker_async(
                queues=[CHECK_QUEUE], name=name, concurrency=options.concurrency,
                wait=options.wait, shutdown_graceful_timeout=options.graceful_seconds,
                update_heartbeat_interval=options.heartbeat_seconds,
                stalled_worker_timeout=options.stalled_seconds,
                fetch_job_polling_interval=options.poll_seconds,
                install_signal_handlers=signals, delete_jobs="never",
                additional_context={"checker": checker, "fence": fence})
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await fence.close()

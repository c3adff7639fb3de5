"""``monitor worker`` (SPEC §3, §14): check the host batches of distributed runs with the same
stages as a local run, until SIGTERM.

One worker process holds one :class:`~monitor.fetch.Fetcher` (the ``[http]`` limits of a
local run: ``http.concurrency`` requests in flight in all, ``http.per_host`` to one host) and
runs up to ``concurrency`` batches at once on it; each batch is
:func:`monitor.pipeline.crawl.check_resources`: the sites' batch step on its targets, fetch
or probe, classify, fingerprint, results written once per (run, resource) through one writer
thread. The queue (claims, the fleet-wide group locks, retries, the job fence, SIGTERM) is
:mod:`monitor.distributed`. A batch of a run that is no longer ``running`` (aborted, or applied
without it) is dropped unchecked. The sites' notes (a GitHub rate limit) go to the run's note.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor, ThreadPoolExecutor

from monitor.config import Settings
from monitor.distributed import HostBatch, WorkerOptions, install_schema, run_worker
from monitor.fetch import Fetcher, FetchOptions
from monitor.pipeline.crawl import check_resources, probe_context
from monitor.store import queries
from monitor.store.db import Database
from monitor.store.lock import holder_id

log = logging.getLogger(__name__)


def work(db: Database, settings: Settings, options: WorkerOptions) -> None:
    """Run this process as a worker until SIGTERM or SIGINT (a second one kills).

    Raises ConfigError for a database other than PostgreSQL, DatabaseError when it cannot be
    reached at start.
    """
    asyncio.run(_work(db, settings, options))


async def _work(db: Database, settings: Settings, options: WorkerOptions) -> None:
    schema = await install_schema(db.url)
    log.info("worker %s: queue schema %s; up to %d host batches at once", holder_id(), schema,
             options.concurrency)
    writer = ThreadPoolExecutor(1, thread_name_prefix="monitor-batch-writer")
    try:
        async with Fetcher(FetchOptions.from_settings(settings)) as fetcher:

            async def check(batch: HostBatch) -> int:
                return await check_batch(db, settings, fetcher, writer, batch)

            await run_worker(db.url, check, options)
    finally:
        writer.shutdown(wait=True)
    log.info("worker %s: stopped", holder_id())


async def check_batch(db: Database, settings: Settings, fetcher: Fetcher, writer: Executor,
                      batch: HostBatch) -> int:
    """Check one host batch (see the module docstring); returns how many results it wrote."""
    started = time.monotonic()
    if not await asyncio.to_thread(queries.run_is_running, db, batch.run_id):
        log.info("run %d is over: batch %s #%d dropped", batch.run_id, batch.group or "mixed",
                 batch.index)
        return 0
    ctx = probe_context(settings)
    ctx.fetcher = fetcher
    written = await check_resources(db, ctx, batch.run_id, batch.resource_ids, writer)
    for note in ctx.notes:
        await asyncio.to_thread(queries.add_run_note, db, batch.run_id, note)
    log.info("run %d batch %s #%d (try %d): %d of %d written in %.1f s", batch.run_id,
             batch.group or "mixed", batch.index, batch.attempt + 1, written,
             len(batch.resource_ids), time.monotonic() - started)
    return written

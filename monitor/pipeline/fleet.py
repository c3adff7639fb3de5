"""The check stage of a distributed run, on the coordinator's side (SPEC §14, issue 17): the
run's targets as host batches in the queue, then a wait until the workers have checked them.

:func:`monitor.pipeline.run.run_once` calls :func:`resumable_run` before it starts a run and
:func:`check_on_workers` in place of the local crawl; the stages before and after are the
local run's. Nothing here is kept in memory for the health stage: the workers wrote every
result to the store, where :class:`monitor.store.results.StoredChecks` reads them back.

Restart: the batches of a run are queued in one statement, so a ``running`` run has all of its
batches in the queue or none. A coordinator started again after a crash finds the newest
``running`` run that has batches (:func:`resumable_run`) and waits for it again instead of
queueing a new run. SIGTERM or Ctrl-C cancel the batches not started (:func:`cancel`); the run
is then marked aborted, as a local run is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import procrastinate

from monitor.distributed import (
    HostBatch,
    RunProgress,
    cancel_run,
    install_schema,
    make_app,
    plan_batches,
    planned_resources,
    purge_runs,
    queued_runs,
    start_or_resume,
    unfinished_resources,
    wait_for_run,
)
from monitor.store import lock, queries, results
from monitor.store.db import Database

Log = Callable[[str], None]
Bar = Callable[[int], tuple[Callable[[int], None] | None, Callable[[], None]]]
HEARTBEAT_SECONDS = 10.0  # how often the waiting coordinator refreshes the run lock
NO_WORKER_SECONDS = 30.0  # said once when no worker has been seen alive for this long


@dataclass(frozen=True)
class FleetCheck:
    """What the workers did for one run: ``planned`` resources in ``batches`` batches, of
    which ``failed`` batches (``unchecked`` resources without a result) did not succeed."""

    planned: int
    batches: int
    failed: int
    unchecked: int

    def note(self) -> str | None:
        """The run's note about resources left unchecked, or None."""
        if not self.unchecked:
            return None
        return (f"{self.unchecked} resources not checked in this run ({self.failed} host "
                "batches failed on the workers; their states are unchanged)")


def resumable_run(db: Database) -> int | None:
    """The newest ``running`` run whose batches are in the queue (its coordinator died), or
    None. Installs the queue's schema first (a no-op when current) and deletes the jobs of
    runs that ended (:func:`monitor.distributed.purge_runs`)."""
    running = queries.running_runs(db)

    async def find() -> int | None:
        await install_schema(db.url)
        async with make_app(db.url).open_async() as app:
            await purge_runs(app, keep=running)
            found = await queued_runs(app, running)
        return found[0] if found else None

    return asyncio.run(find())


async def check_on_workers(db: Database, run_id: int, batch_size: int, log: Log,
                           bar: Bar) -> FleetCheck:
    """Queue run ``run_id``'s active resources as host batches of up to ``batch_size`` unless
    they are queued already (a resumed run), then wait until every batch has finished,
    showing ``bar`` (resources checked) and keeping the run lock's heartbeat. Returns what the
    workers did."""
    async with make_app(db.url).open_async() as app:
        def batches() -> list[HostBatch]:
            targets = queries.active_targets(db)
            return plan_batches(run_id, [(t.resource_id, t.url) for t in targets], batch_size)

        queued, progress = await start_or_resume(app, run_id, batches)
        planned = await planned_resources(app, run_id)
        log(f"run {run_id}: {planned} resources in {progress.total} host batches "
            f"{'queued' if queued else 'already queued (resumed)'}; waiting for the workers "
            "(`monitor worker`)")
        watch = _Watch(db, run_id, planned, log, bar)
        try:
            done = await wait_for_run(app, run_id, progress=watch)
        finally:
            watch.stop()
        unchecked = await _unchecked(db, app, run_id)
    failed = done.total - done.counts.get("succeeded", 0)
    return FleetCheck(planned, done.total, failed, unchecked)


async def _unchecked(db: Database, app: procrastinate.App, run_id: int) -> int:
    ids = await unfinished_resources(app, run_id)
    if not ids:
        return 0
    done = await asyncio.to_thread(results.already_checked, db, run_id, ids)
    return len(set(ids) - done)


class _Watch:
    """The progress callback of the wait: the bar in resources checked, the run lock's
    heartbeat every ``HEARTBEAT_SECONDS``, one line when no worker is alive."""

    def __init__(self, db: Database, run_id: int, planned: int, log: Log, bar: Bar) -> None:
        self.db, self.run_id, self.log = db, run_id, log
        self.advance, self.stop = bar(planned)
        self.shown = 0
        self.beat = self.since_worker = time.monotonic()
        self.warned = False

    async def __call__(self, state: RunProgress) -> None:
        now = time.monotonic()
        if now - self.beat >= HEARTBEAT_SECONDS:
            await asyncio.to_thread(lock.heartbeat, self.db)
            self.beat = now
        if self.advance is not None:
            count = await asyncio.to_thread(results.checked_count, self.db, self.run_id)
            self.advance(count - self.shown)
            self.shown = count
        if state.workers:
            self.since_worker = now
        elif not self.warned and now - self.since_worker > NO_WORKER_SECONDS and not state.done:
            self.log(f"run {self.run_id}: no worker alive for {NO_WORKER_SECONDS:.0f} s; start "
                     "`monitor worker` on a machine that reaches this database")
            self.warned = True


def cancel(db: Database, run_id: int) -> int:
    """Cancel run ``run_id``'s batches not yet started (the run is being aborted); returns how
    many. Batches running now finish; their results are kept with the aborted run."""

    async def go() -> int:
        async with make_app(db.url).open_async() as app:
            return await cancel_run(app, run_id)

    return asyncio.run(go())

"""The coordinator's side: queue a run's host batches, wait for them, survive a restart.

:func:`start_or_resume` queues the run's batches unless the queue already holds some for that
run (they were queued in one statement, so it holds all or none): a coordinator restarted after
a crash finds its ``running`` run (:func:`queued_runs`) and simply waits again.
:func:`wait_for_run` polls the queue's counts for the run (one aggregate over the run's jobs),
reports progress, and sweeps stalled batches itself, so a fleet whose every worker died and
restarted still gets them back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

import procrastinate

from monitor.distributed.jobs import HostBatch, enqueue
from monitor.distributed.queue import RUN_FILTER, TASK_NAME, RunProgress, run_progress
from monitor.distributed.worker import retry_stalled

STALLED_SECONDS = 20.0  # a worker silent this long is dead (the coordinator's sweep)


class RunTimeout(Exception):
    """The run's batches did not all finish before the deadline."""


async def queued_runs(app: procrastinate.App, run_ids: Iterable[int]) -> list[int]:
    """Those of ``run_ids`` that have batches in the queue (distributed runs), in the order
    given."""
    ids = [int(i) for i in run_ids]
    if not ids:
        return []
    rows = await app.connector.execute_query_all_async(
        "SELECT DISTINCT (args->>'run_id')::int AS run FROM procrastinate_jobs "
        "WHERE task_name = %(task)s AND (args->>'run_id')::int = ANY(%(runs)s)",
        task=TASK_NAME, runs=ids)
    found = {int(row["run"]) for row in rows}
    return [i for i in ids if i in found]


async def purge_runs(app: procrastinate.App, keep: Iterable[int]) -> int:
    """Delete the batch jobs (and their events) of every run but ``keep`` (the runs still
    ``running``), except jobs some worker runs right now; returns how many. The coordinator
    does this at each start, so the queue holds about one run's jobs."""
    rows = await app.connector.execute_query_all_async(
        "DELETE FROM procrastinate_jobs WHERE task_name = %(task)s AND status <> 'doing' "
        "AND NOT (args->>'run_id')::int = ANY(%(keep)s) RETURNING id",
        task=TASK_NAME, keep=[int(i) for i in keep])
    return len(rows)


async def start_or_resume(app: procrastinate.App, run_id: int,
                          batches: Callable[[], list[HostBatch]]) -> tuple[bool, RunProgress]:
    """Queue ``batches()`` for ``run_id`` unless already queued; returns ``(queued_now,
    progress)``. ``batches`` is only called when they must be queued."""
    progress = await run_progress(app, run_id)
    if progress.total:
        return False, progress
    await enqueue(app, batches())
    return True, await run_progress(app, run_id)


async def wait_for_run(app: procrastinate.App, run_id: int,
                       progress: Callable[[RunProgress], Awaitable[None] | None] | None = None,
                       poll_seconds: float = 1.0, stalled_seconds: float = STALLED_SECONDS,
                       timeout: float | None = None) -> RunProgress:
    """Wait until every batch of ``run_id`` has finished (succeeded, failed for good or
    cancelled); calls ``progress`` (maybe a coroutine function) on each poll, every
    ``poll_seconds``, and requeues the batches of workers silent for ``stalled_seconds``.
    Raises RunTimeout past ``timeout`` seconds (None: wait as long as it takes)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        state = await run_progress(app, run_id)
        if progress is not None and (pending := progress(state)) is not None:
            await pending
        if state.done or state.total == 0:
            return state
        if deadline is not None and time.monotonic() > deadline:
            raise RunTimeout(f"run {run_id}: {state.finished} of {state.total} batches done")
        await retry_stalled(app, stalled_seconds)
        await asyncio.sleep(poll_seconds)


async def planned_resources(app: procrastinate.App, run_id: int) -> int:
    """How many resources run ``run_id``'s batches hold (the coordinator's progress total)."""
    row = await app.connector.execute_query_one_async(
        "SELECT coalesce(sum(jsonb_array_length(args->'resource_ids')), 0) AS n "
        f"FROM procrastinate_jobs WHERE {RUN_FILTER}", task=TASK_NAME, run=int(run_id))
    return int(row["n"])


async def cancel_run(app: procrastinate.App, run_id: int) -> int:
    """Cancel the run's batches not yet started (an aborted run); returns how many. Batches
    running now finish (their results are kept with the aborted run)."""
    rows = await app.connector.execute_query_all_async(
        f"UPDATE procrastinate_jobs SET status = 'cancelled' WHERE status = 'todo' "
        f"AND {RUN_FILTER} RETURNING id", task=TASK_NAME, run=int(run_id))
    return len(rows)


async def unfinished_resources(app: procrastinate.App, run_id: int) -> list[int]:
    """Resource ids of the run's batches that did not succeed (failed for good or
    cancelled): "not checked" in this run unless a result was written before the failure."""
    rows = await app.connector.execute_query_all_async(
        f"SELECT args FROM procrastinate_jobs WHERE {RUN_FILTER} "
        f"AND status NOT IN ('succeeded', 'todo', 'doing')", task=TASK_NAME, run=int(run_id))
    return [rid for row in rows for rid in row["args"]["resource_ids"]]

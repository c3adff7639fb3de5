"""The unit of distributed work: one batch of one host's resources for one run.

``plan_batches`` groups a run's targets by host. A host with more than ``batch_size`` resources
is cut into batches of its own, each with ``lock = "host:<host>"``: across the whole fleet at
most one batch of such a host runs at a time, in the order they were queued. Every other host
fits whole in one batch, so no other job ever touches it: those hosts are packed together into
mixed batches of up to ``batch_size`` resources with no lock (most hosts of a Zipf-shaped web
are small: this keeps the job count, and the queue's claim cost, near resources/batch_size
instead of one job per host). Biggest hosts are queued first: they are the longest chains
and bound the makespan. ``enqueue`` defers all batches in one statement (all or none).

The job's body is ``check_host_batch``: it hands the batch to the worker's ``BatchChecker``
(given to the worker at start, see :mod:`monitor.distributed.worker`), which checks the
resources and writes their results idempotently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import procrastinate
from procrastinate import JobContext, RetryDecision
from procrastinate.exceptions import JobAborted
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy

from monitor.distributed.queue import CHECK_QUEUE, TASK_NAME

BATCH_SIZE = 150  # resources per batch: ~40 s of one host at per_host 2 and 0.5 s/request;
#                   under pipeline.POOL_MIN_TARGETS (200), so a batch never starts its own
#                   process pool (one worker process per core instead)
MAX_ATTEMPTS = 5  # tries of one batch that fails (an error in the checker, not a shutdown)
MAX_RELEASES = 20  # times one batch may be handed back by shutting-down workers


@dataclass(frozen=True, slots=True)
class HostBatch:
    """Check these resources of one host for run ``run_id`` and write their results."""

    run_id: int
    host: str | None  # None: a mixed batch of whole small hosts (no lock needed)
    resource_ids: tuple[int, ...]
    index: int = 0  # this batch's position among its host's batches
    attempt: int = 0  # 0 on the first try; retries and releases count up

    def task_kwargs(self) -> dict[str, object]:
        return {"run_id": self.run_id, "host": self.host,
                "resource_ids": list(self.resource_ids), "index": self.index}


BatchChecker = Callable[[HostBatch], Awaitable[int]]
"""Checks a batch and writes its results (idempotently); returns how many it wrote."""


def host_of(url: str) -> str:
    """The host a URL's requests go to, lower case (the key of the fleet-wide lock)."""
    return (urlsplit(url).hostname or "").lower()


def lock_for(host: str | None) -> str | None:
    """The procrastinate lock of a host's batches (None for a mixed batch)."""
    return None if host is None else f"host:{host}"


def plan_batches(run_id: int, targets: Iterable[tuple[int, str]],
                 batch_size: int = BATCH_SIZE) -> list[HostBatch]:
    """``(resource_id, url)`` pairs as batches (see the module docstring): the split hosts'
    batches first, biggest host first, each host's in catalog order; then the mixed batches,
    biggest hosts first, a host never split between two."""
    by_host: dict[str, list[int]] = {}
    for resource_id, url in targets:
        by_host.setdefault(host_of(url), []).append(resource_id)
    hosts = sorted(by_host, key=lambda h: (-len(by_host[h]), h))
    big = [h for h in hosts if len(by_host[h]) > batch_size]
    out = [HostBatch(run_id, host, tuple(by_host[host][start:start + batch_size]), n)
           for host in big for n, start in enumerate(range(0, len(by_host[host]), batch_size))]
    mixed: list[int] = []
    for host in hosts[len(big):]:
        if len(mixed) + len(by_host[host]) > batch_size:
            out.append(HostBatch(run_id, None, tuple(mixed)))
            mixed = []
        mixed.extend(by_host[host])
    if mixed:
        out.append(HostBatch(run_id, None, tuple(mixed)))
    return out


class BatchRetry(BaseRetryStrategy):
    """A batch handed back by a worker shutting down (SIGTERM past the grace period) is
    queued again at once; a batch whose checker failed is retried with a growing delay,
    ``MAX_ATTEMPTS`` times in all."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError | JobAborted):
            return RetryDecision(retry_in={"seconds": 0}) if job.attempts < MAX_RELEASES else None
        if job.attempts + 1 >= MAX_ATTEMPTS:
            return None
        return RetryDecision(retry_in={"seconds": 2 ** job.attempts})


def add_check_task(app: procrastinate.App) -> procrastinate.tasks.Task:
    """Register ``check_host_batch`` on ``app`` (workers and coordinators both need it)."""

    async def check_host_batch(context: JobContext, run_id: int, host: str | None,
                               resource_ids: list[int], index: int = 0) -> int:
        checker: BatchChecker = context.additional_context["checker"]
        fence = context.additional_context.get("fence")
        batch = HostBatch(run_id, host, tuple(resource_ids), index, context.job.attempts)
        if fence is None or context.job.id is None:
            return await checker(batch)
        async with fence.hold(context.job.id):  # a stalled first try of this job has ended
            return await checker(batch)

    return app.task(name=TASK_NAME, queue=CHECK_QUEUE, pass_context=True,
                    retry=BatchRetry())(check_host_batch)


async def enqueue(app: procrastinate.App, batches: list[HostBatch]) -> list[int]:
    """Queue every batch in one statement (all or none); returns the job ids."""
    if not batches:
        return []
    jobs = [Job(id=None, queue=CHECK_QUEUE, task_name=TASK_NAME, lock=lock_for(b.host),
                queueing_lock=None, task_kwargs=b.task_kwargs()) for b in batches]
    deferred = await app.job_manager.batch_defer_jobs_async(jobs)
    # Fresh statistics: right after a bulk insert the planner may still think the table is
    # empty and pick a plan whose claim takes seconds (measured: 2.3 s per claim with 5,000
    # new jobs, 12 ms once analysed).
    await app.connector.execute_query_async("ANALYZE procrastinate_jobs")
    return [job.id for job in deferred if job.id is not None]

"""The unit of distributed work: one batch of one host's resources for one run.

``plan_batches`` groups a run's targets by where their requests go (:func:`group_of`): by host
name, except that the resources of a site with a probe (:mod:`monitor.sites`: YouTube's oEmbed,
arXiv's API, GitHub's REST API) form one group per site, since their requests go to the site's
API host whatever the URL's host (``youtu.be`` and ``www.youtube.com`` both ask
``www.youtube.com``). A group with more than ``batch_size`` resources is cut into batches of
its own, each with the procrastinate ``lock`` of the group: across the whole fleet at most one
batch of that group runs at a time, in the order they were queued. Every other group fits
whole in one batch, so no other job ever touches it: those are packed together into mixed
batches of up to ``batch_size`` resources without a lock (most hosts of a Zipf-shaped web are
small: this keeps the job count, and the queue's claim cost, near resources / batch_size
instead of one job per host). Biggest groups are queued first: they are the longest chains
and bound the makespan. :func:`enqueue` defers all batches in one statement (all or none).

A site's batch step (the arXiv ``id_list`` query) runs in each batch over that batch's papers,
by the worker that checks them: so the site batches are jobs of their own, and the site lock
keeps one of them running at a time (one client of the arXiv API, one of GitHub's).

The job's body is ``check_host_batch``: it hands the batch to the worker's
:data:`BatchChecker` (given to the worker at start, :mod:`monitor.distributed.worker`), which
checks the resources and writes their results once per (run, resource).
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
from monitor.sites import site_for

BATCH_SIZE = 150  # resources per batch: ~40 s of one host at per_host 2 and 0.5 s a request;
#                   under crawl.POOL_MIN_TARGETS (200), so a batch never starts its own process
#                   pool (one worker process per core instead)
MAX_ATTEMPTS = 5  # tries of one batch that fails (an error in the checker, not a shutdown)
MAX_RELEASES = 20  # times one batch may be handed back by shutting-down workers


@dataclass(frozen=True, slots=True)
class HostBatch:
    """Check these resources of one group for run ``run_id`` and write their results.

    ``group``: the host name or ``site:<name>`` of a split group (its batches hold its lock),
    None for a mixed batch of whole small groups; ``index``: this batch's position among its
    group's; ``attempt``: 0 on the first try, counting up on retries and hand-backs.
    """

    run_id: int
    group: str | None
    resource_ids: tuple[int, ...]
    index: int = 0
    attempt: int = 0

    def task_kwargs(self) -> dict[str, object]:
        """The job's arguments (JSON)."""
        return {"run_id": self.run_id, "group": self.group,
                "resource_ids": list(self.resource_ids), "index": self.index}


BatchChecker = Callable[[HostBatch], Awaitable[int]]
"""Checks a batch and writes its results (once per resource); returns how many it wrote."""


def group_of(url: str) -> str:
    """Where a URL's requests go, the key of the fleet-wide lock: ``site:<name>`` for a site
    with a probe, else the host name in lower case."""
    site = site_for(url)
    if site is not None:
        return f"site:{site.name}"
    return (urlsplit(url).hostname or "").lower()


def lock_for(group: str | None) -> str | None:
    """The procrastinate lock of a group's batches (None for a mixed batch)."""
    return None if group is None else f"group:{group}"


def plan_batches(run_id: int, targets: Iterable[tuple[int, str]],
                 batch_size: int = BATCH_SIZE) -> list[HostBatch]:
    """``(resource_id, url)`` pairs as batches (see the module docstring): the split groups'
    batches first, biggest first, each group's in catalog order; then the mixed batches,
    biggest groups first, a group never split between two."""
    by_group: dict[str, list[int]] = {}
    for resource_id, url in targets:
        by_group.setdefault(group_of(url), []).append(resource_id)
    groups = sorted(by_group, key=lambda g: (-len(by_group[g]), g))
    big = [g for g in groups if len(by_group[g]) > batch_size]
    out = [HostBatch(run_id, group, tuple(by_group[group][start:start + batch_size]), n)
           for group in big
           for n, start in enumerate(range(0, len(by_group[group]), batch_size))]
    mixed: list[int] = []
    for group in groups[len(big):]:
        if len(mixed) + len(by_group[group]) > batch_size:
            out.append(HostBatch(run_id, None, tuple(mixed)))
            mixed = []
        mixed.extend(by_group[group])
    if mixed:
        out.append(HostBatch(run_id, None, tuple(mixed)))
    return out


class BatchRetry(BaseRetryStrategy):
    """A batch handed back by a worker shutting down (SIGTERM past the grace period) is
    queued again at once; a batch whose checker failed is retried after 1, 2, 4, 8 s,
    ``MAX_ATTEMPTS`` tries in all (then its resources stay unchecked in this run)."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError | JobAborted):
            return RetryDecision(retry_in={"seconds": 0}) if job.attempts < MAX_RELEASES else None
        if job.attempts + 1 >= MAX_ATTEMPTS:
            return None
        return RetryDecision(retry_in={"seconds": 2 ** job.attempts})


def add_check_task(app: procrastinate.App) -> procrastinate.tasks.Task:
    """Register ``check_host_batch`` on ``app`` (workers and coordinators both need it).

    The job runs the worker's checker inside the worker's job fence
    (:class:`monitor.distributed.worker.JobFence`) when it has one.
    """

    async def check_host_batch(context: JobContext, run_id: int, group: str | None,
                               resource_ids: list[int], index: int = 0) -> int:
        checker: BatchChecker = context.additional_context["checker"]
        fence = context.additional_context.get("fence")
        batch = HostBatch(run_id, group, tuple(resource_ids), index, context.job.attempts)
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
    jobs = [Job(id=None, queue=CHECK_QUEUE, task_name=TASK_NAME, lock=lock_for(b.group),
                queueing_lock=None, task_kwargs=b.task_kwargs()) for b in batches]
    deferred = await app.job_manager.batch_defer_jobs_async(jobs)
    # Fresh statistics: right after a bulk insert the planner may still think the table is
    # empty and pick a plan whose claim takes seconds (measured: 2.3 s per claim with 5,000
    # new jobs, 12 ms once analysed).
    await app.connector.execute_query_async("ANALYZE procrastinate_jobs")
    return [job.id for job in deferred if job.id is not None]

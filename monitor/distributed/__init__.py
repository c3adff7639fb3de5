"""Distributed runs (SPEC §14, issue 17): host batches in a procrastinate queue on the
monitor's PostgreSQL database, checked by ``monitor worker`` processes on any machine.

This package is the queue, below the pipeline: it knows jobs, locks, workers and the
coordinator's waiting, not the stages. The pipeline hands it the checker of one batch
(:func:`monitor.pipeline.crawl.check_resources`, wired in :mod:`monitor.pipeline.worker`) and
waits on it as the check stage of a distributed run (:func:`monitor.pipeline.run.run_once`).

- :mod:`.queue`: the procrastinate app from our SQLAlchemy URL, its schema (own PostgreSQL
  schema ``monitor_queue``, installed and upgraded by us, never by Alembic), progress by run;
- :mod:`.jobs`: ``HostBatch``, ``plan_batches``, the ``check_host_batch`` task (``lock`` = its
  host or site: one batch of it at a time across the fleet), its retry strategy, ``enqueue``;
- :mod:`.coordinator`: queue a run's batches or find them after a restart, wait with progress,
  cancel, the resources left unchecked;
- :mod:`.worker`: the worker loop (SIGTERM finishes or hands back its batches), the job fence
  and the sweeper that requeues a dead worker's batches.

Importing it needs the ``distributed`` extra (procrastinate).
"""

from monitor.distributed.coordinator import (
    cancel_run,
    planned_resources,
    purge_runs,
    queued_runs,
    start_or_resume,
    unfinished_resources,
    wait_for_run,
)
from monitor.distributed.jobs import BatchChecker, HostBatch, add_check_task, enqueue, plan_batches
from monitor.distributed.queue import RunProgress, install_schema, make_app, run_progress
from monitor.distributed.worker import WorkerOptions, retry_stalled, run_worker

__all__ = ["BatchChecker", "HostBatch", "RunProgress", "WorkerOptions", "add_check_task",
           "cancel_run", "enqueue", "install_schema", "make_app", "plan_batches",
           "planned_resources", "purge_runs", "queued_runs", "retry_stalled", "run_progress",
           "run_worker", "start_or_resume", "unfinished_resources", "wait_for_run"]

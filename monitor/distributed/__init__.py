"""Distributed runs (SPEC §14), prototype: host batches in a procrastinate queue on the
monitor's PostgreSQL database, checked by ``monitor worker`` processes on any machine.

- :mod:`.queue`: the procrastinate app from our SQLAlchemy URL, its schema (own PostgreSQL
  schema ``monitor_queue``, installed and upgraded by us, never by Alembic), progress by run;
- :mod:`.jobs`: ``HostBatch``, ``plan_batches``, the ``check_host_batch`` task (``lock`` =
  host: one batch per host at a time across the fleet), its retry strategy, ``enqueue``;
- :mod:`.coordinator`: queue a run's batches or find them after a restart, wait with progress,
  cancel, the resources left unchecked;
- :mod:`.worker`: the worker loop (SIGTERM finishes or hands back its batches) and the sweeper
  that requeues a dead worker's batches;
- :mod:`.results`: results written once per (run, resource);
- :mod:`.checker`: the batch checker over the local pipeline.
"""

from monitor.distributed.coordinator import cancel_run, start_or_resume, wait_for_run
from monitor.distributed.jobs import BatchChecker, HostBatch, add_check_task, enqueue, plan_batches
from monitor.distributed.queue import RunProgress, install_schema, make_app, run_progress
from monitor.distributed.results import already_checked, ensure_unique_index, write_once
from monitor.distributed.worker import WorkerOptions, retry_stalled, run_worker

__all__ = ["BatchChecker", "HostBatch", "RunProgress", "WorkerOptions", "add_check_task",
           "already_checked", "cancel_run", "enqueue", "ensure_unique_index", "install_schema",
           "make_app", "plan_batches", "retry_stalled", "run_progress", "run_worker",
           "start_or_resume", "wait_for_run", "write_once"]

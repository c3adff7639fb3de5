"""A queue worker process for tests/test_distributed.py (no network, no monitor store).

    python -m tests.distributed_worker URL SCHEMA [--hold SECONDS] [--block-first]
        [--concurrency N] [--graceful SECONDS]

Its checker logs each batch it runs in ``SCHEMA.batch_log`` (group, attempt, pid and the
database's clock at start and end, one clock for every process) and writes one row per
resource in ``SCHEMA.results`` with ``ON CONFLICT DO NOTHING``, spending ``--hold`` seconds per
batch (simulated requests). With ``--block-first`` a batch's first try stops half-way, its
log row marked ``blocked``, and waits until the process is killed or shut down. With
``--stall SECONDS`` a batch's first try blocks the whole event loop that long after writing
its first result (heartbeats stop: the worker looks dead while it still works).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import psycopg

from monitor.distributed.jobs import HostBatch
from monitor.distributed.queue import make_app
from monitor.distributed.worker import WorkerOptions, run_worker
from monitor.store.db import libpq_conninfo as conninfo

TABLES = """
CREATE TABLE IF NOT EXISTS batch_log (
    id bigserial PRIMARY KEY, run_id int, grp text, idx int, attempt int, pid int,
    started timestamptz DEFAULT clock_timestamp(), ended timestamptz, blocked bool DEFAULT false);
CREATE TABLE IF NOT EXISTS results (
    run_id int, resource_id int, pid int, PRIMARY KEY (run_id, resource_id));
"""


def make_checker(url: str, schema: str, hold: float, block_first: bool, stall: float = 0.0):
    """The test checker (see the module docstring)."""

    async def check(batch: HostBatch) -> int:
        async with await psycopg.AsyncConnection.connect(
                conninfo(url), autocommit=True, options=f"-c search_path={schema}") as conn:
            cur = await conn.execute(
                "INSERT INTO batch_log (run_id, grp, idx, attempt, pid) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (batch.run_id, batch.group, batch.index, batch.attempt, os.getpid()))
            (log_id,) = await cur.fetchone()
            written, half = 0, len(batch.resource_ids) // 2
            for n, rid in enumerate(batch.resource_ids):
                if block_first and batch.attempt == 0 and n == half:
                    await conn.execute("UPDATE batch_log SET blocked = true WHERE id = %s",
                                       (log_id,))
                    await asyncio.Event().wait()  # until killed or cancelled
                cur = await conn.execute(
                    "INSERT INTO results VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (batch.run_id, rid, os.getpid()))
                written += cur.rowcount
                if stall and batch.attempt == 0 and n == 0:
                    time.sleep(stall)  # a stalled event loop, on purpose
                await asyncio.sleep(hold / max(1, len(batch.resource_ids)))  # the requests
            await conn.execute("UPDATE batch_log SET ended = clock_timestamp() WHERE id = %s",
                               (log_id,))
            return written

    return check


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("schema")
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--block-first", action="store_true")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--graceful", type=float, default=5.0)
    parser.add_argument("--stall", type=float, default=0.0)
    args = parser.parse_args()
    options = WorkerOptions(concurrency=args.concurrency, graceful_seconds=args.graceful,
                            heartbeat_seconds=0.5, stalled_seconds=2.0, sweep_seconds=0.5,
                            poll_seconds=0.2)
    checker = make_checker(args.url, args.schema, args.hold, args.block_first, args.stall)
    asyncio.run(run_worker(args.url, checker, options,
                           app_factory=lambda url: make_app(url, args.schema)))


if __name__ == "__main__":
    main()

"""Queue engines for distributed runs, measured: procrastinate vs pgqueuer on PostgreSQL.

    python bench/queue_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/DBNAME
        [--engines procrastinate,pgqueuer] [--enqueue 500,5000] [--workers 1,2,4]
        [--jobs 2000] [--kill]

Each measurement uses a fresh PostgreSQL schema of its own (dropped after). Measures:

- enqueue: N jobs in one statement (both engines), and for procrastinate also one
  ``defer`` per job (what a naive coordinator does);
- claim + complete: N no-op jobs, each with its own lock (procrastinate ``lock=host``;
  pgqueuer has no per-key lock, plain jobs), drained by 1/2/4 worker processes of concurrency 4
  started and ready before the jobs are queued; wall time from the enqueue to the last
  completion, jobs/s and worker-process milliseconds per job;
- contended locks (procrastinate): the same N jobs over 20 locks;
- kill: a worker holding a job is SIGKILLed; seconds until another worker starts it again,
  with the settings printed.

Results are printed as Markdown rows. Needs ``pip install procrastinate pgqueuer``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.distributed.queue import (  # noqa: E402
    CHECK_QUEUE,
    TASK_NAME,
    install_schema,
    make_app,
)
from monitor.store.db import libpq_conninfo as conninfo  # noqa: E402

CONCURRENCY = 4
READY_CPU: dict[int, float] = {}  # worker pid -> its CPU seconds when it said ready


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL schema name; dropped (with what is in it) afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        yield schema
    finally:
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def sql(url: str, schema: str, query: str) -> list[tuple]:
    with psycopg.connect(conninfo(url), autocommit=True,
                         options=f"-c search_path={schema}") as conn:
        cur = conn.execute(query)
        return cur.fetchall() if cur.description else []


# ---------------------------------------------------------------- procrastinate


async def pc_setup(url: str, schema: str) -> None:
    await install_schema(url, schema)


def pc_jobs(n: int, locks: int | None) -> list:
    from procrastinate.jobs import Job

    return [Job(id=None, queue=CHECK_QUEUE, task_name=TASK_NAME, queueing_lock=None,
                lock=f"host:{i if locks is None else i % locks}",
                task_kwargs={"run_id": 1, "group": f"h{i}", "resource_ids": [], "index": 0})
            for i in range(n)]


async def pc_enqueue(url: str, schema: str, n: int, one_by_one: bool = False) -> float:
    app = make_app(url, schema)
    jobs = pc_jobs(n, None)
    async with app.open_async():
        start = time.perf_counter()
        if one_by_one:
            for job in jobs:
                await app.job_manager.defer_job_async(job)
        else:
            await app.job_manager.batch_defer_jobs_async(jobs)
            await app.connector.execute_query_async("ANALYZE procrastinate_jobs")
        return time.perf_counter() - start


async def pc_worker(url: str, schema: str, hold: float, heartbeat: float, stalled: float,
                    sweep: float, poll: float) -> None:
    from monitor.distributed.worker import WorkerOptions, run_worker

    async def noop(_batch: object) -> int:
        if hold:
            await asyncio.sleep(hold)  # a job still running when the worker is killed
        return 0

    print(f"ready {time.process_time()}", flush=True)
    try:
        await run_worker(url, noop, WorkerOptions(
            concurrency=CONCURRENCY, heartbeat_seconds=heartbeat, stalled_seconds=stalled,
            sweep_seconds=sweep, poll_seconds=poll), app_factory=lambda u: make_app(u, schema))
    finally:
        print(f"cpu {time.process_time()}", flush=True)


# ---------------------------------------------------------------- pgqueuer


async def pq_connect(url: str, schema: str) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True,
                                                 options=f"-c search_path={schema}")


async def pq_setup(url: str, schema: str) -> None:
    from pgqueuer import PsycopgDriver, Queries

    conn = await pq_connect(url, schema)
    async with conn:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await Queries(PsycopgDriver(conn)).install()


async def pq_enqueue(url: str, schema: str, n: int) -> float:
    from pgqueuer import PsycopgDriver, Queries

    conn = await pq_connect(url, schema)
    async with conn:
        queries = Queries(PsycopgDriver(conn))
        start = time.perf_counter()
        await queries.enqueue(["noop"] * n, [str(i).encode() for i in range(n)], [0] * n)
        return time.perf_counter() - start


async def pq_worker(url: str, schema: str, hold: float, heartbeat: float) -> None:
    from datetime import timedelta

    from pgqueuer import PsycopgDriver, Queries, QueueManager

    conn = await pq_connect(url, schema)
    qm = QueueManager(Queries(PsycopgDriver(conn)))

    @qm.entrypoint("noop")
    async def noop(job: object) -> None:
        if hold:
            await asyncio.sleep(hold)

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, qm.shutdown.set)
    print(f"ready {time.process_time()}", flush=True)
    try:
        await qm.run(batch_size=CONCURRENCY, max_concurrent_tasks=2 * CONCURRENCY,
                     heartbeat_timeout=timedelta(seconds=heartbeat),
                     dequeue_timeout=timedelta(seconds=1))
    finally:
        print(f"cpu {time.process_time()}", flush=True)


# ---------------------------------------------------------------- the measurements


def start_workers(args: argparse.Namespace, engine: str, schema: str, count: int,
                  *extra: str) -> list[subprocess.Popen[str]]:
    procs = [subprocess.Popen([sys.executable, __file__, "--db", args.db, "worker", engine,
                               schema, *extra], stdout=subprocess.PIPE, text=True,
                              stderr=subprocess.DEVNULL) for _ in range(count)]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[0] == "ready", line
        READY_CPU[proc.pid] = float(line[1])
    return procs


def stop(procs: list[subprocess.Popen[str]]) -> float:
    """SIGTERM the workers; returns the CPU seconds they spent after saying ready."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    cpu = 0.0
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=30)
            cpu += sum(float(line.split()[1]) for line in out.splitlines()
                       if line.startswith("cpu "))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return cpu - sum(READY_CPU.pop(proc.pid, 0.0) for proc in procs)


def remaining(url: str, engine: str, schema: str) -> int:
    if engine == "procrastinate":
        query = "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
    else:
        query = "SELECT count(*) FROM pgqueuer"
    return sql(url, schema, query)[0][0]


def drain(args: argparse.Namespace, engine: str, workers: int, n: int,
          locks: int | None = None) -> tuple[float, float]:
    """Seconds from the enqueue of ``n`` no-op jobs to the last completion, and the workers'
    CPU seconds (start-up excluded)."""
    with fresh_schema(args.db) as schema:
        asyncio.run((pc_setup if engine == "procrastinate" else pq_setup)(args.db, schema))
        procs = start_workers(args, engine, schema, workers)
        try:
            # Workers are registered, ready and waiting; give each time to start listening.
            time.sleep(1.0)
            start = time.perf_counter()
            if engine == "procrastinate":
                async def enqueue() -> None:
                    app = make_app(args.db, schema)
                    async with app.open_async():
                        await app.job_manager.batch_defer_jobs_async(pc_jobs(n, locks))
                        await app.connector.execute_query_async("ANALYZE procrastinate_jobs")
                asyncio.run(enqueue())
            else:
                asyncio.run(pq_enqueue(args.db, schema, n))
            deadline = start + 600
            while remaining(args.db, engine, schema) and time.perf_counter() < deadline:
                time.sleep(0.02)
            wall = time.perf_counter() - start
        finally:
            cpu = stop(procs)
        return wall, cpu


def kill_retry(args: argparse.Namespace, engine: str, settings: dict[str, float]) -> float:
    """Seconds from SIGKILL of the worker holding a job to another worker starting it."""
    extra = [f"--{k}={v}" for k, v in settings.items()]
    with fresh_schema(args.db) as schema:
        asyncio.run((pc_setup if engine == "procrastinate" else pq_setup)(args.db, schema))
        victim = start_workers(args, engine, schema, 1, "--hold=3600", *extra)
        other: list[subprocess.Popen[str]] = []
        try:
            if engine == "procrastinate":
                async def one() -> None:
                    app = make_app(args.db, schema)
                    async with app.open_async():
                        await app.job_manager.batch_defer_jobs_async(pc_jobs(1, None))
                asyncio.run(one())
                running = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
                restarted = ("SELECT count(*) FROM procrastinate_events WHERE type = 'started'")
            else:
                asyncio.run(pq_enqueue(args.db, schema, 1))
                running = "SELECT count(*) FROM pgqueuer WHERE status = 'picked'"
                restarted = ("SELECT count(*) FROM pgqueuer_log WHERE status = 'picked'")
            while not sql(args.db, schema, running)[0][0]:
                time.sleep(0.02)
            other = start_workers(args, engine, schema, 1, "--hold=3600", *extra)
            picks = sql(args.db, schema, restarted)[0][0]
            victim[0].kill()
            killed = time.perf_counter()
            while sql(args.db, schema, restarted)[0][0] <= picks:
                if time.perf_counter() - killed > 300:
                    return float("inf")
                time.sleep(0.05)
            return time.perf_counter() - killed
        finally:
            stop(victim + other)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker")
    worker.add_argument("engine")
    worker.add_argument("schema")
    worker.add_argument("--hold", type=float, default=0.0)
    worker.add_argument("--heartbeat", type=float, default=1.0)
    worker.add_argument("--stalled", type=float, default=5.0)
    worker.add_argument("--sweep", type=float, default=1.0)
    worker.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--engines", default="procrastinate,pgqueuer")
    parser.add_argument("--enqueue", default="500,5000")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--kill", action="store_true")
    args = parser.parse_args()
    if args.command == "worker":
        if args.engine == "procrastinate":
            asyncio.run(pc_worker(args.db, args.schema, args.hold, args.heartbeat,
                                  args.stalled, args.sweep, args.poll))
        else:
            asyncio.run(pq_worker(args.db, args.schema, args.hold, args.stalled))
        return
    report(args)


def report(args: argparse.Namespace) -> None:
    engines = args.engines.split(",")
    print("| engine | measure | value |\n|---|---|---|")
    for engine in engines:
        for n in map(int, args.enqueue.split(",")):
            with fresh_schema(args.db) as schema:
                if engine == "procrastinate":
                    asyncio.run(pc_setup(args.db, schema))
                    batch = asyncio.run(pc_enqueue(args.db, schema, n))
                    print(f"| {engine} | enqueue {n} (one statement) | {batch:.3f} s |")
                    if n <= 500:
                        single = asyncio.run(pc_enqueue(args.db, schema, n, one_by_one=True))
                        print(f"| {engine} | enqueue {n} (one defer each) | {single:.3f} s |")
                else:
                    asyncio.run(pq_setup(args.db, schema))
                    batch = asyncio.run(pq_enqueue(args.db, schema, n))
                    print(f"| {engine} | enqueue {n} (one statement) | {batch:.3f} s |")
        for workers in map(int, args.workers.split(",")):
            wall, cpu = drain(args, engine, workers, args.jobs)
            print(f"| {engine} | {args.jobs} no-op jobs, {workers} worker(s) x {CONCURRENCY} | "
                  f"{wall:.2f} s, {args.jobs / wall:.0f} jobs/s, worker CPU "
                  f"{1000 * cpu / args.jobs:.1f} ms/job |", flush=True)
        if engine == "procrastinate":
            wall, cpu = drain(args, engine, 4, args.jobs, locks=20)
            print(f"| {engine} | {args.jobs} no-op jobs over 20 locks, 4 workers | "
                  f"{wall:.2f} s, {args.jobs / wall:.0f} jobs/s, worker CPU "
                  f"{1000 * cpu / args.jobs:.1f} ms/job |", flush=True)
        if args.kill:
            for settings in ({"heartbeat": 0.5, "stalled": 2, "sweep": 0.5, "poll": 0.2},
                             {"heartbeat": 5, "stalled": 20, "sweep": 5, "poll": 1}):
                if engine == "pgqueuer":
                    settings = {"stalled": settings["stalled"]}
                took = kill_retry(args, engine, settings)
                print(f"| {engine} | SIGKILLed worker's job restarted ({settings}) | "
                      f"{took:.1f} s |", flush=True)


if __name__ == "__main__":
    main()

"""The queue of distributed runs (monitor.distributed) against a real PostgreSQL: planning,
enqueue all-or-none, per-group locks across workers, a SIGKILLed worker's batch retried, a
stalled worker's batch never run twice at once, SIGTERM finishing or handing back a batch.

The database is ``MONITOR_TEST_DATABASE_URL`` (skipped without it: distributed runs need
PostgreSQL). Each test gets a queue schema of its own (``q_*``, dropped after), so the
``public`` schema that the other tests reset is never touched; worker processes are
``tests/distributed_worker.py`` (a checker that logs batches, no network).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytest.importorskip("procrastinate")

from monitor.distributed import coordinator, jobs
from monitor.distributed.queue import install_schema, make_app, run_progress
from monitor.errors import ConfigError
from monitor.store.db import libpq_conninfo as conninfo
from tests.distributed_worker import TABLES

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MONITOR_TEST_DATABASE_URL", "")
DEADLINE = 90.0


def _why_no_postgres() -> str | None:
    """Why the distributed tests cannot run here, or None when they can."""
    if not PG_URL:
        return "distributed runs need PostgreSQL: set MONITOR_TEST_DATABASE_URL"
    try:
        psycopg.connect(conninfo(PG_URL), connect_timeout=3).close()
    except (psycopg.Error, ConfigError) as err:
        return f"no PostgreSQL at MONITOR_TEST_DATABASE_URL: {err}"
    return None


NO_POSTGRES = _why_no_postgres()
needs_pg = pytest.mark.skipif(NO_POSTGRES is not None, reason=NO_POSTGRES or "")


async def poll(check: Callable[[], Awaitable[Any]], what: str,
               deadline: float = DEADLINE) -> Any:
    """Await ``check()`` until it returns something truthy, or fail after ``deadline``."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if found := await check():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Queue:
    """One test's queue schema: an open app, SQL on the schema, worker processes."""

    def __init__(self, schema: str, app: Any) -> None:
        self.schema, self.app = schema, app
        self.workers: list[subprocess.Popen[bytes]] = []

    async def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        async with await psycopg.AsyncConnection.connect(
                conninfo(PG_URL), options=f"-c search_path={self.schema}") as conn:
            cur = await conn.execute(sql, params or None)
            return await cur.fetchall() if cur.description else []

    def worker(self, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "tests.distributed_worker", PG_URL,
                                 self.schema, *args], cwd=ROOT, stderr=subprocess.DEVNULL)
        self.workers.append(proc)
        return proc

    async def job(self) -> tuple[str, int]:
        [(status, attempts)] = await self.rows("SELECT status::text, attempts FROM "
                                               "procrastinate_jobs")
        return status, attempts


@pytest.fixture
async def queue() -> AsyncIterator[Queue]:
    schema = f"q_{uuid.uuid4().hex[:12]}"
    assert await install_schema(PG_URL, schema) == "installed"
    app = make_app(PG_URL, schema)
    async with app.open_async():
        q = Queue(schema, app)
        await q.rows(TABLES)
        try:
            yield q
        finally:
            for proc in q.workers:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(timeout=30)
    with psycopg.connect(conninfo(PG_URL), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def _at_least(queue: Queue, sql: str, count: int) -> bool:
    return (await queue.rows(sql))[0][0] >= count


def batch(run_id: int, group: str, ids: range, index: int = 0) -> jobs.HostBatch:
    return jobs.HostBatch(run_id, group, tuple(ids), index)


# ---------------------------------------------------------------- pure parts


def test_plan_batches_splits_big_hosts_and_packs_small_ones_whole() -> None:
    targets = [(1, "https://A.example/1"), (2, "https://b.example/x"), (3, "https://a.example/2"),
               (4, "https://a.example/3"), (5, "http://c.example:8080/"), (6, "https://b.example/y"),
               (7, "https://d.example/")]
    planned = jobs.plan_batches(7, targets, batch_size=2)
    assert [(b.group, b.resource_ids, b.index) for b in planned] == [
        ("a.example", (1, 3), 0), ("a.example", (4,), 1),  # split: locked by host
        (None, (2, 6), 0), (None, (5, 7), 0)]  # whole hosts packed, b never split
    assert jobs.lock_for("a.example") == "group:a.example" and jobs.lock_for(None) is None


def test_a_probing_site_is_one_group_whatever_the_host_of_its_urls() -> None:
    """youtu.be and www.youtube.com links both ask www.youtube.com's oEmbed: one lock."""
    targets = [(1, "https://youtu.be/abc"), (2, "https://www.youtube.com/watch?v=x"),
               (3, "https://youtube.com/playlist?list=y"), (4, "https://arxiv.org/abs/2401.1"),
               (5, "https://export.arxiv.org/abs/2401.2"), (6, "https://github.com/a/b"),
               (7, "https://huggingface.co/x")]  # markers only, no probe: its host
    groups = {rid: jobs.group_of(url) for rid, url in targets}
    assert groups == {1: "site:youtube", 2: "site:youtube", 3: "site:youtube",
                      4: "site:arxiv", 5: "site:arxiv", 6: "site:github", 7: "huggingface.co"}
    planned = jobs.plan_batches(1, targets, batch_size=2)
    assert [(b.group, b.resource_ids) for b in planned[:2]] == [
        ("site:youtube", (1, 2)), ("site:youtube", (3,))]


def test_sqlite_is_refused() -> None:
    with pytest.raises(ConfigError, match="PostgreSQL"):
        conninfo("sqlite:///monitor.db")


# ---------------------------------------------------------------- schema, enqueue, resume


@needs_pg
async def test_schema_lives_in_its_own_schema_and_installs_once(queue: Queue) -> None:
    assert await install_schema(PG_URL, queue.schema) == "current"
    tables = await queue.rows(
        "SELECT table_schema FROM information_schema.tables "
        "WHERE table_name = 'procrastinate_jobs' AND table_schema = %s", queue.schema)
    assert tables == [(queue.schema,)]


@needs_pg
async def test_enqueue_is_all_or_none_and_a_restarted_coordinator_finds_its_run(
        queue: Queue) -> None:
    planned = [batch(5, f"h{i}.example", range(i * 10, i * 10 + 10)) for i in range(50)]
    queued, progress = await coordinator.start_or_resume(queue.app, 5, lambda: planned)
    assert queued and progress.counts == {"todo": 50}
    again, progress = await coordinator.start_or_resume(
        queue.app, 5, lambda: pytest.fail("batches queued twice"))
    assert not again and progress.total == 50
    assert (await run_progress(queue.app, 6)).total == 0  # another run: nothing
    assert await coordinator.cancel_run(queue.app, 5) == 50
    assert len(await coordinator.unfinished_resources(queue.app, 5)) == 500
    assert await coordinator.queued_runs(queue.app, [7, 6, 5]) == [5]
    await coordinator.start_or_resume(queue.app, 6, lambda: [batch(6, "h.example", range(3))])
    assert await coordinator.purge_runs(queue.app, keep=[6]) == 50  # run 5 ended: its jobs go
    assert await coordinator.queued_runs(queue.app, [6, 5]) == [6]


# ---------------------------------------------------------------- workers


@needs_pg
async def test_two_workers_never_run_two_batches_of_one_host_at_once(queue: Queue) -> None:
    planned = jobs.plan_batches(1, [(i, f"https://big{i % 3}.example/{i}") for i in range(60)]
                                + [(100 + i, f"https://small{i}.example/") for i in range(8)],
                                batch_size=4)
    assert sum(b.group is None for b in planned) == 2
    for _ in range(2):
        queue.worker("--hold", "0.15", "--concurrency", "4")
    # Both workers up before the jobs (on a loaded machine the first could take them all).
    await poll(lambda: _at_least(queue, "SELECT count(*) FROM procrastinate_workers", 2),
               "both workers to start")
    await jobs.enqueue(queue.app, planned)
    done = await coordinator.wait_for_run(queue.app, 1, poll_seconds=0.1, timeout=DEADLINE)
    assert done.counts == {"succeeded": len(planned)}
    log = await queue.rows("SELECT coalesce(grp, 'mixed' || id), idx, pid, started, ended "
                           "FROM batch_log ORDER BY 1, started")
    assert len(log) == len(planned)
    for before, after in zip(log, log[1:], strict=False):
        if before[0] == after[0]:  # one host: each batch starts after the previous ended
            assert after[3] >= before[4], f"{before[0]} batches overlap"
            assert after[1] == before[1] + 1  # and in queue order
    assert len({row[2] for row in log}) == 2  # both workers took batches
    overlapping_hosts = sum(1 for a in log for b in log if a[0] != b[0]
                            and a[3] < b[4] and b[3] < a[4])
    assert overlapping_hosts  # hosts did run in parallel: the test could have seen overlap
    assert len(await queue.rows("SELECT 1 FROM results")) == 68


@needs_pg
async def test_a_sigkilled_workers_batch_is_retried_by_another_and_written_once(
        queue: Queue) -> None:
    await jobs.enqueue(queue.app, [batch(2, "slow.example", range(10))])
    first = queue.worker("--block-first")
    await poll(lambda: queue.rows("SELECT 1 FROM batch_log WHERE blocked"), "the first try")
    first.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    first.wait(timeout=10)
    second = queue.worker("--block-first")
    done = await coordinator.wait_for_run(queue.app, 2, poll_seconds=0.1, timeout=DEADLINE)
    retried_after = time.monotonic() - killed_at
    assert done.counts == {"succeeded": 1}
    assert await queue.job() == ("succeeded", 2)  # attempts: tries made
    results = await queue.rows("SELECT resource_id, pid FROM results ORDER BY resource_id")
    assert [r[0] for r in results] == list(range(10))  # each resource once
    assert {r[1] for r in results[:5]} == {first.pid}  # the first try's rows stand
    assert {r[1] for r in results[5:]} == {second.pid}
    assert retried_after < 15, retried_after  # stalled after 2 s, swept every 0.5 s


@needs_pg
async def test_a_batch_swept_from_a_stalled_but_alive_worker_never_runs_twice_at_once(
        queue: Queue) -> None:
    await jobs.enqueue(queue.app, [batch(9, "slow.example", range(10))])
    stalled = queue.worker("--stall", "8", "--hold", "0.5")
    await poll(lambda: queue.rows("SELECT 1 FROM results"), "the first result")
    other = queue.worker("--hold", "0.5")  # sweeps it after 2 s, claims it, must wait
    await poll(lambda: queue.rows("SELECT 1 FROM batch_log WHERE attempt = 1 AND ended "
                                  "IS NOT NULL"), "the retry to end")
    assert (await queue.job())[0] == "succeeded"
    log = await queue.rows("SELECT pid, attempt, started, ended FROM batch_log ORDER BY started")
    # The retry is claimed by the other worker, or by the stalled one itself once its loop
    # resumes (then the fence's own bookkeeping makes it wait): either way, after the first.
    assert [(pid, attempt) for pid, attempt, _, _ in log][0] == (stalled.pid, 0)
    assert [attempt for _, attempt, _, _ in log] == [0, 1] and log[1][0] in (stalled.pid,
                                                                             other.pid)
    assert log[1][2] >= log[0][3]  # the retry started after the first try ended
    results = await queue.rows("SELECT pid FROM results")
    assert len(results) == 10 and {r[0] for r in results} == {stalled.pid}


@needs_pg
async def test_sigterm_hands_back_a_batch_that_does_not_finish_in_time(queue: Queue) -> None:
    await jobs.enqueue(queue.app, [batch(3, "slow.example", range(10))])
    first = queue.worker("--block-first", "--graceful", "0.5")
    await poll(lambda: queue.rows("SELECT 1 FROM batch_log WHERE blocked"), "the first try")
    first.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(first.wait, 30) == 0
    assert await queue.job() == ("todo", 1)  # handed back at once, lock released
    queue.worker()
    done = await coordinator.wait_for_run(queue.app, 3, poll_seconds=0.1, timeout=DEADLINE)
    assert done.counts == {"succeeded": 1}
    assert len(await queue.rows("SELECT 1 FROM results")) == 10


@needs_pg
async def test_sigterm_lets_a_running_batch_finish(queue: Queue) -> None:
    await jobs.enqueue(queue.app, [batch(4, "ok.example", range(10))])
    worker = queue.worker("--hold", "1.0", "--graceful", "20")
    await poll(lambda: queue.rows("SELECT 1 FROM batch_log"), "the batch to start")
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait, 30) == 0
    assert await queue.job() == ("succeeded", 1)
    assert len(await queue.rows("SELECT 1 FROM batch_log WHERE ended IS NOT NULL")) == 1


@needs_pg
async def test_batches_that_fail_for_good_leave_their_resources_unchecked(
        queue: Queue) -> None:
    await jobs.enqueue(queue.app, [batch(8, "a.example", range(3)),
                                   batch(8, "b.example", range(3, 5))])
    await queue.rows("UPDATE procrastinate_jobs SET status = 'failed' "
                     "WHERE args->>'group' = 'b.example'")
    await queue.rows("UPDATE procrastinate_jobs SET status = 'succeeded' "
                     "WHERE args->>'group' = 'a.example'")
    done = await coordinator.wait_for_run(queue.app, 8, timeout=5)
    assert done.done and done.counts == {"failed": 1, "succeeded": 1}
    assert await coordinator.unfinished_resources(queue.app, 8) == [3, 4]

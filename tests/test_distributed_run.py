"""Distributed runs end to end (SPEC §14, issue 17): ``monitor check --distributed`` and three
``monitor worker`` processes against the simulated web and a real PostgreSQL.

- one worker is SIGKILLed while it runs a batch of a big host: every URL gets exactly one
  result in the run, no host of the simulated web ever sees more than ``per_host`` requests at
  once (it counts them), and the states equal those of a local run of the same web;
- the coordinator is SIGKILLed while it waits and started again: it finds its run and waits
  again; a batch that failed for good leaves its resources "not checked" (states unchanged);
- SIGTERM on the coordinator cancels the batches not started and marks the run aborted.

The database is ``MONITOR_TEST_DATABASE_URL`` (skipped without it); its ``public`` schema is
emptied (as ``tests/dbutil.py`` does for every test) and the queue's schema dropped first.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from monitor.distributed.queue import QUEUE_SCHEMA
from monitor.store.db import libpq_conninfo
from tests.cli_helpers import monitor, status_json, write_catalog, write_config
from tests.dbutil import _reset_postgres
from tests.service_helpers import child_env, output, wait_for
from tests.simweb import SimWeb, redirect, set_cookie_then_redirect_to_self, static
from tests.sitefakes import FakeArxivIds, FakeWayback
from tests.test_distributed import PG_URL, needs_pg

PER_HOST = 2
BATCH = 10  # distributed.batch_size: the big hosts are split into locked batches
TOTAL = 3 * 25 + 12 * 2 + 2 + 3  # the URLs of build_web
DEADLINE = 120.0
CLI = [sys.executable, "-c", "from monitor.cli import main; main()"]


class PerHost:
    """Wraps handlers so that the simulated web counts requests in flight per host; each
    request is held ``delay`` seconds (the servers' loop is one thread: no lock needed)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.current: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    def wrap(self, handler: Any) -> Any:
        import asyncio

        async def counted(request: Any) -> Any:
            host = (request.url.raw_host or "").lower()
            self.current[host] = self.current.get(host, 0) + 1
            self.peak[host] = max(self.peak.get(host, 0), self.current[host])
            try:
                await asyncio.sleep(self.delay)
                return await handler(request)
            finally:
                self.current[host] -= 1
        return counted


def page(text: str) -> bytes:
    return f"<html><head><title>{text}</title></head><body><p>{text} words</p></body></html>"\
        .encode()


def build_web(web: SimWeb, counts: PerHost) -> list[str]:
    """Three big hosts (25 pages each: three locked batches), twelve small ones (a page, a
    404; one has a 301 -> 302 chain, moved to the 301's target; one a cookie redirect to
    itself), three arXiv papers (one unknown) through the batched API, the Wayback Machine."""
    urls = []
    for b in range(3):
        host = f"big{b}.example"
        for p in range(25):
            web.route(host, f"/p{p}", counts.wrap(static(body=page(f"big {b} page {p}"))))
            urls.append(web.url(host, f"/p{p}"))
    for s in range(12):
        host = f"small{s}.example"
        web.route(host, "/", counts.wrap(static(body=page(f"small {s}"))))
        web.route(host, "/gone", counts.wrap(static(404, b"gone")))
        urls += [web.url(host, "/"), web.url(host, "/gone")]
    web.route("small0.example", "/old", counts.wrap(redirect("/mid", 301)))
    web.route("small0.example", "/mid", counts.wrap(redirect("/new", 302)))
    web.route("small0.example", "/new", counts.wrap(static(body=page("small 0, new"))))
    web.route("small1.example", "/cookie", counts.wrap(set_cookie_then_redirect_to_self(
        body=page("welcome"))))
    urls += [web.url("small0.example", "/old"), web.url("small1.example", "/cookie")]
    urls += ["https://arxiv.org/abs/2104.12255", "https://arxiv.org/abs/1706.03762",
             "https://arxiv.org/abs/0000.00000"]
    web.route("archive.org", "/wayback/available", FakeWayback())
    return urls


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The PostgreSQL test database, emptied: ``public`` and the queue's schema."""
    _reset_postgres(PG_URL)
    _queue_sql(f'DROP SCHEMA IF EXISTS "{QUEUE_SCHEMA}" CASCADE', schema=None)
    yield PG_URL


@pytest.fixture
def setup(simweb: SimWeb, tmp_path: Path) -> tuple[Path, Path, PerHost, FakeArxivIds]:
    """``(config, catalog, counts, arxiv)`` for a run of :func:`build_web`."""
    counts = PerHost(delay=0.3)  # a big host's batch of 10 takes 1.5 s: killed mid-batch
    urls = build_web(simweb, counts)
    arxiv = FakeArxivIds({"2104.12255": (2, "Zero", None), "1706.03762": (5, "Attention", None)})
    simweb.route("127.0.0.1", "/api/query", arxiv)
    config = write_config(
        tmp_path / "monitor.toml", simweb, http={"per_host": PER_HOST},
        arxiv={"api_url": f"http://127.0.0.1:{simweb.http_port}/api/query",
               "delay_seconds": 0.0},
        distributed={"batch_size": BATCH})
    return config, write_catalog(tmp_path / "catalog.csv", urls), counts, arxiv


def _queue_sql(sql: str, *params: Any, schema: str | None = QUEUE_SCHEMA) -> list[tuple[Any, ...]]:
    options = {"options": f"-c search_path={schema}"} if schema else {}
    with psycopg.connect(libpq_conninfo(PG_URL), autocommit=True, **options) as conn:
        cur = conn.execute(sql, params or None)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def _spawn(tmp_path: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    out = (tmp_path / f"{name}.out").open("wb")
    err = (tmp_path / f"{name}.err").open("wb")
    return subprocess.Popen([*CLI, "--db", PG_URL, *args], stdout=out, stderr=err,
                            env=child_env(), cwd=tmp_path)


def coordinator(tmp_path: Path, config: Path, catalog: Path, name: str = "coordinator"
                ) -> subprocess.Popen[bytes]:
    return _spawn(tmp_path, name, "--config", str(config), "check", "--distributed",
                  "--catalog", str(catalog))


def worker(tmp_path: Path, config: Path, name: str) -> subprocess.Popen[bytes]:
    return _spawn(tmp_path, name, "--config", str(config), "worker", "--concurrency", "4",
                  "--heartbeat", "0.5", "--stalled-after", "2")


def finished(proc: subprocess.Popen[bytes], timeout: float = DEADLINE) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _jobs_queued() -> bool:
    try:
        return bool(_queue_sql("SELECT 1 FROM procrastinate_jobs LIMIT 1"))
    except psycopg.Error:  # the schema is not installed yet
        return False


def big_batch_holder() -> int | None:
    """The pid of a worker process running a batch of a big host now, if any (the batch's
    job fence: an advisory lock in the worker's session, named by its pid)."""
    if not _jobs_queued():
        return None
    rows = _queue_sql(
        "SELECT a.application_name FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid "
        "JOIN procrastinate_jobs j ON j.id = l.objid::bigint "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 7310018 "
        "AND j.args->>'group' LIKE 'big%%'")
    return int(str(rows[0][0]).rpartition(":")[2]) if rows else None


def results(run_id: int) -> list[tuple[int, str]]:
    """``(resource_id, url)`` of run ``run_id``'s results, one row per stored result."""
    with psycopg.connect(libpq_conninfo(PG_URL)) as conn:
        return conn.execute("SELECT resource_id, url FROM check_results WHERE run_id = %s",
                            (run_id,)).fetchall()


def runs() -> list[dict[str, Any]]:
    return json.loads(monitor(PG_URL, None, "runs", "--json").output)


def comparable(rows: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {url: (r["state"], r["http_status"], r["error"], r["final_url"], r["similarity"])
            for url, r in rows.items()}


@needs_pg
def test_three_workers_one_killed_check_every_url_once_within_per_host(
        pg_url: str, simweb: SimWeb, setup: tuple[Path, Path, PerHost, FakeArxivIds],
        tmp_path: Path) -> None:
    config, catalog, counts, arxiv = setup
    boss = coordinator(tmp_path, config, catalog)
    workers = [worker(tmp_path, config, f"worker{n}") for n in range(3)]
    try:
        busy = wait_for(big_batch_holder, DEADLINE, what="a worker running a big host's batch")
        victim = next(w for w in workers if w.pid == busy)
        victim.send_signal(signal.SIGKILL)
        assert finished(boss) == 0, output(tmp_path, "coordinator")
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [finished(proc, 60) for proc in workers]
    assert sorted(codes) == [-signal.SIGKILL, 0, 0], [output(tmp_path, f"worker{n}")
                                                      for n in range(3)]
    [run] = runs()
    assert run["status"] == "complete" and run["checked"] == TOTAL
    stored = results(run["id"])
    assert len(stored) == len({rid for rid, _ in stored}) == TOTAL  # every URL once
    retried = _queue_sql("SELECT count(*) FROM procrastinate_jobs WHERE attempts > 1")[0][0]
    assert retried >= 1  # the killed worker's batch was taken over
    assert max(counts.peak.values()) == PER_HOST, counts.peak  # the limit was reached ...
    assert all(peak <= PER_HOST for peak in counts.peak.values()), counts.peak  # ... never more
    assert len(arxiv.queries) == 1 and len(arxiv.queries[0]) == 3  # one batched query
    distributed = status_json(PG_URL, config)
    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    assert monitor(local_db, config, "check", "--catalog", str(catalog)).exit_code == 0
    assert comparable(distributed) == comparable(status_json(local_db, config))
    states = {r["state"] for r in distributed.values()}
    assert states == {"ok", "moved", "failing"}, states


@needs_pg
def test_a_restarted_coordinator_waits_again_and_a_failed_batch_is_not_checked(
        pg_url: str, simweb: SimWeb, setup: tuple[Path, Path, PerHost, FakeArxivIds],
        tmp_path: Path) -> None:
    config, catalog, _, _ = setup
    first = coordinator(tmp_path, config, catalog, "first")
    wait_for(_jobs_queued, DEADLINE, what="the batches in the queue")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    [(job, ids)] = _queue_sql("SELECT id, args->'resource_ids' FROM procrastinate_jobs "
                              "WHERE args->>'group' = 'big1.example' AND "
                              "(args->>'index')::int = 0")
    _queue_sql("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", job)
    workers = [worker(tmp_path, config, "worker")]
    try:
        second = coordinator(tmp_path, config, catalog, "second")
        assert finished(second) == 0, output(tmp_path, "second")
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
            finished(proc, 60)
    out, _ = output(tmp_path, "second")
    [run] = runs()  # the same run, resumed: not a second one
    assert f"run {run['id']}: resuming" in out and run["status"] == "complete"
    assert run["checked"] == TOTAL - BATCH
    assert f"{BATCH} resources not checked in this run" in run["note"]
    rows = status_json(PG_URL, config)
    unchecked = {url for url, r in rows.items() if r["last_checked_at"] is None}
    assert unchecked == {f"https://big1.example/p{p}" for p in range(BATCH)}
    assert {rows[u]["state"] for u in unchecked} == {"unknown"}  # never a failure
    assert len(ids) == BATCH


@needs_pg
def test_sigterm_on_the_coordinator_cancels_queued_batches_and_aborts_the_run(
        pg_url: str, simweb: SimWeb, setup: tuple[Path, Path, PerHost, FakeArxivIds],
        tmp_path: Path) -> None:
    config, catalog, _, _ = setup
    boss = coordinator(tmp_path, config, catalog)
    wait_for(_jobs_queued, DEADLINE, what="the batches in the queue")
    boss.send_signal(signal.SIGTERM)
    assert finished(boss) == 143, output(tmp_path, "coordinator")
    [run] = runs()
    assert run["status"] == "aborted" and run["checked"] == 0
    assert {s for (s,) in _queue_sql("SELECT DISTINCT status::text FROM procrastinate_jobs")
            } == {"cancelled"}
    assert {r["state"] for r in status_json(PG_URL, config).values()} == {"unknown"}


def test_distributed_needs_postgresql_exit_3(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    catalog = write_catalog(tmp_path / "catalog.csv", ["https://a.example/"])
    for args in (["check", "--distributed", "--catalog", str(catalog)], ["worker"]):
        result = monitor(url, None, *args)
        assert result.exit_code == 3 and "need PostgreSQL" in result.output, result.output
    assert not sqlite3.connect(tmp_path / "m.db").execute("SELECT * FROM runs").fetchall()
    for limit in ("--per-host", "--concurrency"):  # the workers' own settings apply
        result = monitor(url, None, "run", "--distributed", limit, "2")
        assert result.exit_code == 3 and "do not apply to --distributed" in result.output

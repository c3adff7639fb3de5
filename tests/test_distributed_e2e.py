"""End to end: three ``python -m monitor.distributed worker`` processes check a run of the
simulated web through the real pipeline; one is SIGKILLed mid-run. Every resource gets exactly
one result, no host ever sees more than ``per_host`` requests at once (the simulated web
counts them), and the outcomes equal those of a local crawl of the same web.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytest.importorskip("procrastinate")
from sqlalchemy import func, select

from monitor import pipeline
from monitor.catalog import CatalogRow
from monitor.distributed import coordinator, jobs
from monitor.distributed.checker import OnceSink
from monitor.distributed.queue import conninfo, install_schema, make_app
from monitor.distributed.results import ensure_unique_index
from monitor.distributed.worker import running_batches
from monitor.store import queries
from monitor.store.db import Database, open_database
from monitor.store.models import CheckResult
from monitor.urls import canonical_url
from tests.simweb import InFlight, SimWeb, redirect
from tests.test_distributed import DEADLINE, PG_URL, needs_pg, poll

PER_HOST = 2  # the default http.per_host


@pytest.fixture
def store() -> Iterator[tuple[Database, str, str]]:
    """A migrated store and a queue, each in a PostgreSQL schema of its own:
    ``(db, store_url, queue_schema)``."""
    tag = uuid.uuid4().hex[:10]
    schema, queue = f"s_{tag}", f"q_{tag}"
    with psycopg.connect(conninfo(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    db = open_database(url)
    ensure_unique_index(db)
    asyncio.run(install_schema(PG_URL, queue))
    try:
        yield db, url, queue
    finally:
        db.dispose()
        with psycopg.connect(conninfo(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            conn.execute(f'DROP SCHEMA "{queue}" CASCADE')


def build_web(simweb: SimWeb) -> tuple[list[str], dict[str, InFlight]]:
    """Three big hosts (30 pages each, counted), twelve small ones (some 404, a redirect)."""
    urls, counters = [], {}
    for b in range(3):
        host = f"big{b}.example"
        counters[host] = InFlight(delay=0.3, body=b"<html><body><p>big page</p></body></html>")
        for p in range(30):
            simweb.route(host, f"/p{p}", counters[host])
            urls.append(simweb.url(host, f"/p{p}"))
    for s in range(12):
        host = f"small{s}.example"
        simweb.route(host, "/", body=f"<html><body><p>small {s}</p></body></html>")
        urls.append(simweb.url(host, "/"))
        urls.append(simweb.url(host, "/gone"))  # 404
    simweb.route("small0.example", "/old", redirect("https://small1.example/", status=301))
    urls.append(simweb.url("small0.example", "/old"))
    return urls, counters


async def big_batch_holder(app: Any) -> int | None:
    """The pid of a worker process running a batch of a big host now, if any."""
    for row in await running_batches(app):
        if row["args"]["host"]:
            return int(str(row["worker"]).rpartition(":")[2])
    return None


def outcomes(db: Database, run_id: int) -> dict[int, tuple[str, int | None, str | None]]:
    with db.session() as s:
        rows = s.execute(select(CheckResult.resource_id, CheckResult.outcome,
                                CheckResult.http_status, CheckResult.error)
                         .where(CheckResult.run_id == run_id)).all()
    return {rid: (outcome, status, error) for rid, outcome, status, error in rows}


def result_count(db: Database, run_id: int) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(CheckResult)
                        .where(CheckResult.run_id == run_id)) or 0


@needs_pg
async def test_three_workers_one_killed_check_every_url_once_within_per_host(
        simweb: SimWeb, store: tuple[Database, str, str], tmp_path: Path) -> None:
    db, url, queue = store
    urls, counters = build_web(simweb)
    queries.sync_catalog(db, [CatalogRow(url=u, canonical_url=canonical_url(u)) for u in urls])
    targets = queries.active_targets(db)
    run_id = queries.start_run(db, "check")
    app = make_app(PG_URL, queue)
    args = [arg for rule in simweb.connect_to() for arg in ("--connect-to", rule)]
    workers = [subprocess.Popen(
        [sys.executable, "-m", "monitor.distributed", "worker", "--db", url, "--queue-schema",
         queue, "--concurrency", "4", "--heartbeat", "0.5", "--stalled", "2", "--ca-bundle",
         simweb.ca_path, *args], cwd=tmp_path, stderr=subprocess.DEVNULL) for _ in range(3)]
    try:
        async with app.open_async():
            batches = jobs.plan_batches(run_id, [(t.resource_id, t.url) for t in targets],
                                        batch_size=10)
            await coordinator.start_or_resume(app, run_id, lambda: batches)
            await poll(lambda: asyncio.to_thread(lambda: result_count(db, run_id) >= 10),
                       "the first results")
            busy = await poll(lambda: big_batch_holder(app), "a worker running a big batch")
            victim = next(p for p in workers if p.pid == busy)
            victim.send_signal(signal.SIGKILL)
            done = await coordinator.wait_for_run(app, run_id, poll_seconds=0.1,
                                                  timeout=DEADLINE)
            retried = await app.connector.execute_query_one_async(
                "SELECT count(*) AS n FROM procrastinate_jobs WHERE attempts > 1")
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(timeout=60)
    assert done.counts == {"succeeded": len(batches)}
    assert retried["n"] >= 1  # the killed worker's batches were taken over
    distributed = outcomes(db, run_id)
    assert sorted(distributed) == sorted(t.resource_id for t in targets)  # each once
    assert all(c.peak <= PER_HOST for c in counters.values()), {
        h: c.peak for h, c in counters.items()}
    assert max(c.peak for c in counters.values()) == PER_HOST  # the limit was reached
    local_run = queries.start_run(db, "check")
    sink = OnceSink(db)
    await pipeline.crawl(targets, simweb.fetch_options(), local_run, sink)
    assert outcomes(db, local_run) == distributed
    assert {o for o, _, _ in distributed.values()} == {"ok", "failing"}

"""Crash safety: ``monitor check`` killed with SIGKILL at random moments of a 2,000-URL run.

After every kill the database must pass an integrity check (SQLite ``PRAGMA integrity_check``
and ``foreign_key_check``; on PostgreSQL, the same relations checked by queries) and hold no
half-written run; the results committed before the kill stay; the next start marks the killed
run ``aborted`` and a run after the kills completes. The random moments come from
``MONITOR_CRASH_SEED`` (default below), printed in every failure message.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.cli_helpers import write_catalog, write_config
from tests.dbutil import db_url  # noqa: F401
from tests.simweb import SimWeb

URLS, HOSTS, KILLS = 2000, 20, 10
SEED = int(os.environ.get("MONITOR_CRASH_SEED", "20261130"))
RUN_LIMIT = 60.0  # seconds for one complete run; the test fails rather than hang
BODY = ("<html><head><title>Page {n}</title></head><body><nav>Home</nav><main><p>"
        + "Plain words about the page and its subject. " * 40 + "</p></main></body></html>")


async def quick_page(request: web.Request) -> web.StreamResponse:
    """A small page after 1-5 ms, like a fast server."""
    await asyncio.sleep(random.uniform(0.001, 0.005))
    return web.Response(text=BODY.format(n=request.path), content_type="text/html")


@dataclass
class Killed:
    """What one SIGKILL left: the run it interrupted and the results committed by then."""

    moment: str
    run_id: int | None
    status: str | None
    results: int  # of the interrupted run, right after the kill
    seen_before: int  # of all runs, at the last look before the kill
    total_after: int  # of all runs, right after the kill


def setup_web(web_: SimWeb, tmp_path: Path) -> tuple[Path, Path]:
    urls = []
    for n in range(URLS):
        host, path = f"crash{n % HOSTS}.test", f"/p{n}"
        web_.route(host, path, quick_page)
        urls.append(web_.url(host, path, https=False))
    catalog = write_catalog(tmp_path / "catalog.csv", urls)
    config = write_config(tmp_path / "monitor.toml", web_, catalog={"path": str(catalog)},
                          http={"concurrency": 32, "per_host": 4, "retries": 0})
    return catalog, config


def start_check(url: str, config: Path, cwd: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "monitor", "--db", url, "--config", str(config), "check"]
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def results_of(engine: Engine, run_id: int | None = None) -> int:
    """Committed check results (of one run, or of all); 0 before the tables exist."""
    try:
        with engine.connect() as conn:
            if run_id is None:
                return int(conn.execute(text("SELECT count(*) FROM check_results")).scalar_one())
            return int(conn.execute(text("SELECT count(*) FROM check_results WHERE run_id = :r"),
                                    {"r": run_id}).scalar_one())
    except Exception:  # noqa: BLE001 - tables not created yet (killed during migrations)
        return 0


def last_run(engine: Engine) -> tuple[int | None, str | None]:
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT id, status FROM runs ORDER BY id DESC")).first()
    except Exception:  # noqa: BLE001 - tables not created yet
        return None, None
    return (row[0], row[1]) if row else (None, None)


def run_to_end(url: str, config: Path, cwd: Path) -> None:
    proc = start_check(url, config, cwd)
    try:
        _, err = proc.communicate(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"a complete run took more than {RUN_LIMIT} s")
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]


def kill_at_random(url: str, config: Path, cwd: Path, engine: Engine,
                   rng: random.Random) -> Killed:
    """Start a check and SIGKILL it: early (imports, migrations, catalog sync), after a
    log-uniform random number of results of its run (1 to all: most kills land in the first
    batches, where a flush is most likely in flight), or once all results are in (while the
    states are applied)."""
    before, _ = last_run(engine)
    roll = rng.random()
    target = 0 if roll < 0.15 else URLS if roll > 0.9 else int(URLS ** rng.random())
    delay = rng.uniform(0.0, 2.0) if target == 0 else rng.uniform(0.0, 0.3)
    moment = f"after {target} results + {delay:.2f} s" if target else f"after {delay:.2f} s"
    proc = start_check(url, config, cwd)
    seen = wait_for_results(engine, proc, before, target)
    stop = time.monotonic() + delay
    while time.monotonic() < stop and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    run_id, status = last_run(engine)
    return Killed(moment, run_id, status, results_of(engine, run_id), seen, results_of(engine))


def wait_for_results(engine: Engine, proc: subprocess.Popen[bytes], before: int | None,
                     target: int) -> int:
    """Poll until the run started after run ``before`` has ``target`` results (or ends)."""
    deadline, seen = time.monotonic() + RUN_LIMIT, 0
    while target and time.monotonic() < deadline and proc.poll() is None:
        run_id, _ = last_run(engine)
        seen = results_of(engine) if run_id is not None and run_id != before else 0
        if seen and results_of(engine, run_id) >= target:
            break
        time.sleep(0.02)
    return seen


def integrity_problems(engine: Engine) -> list[str]:
    """What is wrong with the database after a kill (empty when consistent)."""
    problems = []
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            verdict = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
            problems += [] if verdict == ["ok"] else [f"integrity_check: {verdict}"]
            problems += [f"foreign_key_check: {r}" for r in
                         conn.execute(text("PRAGMA foreign_key_check"))]
        problems += [f"{name}: {n}" for name, sql in CONSISTENCY.items()
                     if (n := conn.execute(text(sql)).scalar_one())]
    return problems


CONSISTENCY = {
    "results without their run": "SELECT count(*) FROM check_results c "
                                 "LEFT JOIN runs r ON r.id = c.run_id WHERE r.id IS NULL",
    "results without their resource": "SELECT count(*) FROM check_results c LEFT JOIN "
                                      "resources s ON s.id = c.resource_id WHERE s.id IS NULL",
    "resources without a state": "SELECT count(*) FROM resources s LEFT JOIN resource_states t "
                                 "ON t.resource_id = s.id WHERE t.resource_id IS NULL",
    "finished runs half-written": "SELECT count(*) FROM runs r WHERE r.status IN "
                                  "('complete', 'degraded') AND (r.finished_at IS NULL OR "
                                  "r.checked <> (SELECT count(*) FROM check_results c "
                                  "WHERE c.run_id = r.id))",
    "events of unfinished runs": "SELECT count(*) FROM events e JOIN runs r ON r.id = e.run_id "
                                 "WHERE r.status NOT IN ('complete', 'degraded')",
    "runs still running": "SELECT count(*) FROM runs WHERE status = 'running'",
}


def test_sigkill_at_random_moments(simweb: SimWeb, tmp_path: Path, db_url: str) -> None:  # noqa: F811
    _, config = setup_web(simweb, tmp_path)
    engine = create_engine(db_url)
    rng = random.Random(SEED)
    killed: list[Killed] = []
    try:
        for _ in range(KILLS):
            killed.append(kill_at_random(db_url, config, tmp_path, engine, rng))
            problems = [p for p in integrity_problems(engine) if not p.startswith("runs still")]
            assert problems == [], f"seed {SEED}, killed {killed[-1]}"
        run_to_end(db_url, config, tmp_path)
        check_after_all(engine, killed)
    finally:
        engine.dispose()


def check_after_all(engine: Engine, killed: list[Killed]) -> None:
    """Every killed run aborted with its results kept; the last run complete; all consistent."""
    context = f"seed {SEED}: {killed}"
    assert integrity_problems(engine) == [], context
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM runs")).all())
        last_id = max(statuses)
        last_results = results_of(engine, last_id)
    assert statuses[last_id] == "complete" and last_results == URLS, context
    interrupted = [k for k in killed if k.status == "running"]
    assert len(interrupted) >= KILLS // 2, f"too few kills landed in a run: {context}"
    for k in interrupted:
        assert statuses[k.run_id] == "aborted", context
        assert k.seen_before <= k.total_after, context
        assert results_of(engine, k.run_id) == k.results, context

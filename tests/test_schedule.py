"""The scheduler (fast triggers, no sleeping), the run lock across processes, SIGTERM mid-run."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.pipeline.schedule import (
    JOB_ID,
    MISFIRE_GRACE_SECONDS,
    ChildRun,
    NightlySchedule,
    cron_trigger,
    job_command,
)
from monitor.store.db import Database
from monitor.store.models import CheckResult, Lock, ResourceState, Run
from tests.cli_helpers import monitor, write_catalog, write_config
from tests.dbutil import db, db_url  # noqa: F401
from tests.service_helpers import LAUNCHER, output, spawn, stop, wait_for
from tests.simweb import SimWeb, slow

MONITOR = [sys.executable, "-m", "monitor"]
FAST = IntervalTrigger(seconds=0.05, timezone=UTC)
EMPTY_FEED = ('<?xml version="1.0" encoding="UTF-8"?>'
              '<feed xmlns="http://www.w3.org/2005/Atom"><title>empty</title></feed>')


class Calls:
    """A fake job: counts calls, optionally blocks until released."""

    def __init__(self, block: bool = False) -> None:
        self.count = self.running = self.peak = 0
        self.release = asyncio.Event()
        if not block:
            self.release.set()

    async def __call__(self) -> None:
        self.count += 1
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await self.release.wait()
        finally:
            self.running -= 1


async def until(probe: Any, timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``probe()`` in the event loop until truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)
    return value


def next_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("next run at")]


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(("cron", "zone", "key"), [
    ("0 3 * *", "UTC", "schedule.cron"),
    ("0 25 * * *", "UTC", "schedule.cron"),
    ("0 3 * * 9", "UTC", "schedule.cron"),
    ("0 3 * * *", "Mars/Olympus_Mons", "schedule.timezone"),
])
def test_bad_cron_or_timezone_is_a_config_error_naming_the_key(cron, zone, key) -> None:
    with pytest.raises(ConfigError, match=key):
        cron_trigger(cron, zone)


@pytest.mark.parametrize(("field", "days"), [
    ("0", {"Sunday"}), ("7", {"Sunday"}), ("1-5", {"Monday", "Tuesday", "Wednesday",
                                                  "Thursday", "Friday"}),
    ("*/3", {"Sunday", "Wednesday", "Saturday"}), ("6,0", {"Saturday", "Sunday"}),
    ("sat,sun", {"Saturday", "Sunday"}),
])
def test_weekday_numbers_keep_their_crontab_meaning(field, days) -> None:
    trigger = cron_trigger(f"0 3 * * {field}", "UTC")
    when, seen = datetime(2024, 1, 1, tzinfo=UTC), set()
    for _ in range(14):
        when = trigger.get_next_fire_time(None, when + timedelta(minutes=1))
        seen.add(when.strftime("%A"))
    assert seen == days


def test_job_command_passes_the_database_by_environment(tmp_path: Path) -> None:
    settings = Settings(source=str(tmp_path / "monitor.toml"))
    argv, env = job_command(settings, "postgresql+psycopg://u:secret@db/monitor")
    assert argv[-2:] == ["monitor", "run"] and not any("secret" in a for a in argv)
    assert env["MONITOR_DB"] == "postgresql+psycopg://u:secret@db/monitor"
    assert env["MONITOR_CONFIG"] == str(tmp_path / "monitor.toml")
    assert "MONITOR_CONFIG" not in job_command(Settings(), "sqlite://")[1]


# ---------------------------------------------------------------- the scheduler, in-process


async def test_fast_trigger_fires_with_coalescing_and_misfire_grace() -> None:
    job = Calls()
    schedule = NightlySchedule(job, FAST, UTC)
    schedule.start()
    try:
        await until(lambda: job.count >= 3, what="three runs")
        nightly = schedule.scheduler.get_job(JOB_ID)
        assert nightly.coalesce is True and nightly.max_instances == 1
        assert nightly.misfire_grace_time == MISFIRE_GRACE_SECONDS >= 6 * 3600
    finally:
        await schedule.shutdown()


async def test_next_fire_time_is_logged_in_iso_8601_with_the_zone_offset(caplog) -> None:
    caplog.set_level(logging.INFO, logger="monitor")
    job = Calls()
    schedule = NightlySchedule(job, cron_trigger("0 3 * * *", "Asia/Kolkata"),
                               ZoneInfo("Asia/Kolkata"))
    schedule.start(once=True)
    try:
        await until(lambda: len(next_lines(caplog)) >= 2, what="a line after the run")
    finally:
        await schedule.shutdown()
    for line in next_lines(caplog):
        when = datetime.fromisoformat(line.removeprefix("next run at "))
        assert line.endswith("T03:00:00+05:30")
        assert when.utcoffset() == timedelta(hours=5, minutes=30) and when > datetime.now(UTC)
    assert job.count == 1


async def test_once_runs_at_start_then_keeps_the_schedule() -> None:
    job = Calls()
    schedule = NightlySchedule(job, cron_trigger("0 3 * * *", "UTC"), UTC)
    schedule.start(once=True)
    try:
        await until(lambda: job.count == 1, what="the run at start")
        nightly = schedule.scheduler.get_job(JOB_ID)
        assert nightly.next_run_time == schedule.next_fire_time()
        assert (nightly.next_run_time.hour, nightly.next_run_time.minute) == (3, 0)
    finally:
        await schedule.shutdown()


async def test_fire_times_missed_while_asleep_run_once() -> None:
    job = Calls()
    schedule = NightlySchedule(job, IntervalTrigger(minutes=1, timezone=UTC), UTC)
    schedule.start()
    try:  # as if the machine slept three hours: 180 missed fire times, well within the grace
        schedule.scheduler.modify_job(JOB_ID, next_run_time=datetime.now(UTC) - timedelta(hours=3))
        await until(lambda: job.count == 1 and job.running == 0, what="the coalesced run")
        assert schedule.scheduler.get_job(JOB_ID).next_run_time > datetime.now(UTC)
        assert job.count == 1
    finally:
        await schedule.shutdown()


async def test_never_two_runs_at_once_in_one_process() -> None:
    job, skipped = Calls(block=True), []
    schedule = NightlySchedule(job, FAST, UTC)
    schedule.scheduler.add_listener(skipped.append, EVENT_JOB_MAX_INSTANCES)
    schedule.start()
    try:
        await until(lambda: len(skipped) >= 2, what="fire times skipped as busy")
        assert job.count == 1 and job.peak == 1
    finally:
        job.release.set()
        await schedule.shutdown()


CHILD = """
import signal, sys, time
def term(*_):
    print("cleanup: results flushed, run marked aborted", flush=True)
    sys.exit(143)
signal.signal(signal.SIGTERM, term)
print("started", flush=True)
while True:
    time.sleep(0.05)
"""


async def test_shutdown_stops_the_running_job_gracefully_and_waits(caplog) -> None:
    caplog.set_level(logging.INFO, logger="monitor")
    child = ChildRun([sys.executable, "-c", CHILD], kill_after=20)
    schedule = NightlySchedule(child, cron_trigger("0 3 * * *", "UTC"), UTC, child.terminate)
    schedule.start(once=True)
    messages = lambda: [r.getMessage() for r in caplog.records]  # noqa: E731
    await until(lambda: "run: started" in messages(), timeout=20, what="the child")
    await schedule.shutdown()
    assert "run: cleanup: results flushed, run marked aborted" in messages()
    assert child.last_exit == 143 and "nightly run interrupted: marked aborted" in messages()
    assert not schedule.scheduler.running and schedule.running is None


async def test_a_job_stopped_before_it_starts_never_starts() -> None:
    child = ChildRun([sys.executable, "-c", CHILD])
    await child.terminate()
    assert await child() is None and child.proc is None


# ---------------------------------------------------------------- across processes


def _slow_web(web: SimWeb, tmp_path: Path, n_stagger: int = 20, n_slow: int = 8) -> Path:
    """Staggered answers over ~3 s (so a batch is committed mid-run), then very slow ones."""
    urls = []
    for i in range(n_stagger):
        web.route(f"s{i}.test", "/", slow(0.15 * i, b"<title>ok</title>"))
        urls.append(f"https://s{i}.test/")
    for i in range(n_slow):
        web.route(f"z{i}.test", "/", slow(60))
        urls.append(f"https://z{i}.test/")
    return _config(web, tmp_path, urls)


def _config(web: SimWeb, tmp_path: Path, urls: list[str], **sections: Any) -> Path:
    web.route("127.0.0.1", "/api/query", body=EMPTY_FEED, content_type="application/atom+xml")
    catalog = write_catalog(tmp_path / "catalog.csv", urls)
    arxiv = {"api_url": f"http://127.0.0.1:{web.http_port}/api/query", "categories": [],
             "delay_seconds": 0.0}
    return write_config(tmp_path / "monitor.toml", web, catalog={"path": str(catalog)},
                        http={"timeout": 120.0}, arxiv=arxiv, **sections)


def _count(db: Database, model: Any) -> int:  # noqa: F811
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _runs(db: Database) -> list[Run]:  # noqa: F811
    with db.session() as s:
        return list(s.scalars(select(Run).order_by(Run.id)))


def test_the_run_lock_holds_across_two_processes(simweb, tmp_path, db_url, db) -> None:  # noqa: F811
    simweb.route("hold.test", "/", slow(60))
    config = _config(simweb, tmp_path, ["https://hold.test/"])
    first = spawn([*MONITOR, "--db", db_url, "--config", str(config), "check"], tmp_path, "first")
    try:
        wait_for(lambda: _count(db, Lock) == 1 and _count(db, Run) == 1, what="the run lock")
        second = monitor(db_url, config, "check")  # this process, against the child's lock
        assert second.exit_code == 75, second.output
        assert "a run is in progress since" in second.stderr
    finally:
        stop(first)
    assert _count(db, Run) == 1


def test_sigterm_mid_run_leaves_an_aborted_run_and_a_consistent_database(
        simweb, tmp_path, db_url, db) -> None:  # noqa: F811
    config = _slow_web(simweb, tmp_path)
    proc = spawn([*MONITOR, "--db", db_url, "--config", str(config), "check"], tmp_path, "check")
    try:
        seen = wait_for(lambda: _count(db, CheckResult), what="a committed batch of results")
        assert proc.poll() is None, output(tmp_path, "check")
    finally:
        code = stop(proc)
    hint = "monitor.cli's main() must call monitor.signals.exit_on_sigterm()"
    assert code == 143, (hint, output(tmp_path, "check"))
    [run] = _runs(db)
    assert run.status == "aborted" and run.finished_at is not None
    assert _count(db, CheckResult) >= seen
    with db.session() as s:
        assert set(s.scalars(select(ResourceState.state))) == {"unknown"}
    assert _count(db, Lock) == 0
    for host in [f"s{i}.test" for i in range(20)] + [f"z{i}.test" for i in range(8)]:
        simweb.route(host, "/", body=b"<title>ok</title>")
    result = monitor(db_url, config, "check")
    assert result.exit_code == 0, result.output
    assert [r.status for r in _runs(db)] == ["aborted", "complete"]


def test_schedule_once_runs_at_start_logs_and_stops_on_sigterm(
        simweb, tmp_path, db_url, db) -> None:  # noqa: F811
    simweb.route("a.test", "/", body=b"<title>A</title>")
    config = _config(simweb, tmp_path, ["https://a.test/"],
                     schedule={"cron": "0 3 * * *", "timezone": "Asia/Kolkata"})
    proc = spawn([*LAUNCHER, "--db", db_url, "--config", str(config), "schedule", "--once"],
                 tmp_path, "schedule")
    try:
        wait_for(lambda: any(r.status == "complete" for r in _runs(db)), timeout=60,
                 what="the run at start")
        wait_for(lambda: output(tmp_path, "schedule")[1].count("next run at") >= 2,
                 what="the next fire time after the run")
    finally:
        code = stop(proc)
    err = output(tmp_path, "schedule")[1]
    assert code == 0, err
    assert "nightly run finished" in err and "received SIGTERM: shutting down" in err
    assert "T03:00:00+05:30" in err
    assert (tmp_path / "reports" / "index.html").exists()

"""APScheduler wiring of the nightly job (``monitor schedule``, ``monitor serve --schedule``).

- **Trigger**: ``schedule.cron`` (a crontab expression) in ``schedule.timezone``. Weekday numbers
  keep their crontab meaning (0 and 7 are Sunday); APScheduler 3 alone would read 0 as Monday.
- **One run at a time**: ``max_instances=1`` in this process; across processes the database run
  lock (:mod:`monitor.store.lock`) makes a second run exit 75, which is logged as a skip.
- **Coalescing**: fire times missed while the machine slept collapse into one run.
- **Misfire grace**: :data:`MISFIRE_GRACE_SECONDS`, 23 hours. APScheduler's default of one second
  silently skips a daily job whose process was suspended (laptop asleep) or busy at the fire time.
  With coalescing only the latest missed fire time is considered, and for a daily job it is less
  than a day old, so a machine that slept through 03:00 runs once when it wakes, any time that
  day; only a wake-up in the last hour before the next fire time skips the stale one.
- **The job** is ``python -m monitor run`` in a child process (its output goes to this log).
  A child rather than a thread: the crawl and HTML parsing do not hold this process's GIL while
  the web UI serves; a crash or leak in a run cannot take the service down; and stopping a run
  is a signal the one-shot command already handles (SIGTERM: flush results, mark the run
  ``aborted``, release the lock; see :mod:`monitor.pipeline.signals`).
- **Shutdown** (:meth:`NightlySchedule.shutdown`): stop scheduling, send SIGTERM to a running
  child and wait for it (SIGKILL after :data:`KILL_AFTER_SECONDS`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.base import BaseTrigger

from monitor.config import Settings, cron_trigger
from monitor.errors import EXIT_LOCKED
from monitor.pipeline.signals import EXIT_TERMINATED

log = logging.getLogger("monitor.schedule")

JOB_ID = "nightly"
MISFIRE_GRACE_SECONDS = 23 * 3600
KILL_AFTER_SECONDS = 60.0

Job = Callable[[], Awaitable[Any]]


def job_command(settings: Settings, db_url: str) -> tuple[list[str], dict[str, str]]:
    """``python -m monitor run`` and its environment: the same database and configuration.

    The database URL goes through the environment (``MONITOR_DB``), never the command line,
    where ``ps`` would show a password.
    """
    env = dict(os.environ, MONITOR_DB=db_url, PYTHONUNBUFFERED="1")
    env.pop("MONITOR_CONFIG", None)
    if settings.source != "defaults":
        env["MONITOR_CONFIG"] = os.path.abspath(settings.source)
    return [sys.executable, "-m", "monitor", "run"], env


class ChildRun:
    """The nightly job as a child process; :meth:`terminate` stops it gracefully."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None,
                 kill_after: float = KILL_AFTER_SECONDS) -> None:
        self.argv, self.env, self.kill_after = argv, env, kill_after
        self.proc: asyncio.subprocess.Process | None = None
        self.last_exit: int | None = None
        self.stopping = False

    async def __call__(self) -> int | None:
        """Run the child to its end, logging its output; returns its exit code.

        Returns None without starting when :meth:`terminate` came first.
        """
        if self.stopping:
            return None
        self.proc = proc = await asyncio.create_subprocess_exec(
            *self.argv, env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True)  # Ctrl-C on the terminal reaches us only; we forward it
        log.info("nightly run started (pid %d)", proc.pid)
        try:
            if self.stopping:  # terminate() ran while the child was being started
                proc.send_signal(signal.SIGTERM)
            await self._relay(proc)
            code = await proc.wait()
        except BaseException:  # cancelled: never leave the child running unsupervised
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            raise
        finally:
            self.proc = None
        self.last_exit = code
        _log_exit(code)
        return code

    @staticmethod
    async def _relay(proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            log.info("run: %s", raw.decode("utf-8", "replace").rstrip())

    async def terminate(self) -> None:
        """Stop: SIGTERM the running child (if any) and wait for it; SIGKILL after
        ``kill_after``. A child not started yet never starts."""
        self.stopping = True
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        log.info("stopping the nightly run (pid %d)", proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), self.kill_after)
        except TimeoutError:
            log.error("nightly run did not stop in %.0f s: killed; the next run marks it "
                      "aborted", self.kill_after)
            proc.kill()
            await proc.wait()


def _log_exit(code: int) -> None:
    if code == 0:
        log.info("nightly run finished")
    elif code == EXIT_LOCKED:
        log.warning("nightly run skipped: another run holds the run lock")
    elif code in (EXIT_TERMINATED, -signal.SIGTERM):
        log.warning("nightly run interrupted: marked aborted")
    else:
        log.error("nightly run failed (exit %d)", code)


class NightlySchedule:
    """An AsyncIOScheduler with the one nightly job. Start and stop inside a running loop."""

    def __init__(self, job: Job, trigger: BaseTrigger, timezone: tzinfo,
                 terminate: Callable[[], Awaitable[None]] | None = None) -> None:
        self.job, self.trigger, self.timezone, self._terminate = job, trigger, timezone, terminate
        self.scheduler = AsyncIOScheduler(timezone=timezone)
        self.running: asyncio.Task[Any] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, db_url: str) -> NightlySchedule:
        """``monitor run`` on ``schedule.cron`` in ``schedule.timezone``."""
        trigger = cron_trigger(settings["schedule.cron"], settings["schedule.timezone"])
        child = ChildRun(*job_command(settings, db_url))
        return cls(child, trigger, trigger.timezone, child.terminate)

    def start(self, once: bool = False) -> None:
        """Schedule the job (at once too with ``once``) and log the next fire time."""
        first = datetime.now(self.timezone) if once else None
        self.scheduler.add_job(self._run, self.trigger, id=JOB_ID, name="monitor run",
                               max_instances=1, coalesce=True,
                               misfire_grace_time=MISFIRE_GRACE_SECONDS,
                               **({"next_run_time": first} if first else {}))
        self.scheduler.start()
        if once:
            log.info("--once: running the nightly job now")
        self.log_next()

    def next_fire_time(self) -> datetime | None:
        """When the trigger fires next after now (None when it never will)."""
        return self.trigger.get_next_fire_time(None, datetime.now(self.timezone))

    def log_next(self) -> None:
        """Log the next fire time, ISO 8601 in the schedule's time zone."""
        when = self.next_fire_time()
        log.info("next run at %s", when.isoformat(timespec="seconds") if when else "never")

    async def _run(self) -> None:
        self.running = asyncio.current_task()
        try:
            await self.job()
        except Exception:
            log.exception("nightly job crashed")
        finally:
            self.running = None
            if self.scheduler.state == STATE_RUNNING:
                self.log_next()

    async def shutdown(self) -> None:
        """Stop scheduling; stop a running job gracefully and wait for it to finish.

        The scheduler is paused first and shut down last: shutting down cancels the tasks of
        running jobs, which must first end on their own.
        """
        if self.scheduler.running:
            self.scheduler.pause()
        task = self.running
        if task is not None:
            if self._terminate is not None:
                await self._terminate()
            await asyncio.wait({task})
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)  # AsyncIOScheduler defers it to the loop:
            await asyncio.sleep(0)               # let it run before returning


async def main(settings: Settings, db_url: str, once: bool = False) -> None:
    """``monitor schedule``: run until SIGTERM/SIGINT, then shut down gracefully."""
    from monitor.pipeline.signals import wait_for_stop

    schedule = NightlySchedule.from_settings(settings, db_url)
    schedule.start(once)
    received = await wait_for_stop()
    log.info("received %s: shutting down", signal.Signals(received).name)
    await schedule.shutdown()

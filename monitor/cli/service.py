"""The long-running commands: ``monitor schedule``, ``monitor serve`` and ``monitor worker``
(SPEC §3).

Standalone click commands over the :class:`monitor.cli.context.Context`, registered by
:mod:`monitor.cli`. They log to standard error and stop gracefully on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from monitor.cli.context import Context


def log_to_stderr() -> None:
    """Send the ``monitor`` loggers (INFO and up) to standard error, once."""
    logger = logging.getLogger("monitor")
    if not any(getattr(h, "monitor_stderr", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler.monitor_stderr = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@click.command()
@click.option("--once", is_flag=True, help="Also run the nightly job at start.")
@click.pass_obj
def schedule(ctx: Context, once: bool) -> None:
    """Long-running: run the nightly job on schedule.cron in schedule.timezone.

    Logs the next fire time at start and after each run; SIGTERM or Ctrl-C stops it, letting a
    running job write what it checked and mark its run aborted.
    """
    from monitor.config import cron_trigger
    from monitor.pipeline import schedule as nightly_schedule

    cron_trigger(ctx.settings["schedule.cron"],
                                  ctx.settings["schedule.timezone"])  # ConfigError first
    ctx.db  # noqa: B018 - fail now (exit 1) when the database is unreachable, and migrate
    log_to_stderr()
    asyncio.run(nightly_schedule.main(ctx.settings, ctx.db_url, once))


@click.command()
@click.option("--host", metavar="H", help="Address to bind [serve.host; default 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), metavar="P",
              help="Port to bind, 0 for any free one [serve.port; default 8080].")
@click.option("--schedule", "with_schedule", is_flag=True,
              help="Also run the nightly job on schedule.cron, in this process.")
@click.pass_obj
def serve(ctx: Context, host: str | None, port: int | None, with_schedule: bool) -> None:
    """Web UI: the latest report, runs, resources, triage buttons and a JSON API.

    Bound to anything but loopback it needs a token (MONITOR_TOKEN or serve.token).
    """
    from monitor.config import cron_trigger
    from monitor.web import serve as run_server
    from monitor.web.security import Guard, configured_token

    if host is not None:
        ctx.settings.set("serve.host", host)
    if port is not None:
        ctx.settings.set("serve.port", port)
    Guard.for_bind(ctx.settings["serve.host"], configured_token(ctx.settings))  # exit 3 first
    if with_schedule:
        cron_trigger(ctx.settings["schedule.cron"], ctx.settings["schedule.timezone"])
    log_to_stderr()
    asyncio.run(run_server(ctx.db, ctx.settings, ctx.db_url, with_schedule))


@click.command()
@click.option("--concurrency", type=click.IntRange(1), metavar="N",
              help="Host batches checked at once by this process [default: http.concurrency "
                   "/ http.per_host]. Requests in flight stay within http.concurrency.")
@click.option("--connect-to", "connect_to", multiple=True, metavar="H1:P1:H2:P2",
              help="Send requests for H1:P1 to H2:P2 (curl's meaning; repeatable) "
                   "[http.connect_to].")
@click.option("--ca-bundle", "ca_bundle", metavar="PATH",
              help="PEM file of extra trusted CAs [http.ca_bundle].")
@click.option("--graceful", type=click.FloatRange(0), default=30.0, show_default=True,
              metavar="SECONDS",
              help="On SIGTERM, how long running batches may finish before they are handed "
                   "back to the queue.")
@click.option("--heartbeat", type=click.FloatRange(0.1), default=5.0, show_default=True,
              metavar="SECONDS", help="How often this worker tells the queue it is alive.")
@click.option("--stalled-after", "stalled_after", type=click.FloatRange(0.5), default=20.0,
              show_default=True, metavar="SECONDS",
              help="A worker silent this long is dead: its batches go to another (keep it "
                   "the same on every worker, and above --heartbeat).")
@click.pass_obj
def worker(ctx: Context, concurrency: int | None, connect_to: tuple[str, ...],
           ca_bundle: str | None, graceful: float, heartbeat: float,
           stalled_after: float) -> None:
    """Long-running: check the host batches of distributed runs (`run --distributed`).

    Any number of workers, on any machines that reach the PostgreSQL database. Each runs the
    local run's fetch, classify and fingerprint stages with the [http] limits; one host's
    batches never run on two workers at once. SIGTERM or Ctrl-C: stop claiming, let running
    batches finish for --graceful seconds, hand back the rest; a second signal kills.
    """
    from monitor.cli.context import apply_http
    from monitor.errors import ConfigError
    from monitor.store.db import libpq_conninfo

    if heartbeat >= stalled_after:
        raise click.UsageError("--heartbeat must be shorter than --stalled-after")
    apply_http(ctx.settings, None, connect_to, ca_bundle, None, None)
    libpq_conninfo(ctx.db_url)  # exit 3 on SQLite, before opening anything
    try:
        from monitor.distributed import WorkerOptions
        from monitor.pipeline.worker import work
    except ImportError as err:
        raise ConfigError(f"monitor worker needs the task queue: pip install "
                          f"'monitor[distributed]' ({err})") from err
    per_host = ctx.settings["http.per_host"]
    batches = concurrency or max(1, ctx.settings["http.concurrency"] // per_host)
    options = WorkerOptions(concurrency=batches, graceful_seconds=graceful,
                            heartbeat_seconds=heartbeat, stalled_seconds=stalled_after,
                            sweep_seconds=min(5.0, stalled_after / 4),
                            poll_seconds=min(1.0, stalled_after / 10))
    log_to_stderr()
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    work(ctx.db, ctx.settings, options)

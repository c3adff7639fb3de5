"""The long-running commands: ``monitor schedule`` and ``monitor serve`` (SPEC §3).

Standalone click commands over the :class:`monitor.cli.context.Context`, registered by
:mod:`monitor.cli`. Both log to standard error and stop gracefully on SIGTERM/SIGINT.
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

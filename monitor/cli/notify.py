"""``monitor notify [--test] [--run ID]`` (SPEC §3, §13)."""

from __future__ import annotations

import sys

import click

from monitor.cli.context import Context, pass_ctx
from monitor.errors import EXIT_FAILED, ConfigError


@click.command("notify")
@click.option("--test", "test", is_flag=True,
              help="Send a test message to every channel (and check the GitHub token); say per "
                   "channel what happened.")
@click.option("--run", "run_id", type=int, metavar="ID",
              help="Send the notification of this run (default: the latest), whatever "
                   "notify.when says: for re-sending.")
@pass_ctx
def notify(ctx: Context, test: bool, run_id: int | None) -> None:
    """Send the notification of a run to the [notify] channels, or a test message.

    Channels: notify.urls (apprise URLs), the variable named by notify.urls_env, and the rolling
    GitHub issue of notify.github.repo (token from GITHUB_TOKEN). Only the scheme and host of a
    channel are ever shown. Exit 1 when a channel failed.
    """
    from monitor.health import HealthPolicy
    from monitor.notify.config import NotifyConfig
    from monitor.notify.of_run import notify_run, notify_test
    from monitor.report import build

    if test and run_id is not None:
        raise click.UsageError("give --test or --run, not both")
    config = NotifyConfig.from_settings(ctx.settings, {})
    if not config.configured and not config.urls_env:
        raise ConfigError("no notification channel: set notify.urls, notify.urls_env or "
                          "notify.github.repo in the configuration")
    if test:
        delivery = notify_test(ctx.db, ctx.settings)
    else:
        data = build(ctx.db, run_id, ctx.settings["report.history_runs"],
                     HealthPolicy.from_settings(ctx.settings))
        if data.run is None or (run_id is not None and data.run["id"] != run_id):
            raise ConfigError(f"--run {run_id}: no finished run with that id" if run_id
                              else "no finished run yet: nothing to notify")
        delivery = notify_run(ctx.db, ctx.settings, data, when="always")
    for outcome in delivery.outcomes:
        click.echo(outcome.line())
    if not delivery.outcomes:
        click.echo("no channel answered (none configured in the environment?)")
    if delivery.failures():
        sys.exit(EXIT_FAILED)

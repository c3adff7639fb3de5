"""The command line (SPEC §3): each command parses, calls the library, prints.

Commands live beside their area: :mod:`monitor.cli.runs` (check, run, report, status, runs),
:mod:`monitor.cli.catalog`, :mod:`monitor.cli.watch` (arxiv, suggestions), :mod:`monitor.cli.ack`,
:mod:`monitor.cli.fix` (fix), :mod:`monitor.cli.service` (schedule, serve, worker). This
module is the group and its error handling.

Exit codes: 0 done; 1 the job failed; 2 ``--fail-on`` matched; 3 bad configuration or catalog;
75 another run holds the run lock.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from monitor import __version__
from monitor.cli.context import Context, pass_ctx
from monitor.errors import EXIT_CONFIG, EXIT_FAILED, MonitorError
from monitor.pipeline.signals import exit_on_sigterm
from monitor.store.db import SQLError


class MonitorGroup(click.Group):
    """Maps errors to the documented exit codes: MonitorError to its own (1, 3 or 75), a bad
    option or argument to 3 (click's default 2 is reserved for ``--fail-on``), Ctrl-C to 130."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
            sys.stdout.flush()
            return result
        except MonitorError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)
        except SQLError as err:  # the database went away or refused a write
            click.echo(f"error: database: {getattr(err, 'orig', None) or err}", err=True)
            sys.exit(EXIT_FAILED)
        except click.UsageError as err:
            err.show()
            sys.exit(EXIT_CONFIG)
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.exceptions.Exit as err:
            sys.exit(err.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `monitor status | head`
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
            sys.exit(0)


SELF_STOPPING = frozenset({"worker"})
"""Commands that handle SIGTERM themselves (procrastinate's worker: stop claiming, finish or
hand back; it restores the handler it found on the first signal, so a raising one would cut
the graceful stop short)."""


@click.group(cls=MonitorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
@click.option("--db", "db", metavar="URL", envvar="MONITOR_DB",
              help="SQLAlchemy database URL [env MONITOR_DB; default sqlite:///monitor.db].")
@click.option("--config", "config", metavar="PATH", envvar="MONITOR_CONFIG",
              help="TOML configuration file "
                   "[env MONITOR_CONFIG; default ./monitor.toml if present].")
@click.pass_context
def main(ctx: click.Context, db: str | None, config: str | None) -> None:
    """Link-health and freshness monitoring for curated reading lists."""
    if ctx.invoked_subcommand not in SELF_STOPPING:
        exit_on_sigterm()
    ctx.obj = Context(config, db)
    ctx.call_on_close(lambda: ctx.obj._db and ctx.obj._db.dispose())


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Run the Alembic migrations to head (every command also does this on start)."""
    ctx.db  # noqa: B018 - opening migrates
    click.echo(f"database at head: {ctx.db.engine.url.render_as_string(hide_password=True)}")

def _register() -> None:
    """Commands defined beside their area (each a few lines over library calls)."""
    from monitor.cli import ack, catalog, fix, history, notify, runs, service, watch

    for command in (runs.check, runs.run, runs.report, runs.status, runs.runs, history.history,
                    catalog.catalog, ack.ack, watch.arxiv, watch.suggestions, notify.notify,
                    fix.fix, service.schedule, service.serve, service.worker):
        main.add_command(command)


_register()

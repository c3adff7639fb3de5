"""The command line (SPEC §3): each command parses, calls the library, prints.

Exit codes: 0 done; 1 the job failed; 2 ``--fail-on`` matched; 3 bad configuration or catalog;
75 another run holds the run lock.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from monitor import __version__
from monitor.config import Settings, database_url, load_settings
from monitor.errors import EXIT_CONFIG, EXIT_FAIL_ON, EXIT_FAILED, ConfigError, MonitorError
from monitor.health import STATES
from monitor.signals import exit_on_sigterm
from monitor.store.db import Database, open_database


@dataclass
class Context:
    """What every command gets: settings and a lazily opened, migrated database."""

    settings: Settings
    db_url: str
    _db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = open_database(self.db_url)
        return self._db


pass_ctx = click.make_pass_decorator(Context)


def _fail_on(value: str | None) -> set[str]:
    states = {s.strip() for s in (value or "").split(",") if s.strip()}
    unknown = states - set(STATES)
    if unknown:
        raise click.BadParameter(f"unknown state(s) {', '.join(sorted(unknown))}; "
                                 f"choose from {', '.join(STATES)}", param_hint="--fail-on")
    return states


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
        except SQLAlchemyError as err:  # the database went away or refused a write
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
    exit_on_sigterm()
    settings = load_settings(config)
    ctx.obj = Context(settings, database_url(db, settings))
    ctx.call_on_close(lambda: ctx.obj._db and ctx.obj._db.dispose())


def _http_options(f: Any) -> Any:
    options = [
        click.option("--catalog", "catalog", metavar="PATH", help="Catalog CSV [catalog.path]."),
        click.option("--connect-to", "connect_to", multiple=True, metavar="H1:P1:H2:P2",
                     help="Send requests for H1:P1 to H2:P2, keeping URL, Host, SNI and "
                          "certificate checks (curl's meaning; repeatable) [http.connect_to]."),
        click.option("--ca-bundle", "ca_bundle", metavar="PATH",
                     help="PEM file of extra trusted CAs [http.ca_bundle]."),
        click.option("--concurrency", type=click.IntRange(1),
                     help="Requests in flight [http.concurrency]."),
        click.option("--per-host", "per_host", type=click.IntRange(1),
                     help="Requests in flight to one host [http.per_host]."),
        click.option("--fail-on", "fail_on", metavar="STATE[,STATE]",
                     help="Exit 2 when any resource ends in one of these states "
                          f"({', '.join(STATES)}; comma-separated)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _apply_http(settings: Settings, catalog: str | None, connect_to: tuple[str, ...],
                ca_bundle: str | None, concurrency: int | None, per_host: int | None) -> None:
    if catalog:
        settings.set("catalog.path", catalog)
    if connect_to:
        settings.set("http.connect_to", list(connect_to))
    if ca_bundle:
        settings.set("http.ca_bundle", ca_bundle)
    if concurrency:
        settings.set("http.concurrency", concurrency)
    if per_host:
        settings.set("http.per_host", per_host)
    from monitor.fetch.resolver import make_ssl_context, parse_connect_to

    try:
        for spec in settings["http.connect_to"]:
            parse_connect_to(spec)
    except ValueError as err:
        raise ConfigError(f"--connect-to / http.connect_to: {err}") from err
    bundle = settings["http.ca_bundle"]
    if bundle and not Path(bundle).is_file():
        raise ConfigError(f"--ca-bundle / http.ca_bundle: no such file {bundle}")
    try:
        make_ssl_context(bundle)
    except ValueError as err:
        raise ConfigError(f"--ca-bundle / http.ca_bundle: {err}") from err


def _exit_fail_on(ctx: Context, states: set[str]) -> None:
    if not states:
        return
    from monitor.store import queries

    with ctx.db.session() as s:
        counts = queries.state_counts(s)
    matched = {s: counts.get(s, 0) for s in states if counts.get(s, 0)}
    if matched:
        click.echo("fail-on: " + ", ".join(f"{n} {s}" for s, n in sorted(matched.items())),
                   err=True)
        sys.exit(EXIT_FAIL_ON)


@main.command()
@_http_options
@pass_ctx
def check(ctx: Context, catalog: str | None, connect_to: tuple[str, ...], ca_bundle: str | None,
          concurrency: int | None, per_host: int | None, fail_on: str | None) -> None:
    """Sync the catalog into the database and check every active link once."""
    from monitor import pipeline

    states = _fail_on(fail_on)
    _apply_http(ctx.settings, catalog, connect_to, ca_bundle, concurrency, per_host)
    summary = pipeline.check(ctx.db, ctx.settings, ctx.settings["catalog.path"])
    click.echo(summary.line())
    _exit_fail_on(ctx, states)


@main.command()
@_http_options
@click.option("--skip-arxiv", is_flag=True, help="Do not watch arXiv in this run.")
@pass_ctx
def run(ctx: Context, catalog: str | None, connect_to: tuple[str, ...], ca_bundle: str | None,
        concurrency: int | None, per_host: int | None, fail_on: str | None,
        skip_arxiv: bool) -> None:
    """The nightly job: sync the catalog, check every link, watch arXiv, render reports."""
    from monitor import nightly

    states = _fail_on(fail_on)
    _apply_http(ctx.settings, catalog, connect_to, ca_bundle, concurrency, per_host)
    for line in nightly.run(ctx.db, ctx.settings, watch_arxiv=not skip_arxiv):
        click.echo(line)
    _exit_fail_on(ctx, states)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json"]), default="html",
              show_default=True, help="Output format.")
@click.option("--out", "out", metavar="PATH",
              help="Output file, '-' for standard output. Default: html into report.dir "
                   "(YYYY-MM-DD.html and index.html); md and json to standard output.")
@click.option("--run", "run_id", type=int, metavar="ID", help="Render an earlier run.")
@pass_ctx
def report(ctx: Context, fmt: str, out: str | None, run_id: int | None) -> None:
    """Render the latest state as HTML, Markdown or JSON."""
    from monitor import nightly

    for path in nightly.write_report(ctx.db, ctx.settings, fmt, out, run_id):
        if path != "-":
            click.echo(f"wrote {path}", err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list, one object per resource (keys in the README).")
@click.option("--state", type=click.Choice(STATES), help="Only resources in this state.")
@pass_ctx
def status(ctx: Context, as_json: bool, state: str | None) -> None:
    """Current state of every active resource."""
    from monitor.report.model import status_object
    from monitor.store import queries

    rows = [status_object(r, st) for r, st in queries.status_rows(ctx.db, state)]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if rows:
        click.echo(f"{'STATE':<8} {'HTTP':>4}  URL  [-> REPLACEMENT | ERROR]")
    for r in rows:
        extra = (f"-> {r['final_url']}" if r["state"] == "moved" else r["error"]) or ""
        click.echo(f"{r['state']:<8} {r['http_status'] or '-':>4}  {r['url']}  {extra}".rstrip())


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list, one object per run (keys in the README).")
@pass_ctx
def runs(ctx: Context, as_json: bool) -> None:
    """Past runs, newest first."""
    from monitor.report.model import run_object
    from monitor.store import queries

    rows = [run_object(r) for r in queries.list_runs(ctx.db)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['id']:>5} {r['started_at']} {r['status']:<9} checked {r['checked']} "
                   f"ok {r['ok']} moved {r['moved']} failing {r['failing']} dead {r['dead']} "
                   f"blocked {r['blocked']}")


@main.group()
def catalog() -> None:
    """Build and validate catalog files."""


@catalog.command("extract")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", default="-", show_default=True, metavar="PATH",
              help="Where to write the CSV ('-' for standard output).")
def catalog_extract(paths: tuple[str, ...], output: str) -> None:
    """Build a catalog from Markdown/HTML sources (links, sections, chapters, titles)."""
    from monitor.catalog import write_catalog
    from monitor.extract import extract

    rows, problems = extract(list(paths))
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if output == "-":
        write_catalog(rows, sys.stdout)
        return
    try:
        write_catalog(rows, output)
    except OSError as err:
        raise ConfigError(f"-o {output}: cannot write: {err.strerror}") from err
    click.echo(f"wrote {len(rows)} rows to {output}", err=True)


@catalog.command("validate")
@click.argument("path", required=False)
@click.pass_obj
def catalog_validate(ctx: Context, path: str | None) -> None:
    """Check a catalog file; each problem names file and line. Exit 3 if any."""
    from monitor.catalog import load_catalog

    path = path or ctx.settings["catalog.path"]
    rows, problems = load_catalog(path)
    for problem in problems:
        click.echo(str(problem), err=True)
    click.echo(f"{path}: {len(rows)} rows, {len(problems)} problems")
    if problems:
        sys.exit(3)


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
    """Commands defined beside their stage (each a few lines over library calls)."""
    from monitor.ack import ack
    from monitor.service_cli import schedule, serve
    from monitor.watch.cli import arxiv, suggestions

    for command in (ack, arxiv, suggestions, schedule, serve):
        main.add_command(command)


_register()

"""The run commands and their read-outs: ``check``, ``run``, ``report``, ``status``, ``runs``
(SPEC §3)."""

from __future__ import annotations

import json

import click

from monitor.cli.context import (
    Context,
    apply_http,
    exit_fail_on,
    fail_on_states,
    http_options,
    pass_ctx,
)
from monitor.vocabulary import STATES

DISTRIBUTED_HELP = ("Let `monitor worker` processes check the links (PostgreSQL only): queue "
                    "host batches, wait for them, then finish the run here. Started again "
                    "while a distributed run is left running, wait for that run.")


def refuse_local_limits(distributed: bool, concurrency: int | None,
                        per_host: int | None) -> None:
    """``--concurrency``/``--per-host`` limit this process's requests: with ``--distributed``
    the workers send them, under their own settings (exit 3 rather than ignore them)."""
    if distributed and (concurrency or per_host):
        raise click.UsageError("--concurrency and --per-host do not apply to --distributed: "
                               "the workers' own http.concurrency and http.per_host do "
                               "(monitor worker --concurrency sets its batches at once)")


@click.command()
@http_options
@click.option("--distributed", is_flag=True, help=DISTRIBUTED_HELP)
@pass_ctx
def check(ctx: Context, catalog: str | None, connect_to: tuple[str, ...], ca_bundle: str | None,
          concurrency: int | None, per_host: int | None, fail_on: str | None,
          distributed: bool) -> None:
    """Sync the catalog into the database and check every active link once."""
    from monitor.pipeline.run import run_once

    states = fail_on_states(fail_on)
    refuse_local_limits(distributed, concurrency, per_host)
    apply_http(ctx.settings, catalog, connect_to, ca_bundle, concurrency, per_host)
    run_once(ctx.db, ctx.settings, command="check", watch=False, report=False, log=click.echo,
             distributed=distributed)
    exit_fail_on(ctx, states)


@click.command()
@http_options
@click.option("--skip-arxiv", is_flag=True, help="Do not watch arXiv in this run.")
@click.option("--distributed", is_flag=True, help=DISTRIBUTED_HELP)
@pass_ctx
def run(ctx: Context, catalog: str | None, connect_to: tuple[str, ...], ca_bundle: str | None,
        concurrency: int | None, per_host: int | None, fail_on: str | None,
        skip_arxiv: bool, distributed: bool) -> None:
    """The nightly job: sync the catalog, check every link, watch arXiv, render reports."""
    from monitor.pipeline.run import run_once

    states = fail_on_states(fail_on)
    refuse_local_limits(distributed, concurrency, per_host)
    apply_http(ctx.settings, catalog, connect_to, ca_bundle, concurrency, per_host)
    run_once(ctx.db, ctx.settings, command="run", watch=not skip_arxiv, log=click.echo,
             distributed=distributed)
    exit_fail_on(ctx, states)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json"]), default="html",
              show_default=True, help="Output format.")
@click.option("--out", "out", metavar="PATH",
              help="Output file, '-' for standard output. Default: html into report.dir "
                   "(YYYY-MM-DD.html and index.html); md and json to standard output.")
@click.option("--run", "run_id", type=int, metavar="ID", help="Render an earlier run.")
@pass_ctx
def report(ctx: Context, fmt: str, out: str | None, run_id: int | None) -> None:
    """Render the latest state as HTML, Markdown or JSON."""
    from monitor.pipeline.outputs import write_report

    for path in write_report(ctx.db, ctx.settings, fmt, out, run_id):
        if path != "-":
            click.echo(f"wrote {path}", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list, one object per resource (keys in the README).")
@click.option("--state", type=click.Choice(STATES), help="Only resources in this state.")
@pass_ctx
def status(ctx: Context, as_json: bool, state: str | None) -> None:
    """Current state of every active resource."""
    from monitor.report.model import status_objects

    rows = status_objects(ctx.db, state)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if rows:
        click.echo(f"{'STATE':<8} {'HTTP':>4}  URL  [-> REPLACEMENT | ERROR]")
    for r in rows:
        extra = (f"-> {r['final_url']}" if r["state"] == "moved" else r["error"]) or ""
        click.echo(f"{r['state']:<8} {r['http_status'] or '-':>4}  {r['url']}  {extra}".rstrip())


@click.command()
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



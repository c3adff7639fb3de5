"""``monitor history URL [--json]``: every check of one resource, newest first (SPEC §3)."""

from __future__ import annotations

import json
import sys

import click

from monitor.cli.context import Context, pass_ctx
from monitor.errors import EXIT_FAILED


@click.command("history")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list, one object per check: run_id run_status checked_at "
                   "outcome http_status error detail final_url redirect_chain elapsed_ms.")
@pass_ctx
def history(ctx: Context, url: str, as_json: bool) -> None:
    """Every check of one resource, newest first.

    URL is the resource's catalog URL or any spelling with the same canonical URL. Exit 1 when
    no resource has it.
    """
    from monitor.report.model import result_object
    from monitor.store.reads import find_resource, results_of

    found = find_resource(ctx.db, url)
    if found is None:
        click.echo(f"not in the catalog: {url}", err=True)
        sys.exit(EXIT_FAILED)
    rows = [result_object(c, status) for c, status in results_of(ctx.db, found[0])]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"no check of {found[1]} yet")
        return
    click.echo(f"{'CHECKED (UTC)':<19} {'RUN':>5} {'OUTCOME':<8} {'HTTP':>4}  ERROR / DETAIL")
    for r in rows:
        why = " ".join(filter(None, [r["error"], r["detail"],
                                     f"-> {r['final_url']}" if r["final_url"] else None]))
        run = f"{r['run_id']}" + ("" if r["run_status"] == "complete" else "*")
        click.echo(f"{r['checked_at'][:19].replace('T', ' '):<19} {run:>5} {r['outcome']:<8} "
                   f"{r['http_status'] or '-':>4}  {why}".rstrip())
    if any(r["run_status"] != "complete" for r in rows):
        click.echo("* a degraded or aborted run: its results changed no state")

"""``monitor ack URL... | --all-changed``: accept the current content as the new baseline.

For each resource named (by its catalog URL or canonical URL), or every resource flagged
changed (``changed_at`` set), the newest fingerprint becomes the baseline, ``changed_at`` is
cleared and ``similarity`` is 1.0: the next run compares against what was just reviewed.
The work is :func:`monitor.store.states.acknowledge`.
"""

from __future__ import annotations

import sys

import click

from monitor.cli.context import Context


@click.command("ack")
@click.argument("urls", nargs=-1)
@click.option("--all-changed", is_flag=True,
              help="Acknowledge every resource currently flagged changed.")
@click.pass_obj
def ack(ctx: Context, urls: tuple[str, ...], all_changed: bool) -> None:
    """Accept the current content of changed resources as the new baseline."""
    from monitor.store.states import acknowledge

    if bool(urls) == all_changed:
        raise click.UsageError("give URLs or --all-changed (not both)")
    done, empty, unknown = acknowledge(ctx.db, urls, all_changed)
    for url in unknown:
        click.echo(f"not in the catalog: {url}", err=True)
    for url in empty:
        click.echo(f"no content fingerprint yet: {url}", err=True)
    click.echo(f"acknowledged {len(done)} resource(s)" + "".join(f"\n  {u}" for u in done))
    if unknown and not done:
        sys.exit(1)

"""Click commands of the arXiv watch: ``monitor arxiv`` and ``monitor suggestions ...`` (SPEC §3).

Standalone click objects registered by :mod:`monitor.cli`; each takes the
:class:`~monitor.cli.context.Context` (``ctx.db``, ``ctx.settings``) through ``click.pass_obj``.
Errors are ``MonitorError`` subclasses, turned into a message and exit code by the main group (exit
1 for triage errors, unknown ids included).
"""

from __future__ import annotations

import json
import sys

import click

from monitor.cli.context import Context
from monitor.vocabulary import SUGGESTION_STATUSES as STATUSES

__all__ = ["arxiv", "suggestions"]


@click.command("arxiv")
@click.option("--api-url", "api_url", metavar="URL", help="arXiv API endpoint [arxiv.api_url].")
@click.option("--category", "categories", multiple=True, metavar="CAT",
              help="Watched category, repeatable (e.g. cs.CL) [arxiv.categories].")
@click.pass_obj
def arxiv(ctx: Context, api_url: str | None, categories: tuple[str, ...]) -> None:
    """Fetch new papers from the watched categories, score them, store suggestions."""
    from monitor.watch.watcher import watch

    if api_url:
        ctx.settings.set("arxiv.api_url", api_url)
    if categories:
        ctx.settings.set("arxiv.categories", list(categories))
    click.echo(watch(ctx.db, ctx.settings).line())


@click.group("suggestions")
def suggestions() -> None:
    """Triage the suggested arXiv papers."""


@suggestions.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list, one object per suggestion (keys in the README).")
@click.option("--status", type=click.Choice(STATUSES), help="Only suggestions with this status.")
@click.pass_obj
def suggestions_list(ctx: Context, as_json: bool, status: str | None) -> None:
    """Suggestions, best score first: id, score, status, arXiv id, title, explanation."""
    from monitor.report.model import suggestion_object
    from monitor.store.suggestions import list_suggestions

    rows = [suggestion_object(s) for s in list_suggestions(ctx.db, status)]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['id']:>5} {r['score']:.2f} {r['status']:<8} {r['arxiv_id']:<16} "
                   f"{r['title']}")
        click.echo(f"{'':>6}{r['explanation']}  {r['url']}")


@suggestions.command("accept")
@click.argument("ident", metavar="ID")
@click.option("--section", metavar="S", help="Catalog section (default: the suggested one).")
@click.option("--dry-run", "dry_run", is_flag=True,
              help="Show where the paper would go (with catalog.sources: the diff); change "
                   "nothing.")
@click.pass_obj
def suggestions_accept(ctx: Context, ident: str, section: str | None, dry_run: bool) -> None:
    """Append the paper to the catalog CSV (kind paper, added today) and mark it accepted.

    With catalog.sources set, the paper is first inserted as a list item in the handbook's
    source file: at the end of the resource list of its chapter (the heading inside the
    section it matches best; a chapter without a list gets one), in that list's style, or of
    the section's last list when no chapter fits.

    ID is the suggestion's id or its arXiv identifier (any version).
    """
    from monitor.fix.accept import accept_paper

    path = ctx.settings["catalog.path"]
    done = accept_paper(ctx.db, ctx.settings, ident, section, dry_run=dry_run)
    s, placed = done.suggestion, done.placement
    chosen = section if section is not None else s.section
    where = f"{placed.source} (section: {chosen or '-'}; chapter: {done.chapter or '-'})" \
        if placed else f"{path} (section: {chosen or '-'})"
    if dry_run:
        sys.stdout.buffer.write(done.diff)
        click.echo(f"would accept {s.arxiv_id} into {where}; nothing changed", err=True)
        return
    click.echo(f"accepted {s.arxiv_id} into {where}")


@suggestions.command("reject")
@click.argument("ident", metavar="ID")
@click.option("--reason", default="", metavar="TEXT", help="Why (kept with the suggestion).")
@click.pass_obj
def suggestions_reject(ctx: Context, ident: str, reason: str) -> None:
    """Reject a suggestion; the paper is never suggested again.

    ID is the suggestion's id or its arXiv identifier (any version).
    """
    from monitor.watch.triage import reject

    s = reject(ctx.db, ident, reason)
    click.echo(f"rejected {s.arxiv_id}" + (f" ({reason})" if reason else ""))

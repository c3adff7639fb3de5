"""``monitor fix [--apply] [--out PATH|-] [--json] [--dead archive|none]`` (SPEC §3, §12)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.context import Context, pass_ctx
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from monitor.fix.proposal import Proposal


@click.command("fix")
@click.option("--apply", "apply_", is_flag=True,
              help="Write the edits into the source files (every file or none, each atomically).")
@click.option("--out", "out", metavar="PATH",
              help="Write the diff (or with --json the list) here, '-' for standard output. "
                   "Default: standard output; with --apply, only the --json list.")
@click.option("--json", "as_json", is_flag=True,
              help="A JSON list of {file, line, old_url, new_url, reason} instead of the diff.")
# monitor.fix.findings.DEAD_MODES, spelled here so that the command line starts without
# importing the Markdown machinery (edits_for refuses any other mode)
@click.option("--dead", type=click.Choice(("archive", "none")), default="archive",
              show_default=True,
              help="A dead link becomes its Wayback Machine copy (archive) or is only listed.")
@pass_ctx
def fix(ctx: Context, apply_: bool, out: str | None, as_json: bool, dead: str) -> None:
    """Edit the catalog sources (catalog.sources) for what the last run found: a moved link
    becomes its final URL, a dead one its archived copy, a link whose anchor is gone loses the
    '#fragment'.

    Prints a unified diff that `git apply` accepts in the sources' folder; --apply writes the
    files. Exit 3, naming file:line, when a source line no longer holds its URL (the file
    changed since the last run: run it again); nothing is written then. A source file that is
    not UTF-8 is reported and left alone.
    """
    from monitor.fix.proposal import propose

    proposal = propose(ctx.db, ctx.settings, dead=dead)
    plan = proposal.plan
    for path in proposal.removed:
        click.echo(f"removed a temporary file left by an interrupted fix: {path}", err=True)
    for skipped in plan.skipped:
        click.echo(f"skipped {skipped}", err=True)
    for finding, why in proposal.listed:
        where = finding.source or "-"
        click.echo(f"not fixed: {where} {_name(proposal.title(finding.url))}{finding.url}: {why}",
                   err=True)
    if apply_:
        plan.apply()
    text = (json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n").encode() \
        if as_json else plan.diff()
    _write(text, out if out is not None else ("-" if as_json or not apply_ else None))
    _summary(proposal, apply_)


def _name(title: str) -> str:
    return f"{title} — " if title else ""


def _write(data: bytes, out: str | None) -> None:
    """``data`` to ``out`` ('-': standard output; None: nowhere)."""
    if out is None:
        return
    if out == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    if not out:
        raise ConfigError("--out: empty path (use '-' for standard output)")
    try:
        Path(out).write_bytes(data)
    except OSError as err:
        raise ConfigError(f"--out {out}: cannot write: {err.strerror}") from err


def _summary(proposal: Proposal, applied: bool) -> None:
    """One line per edit and a count, on standard error (standard output holds the diff)."""
    edits = proposal.plan.edits
    for edit in edits:
        click.echo(f"{edit.source}: {edit.reason}: {_name(proposal.title(edit.old_url))}"
                   f"{edit.old_url} -> {edit.new_url}", err=True)
    files = len(proposal.plan.changes)
    if not edits:
        already = f" ({len(proposal.done)} already fixed in the sources)" if proposal.done else ""
        click.echo(f"nothing to fix{already}", err=True)
    elif applied:
        click.echo(f"fixed {len(edits)} link(s) in {files} file(s); the next run checks the "
                   "new URLs", err=True)
    else:
        click.echo(f"{len(edits)} edit(s) in {files} file(s); `monitor fix --apply` makes them",
                   err=True)

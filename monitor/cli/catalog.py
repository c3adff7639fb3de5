"""``monitor catalog extract`` and ``monitor catalog validate`` (SPEC §3, §5)."""

from __future__ import annotations

import sys

import click

from monitor.cli.context import Context
from monitor.errors import ConfigError


@click.group()
def catalog() -> None:
    """Build and validate catalog files."""


@catalog.command("extract")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", default="-", show_default=True, metavar="PATH",
              help="Where to write the CSV ('-' for standard output).")
def catalog_extract(paths: tuple[str, ...], output: str) -> None:
    """Build a catalog from Markdown/HTML sources (links, sections, chapters, titles)."""
    from monitor.catalog import write_catalog
    from monitor.catalog.extract import extract

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



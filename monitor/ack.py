"""``monitor ack URL... | --all-changed``: accept the current content as the new baseline.

For each resource named (by its catalog URL or canonical URL), or every resource flagged
changed (``changed_at`` set), the newest fingerprint becomes the baseline, ``changed_at`` is
cleared and ``similarity`` is 1.0: the next run compares against what was just reviewed.
Register with ``main.add_command(ack)`` in :mod:`monitor.cli`.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store import fingerprints
from monitor.store.db import Database
from monitor.store.models import Resource, ResourceState
from monitor.urls import InvalidURL, canonical_url


def _wanted(session: Session, urls: tuple[str, ...], all_changed: bool
            ) -> tuple[list[tuple[Resource, ResourceState]], list[str]]:
    """The resources to acknowledge and the URLs that name no active resource."""
    stmt = (select(Resource, ResourceState)
            .join(ResourceState, ResourceState.resource_id == Resource.id)
            .where(Resource.active.is_(True)).order_by(Resource.position, Resource.id))
    rows = [(r, st) for r, st in session.execute(stmt)]
    if all_changed:
        return [(r, st) for r, st in rows if st.changed_at is not None], []
    by_key: dict[str, tuple[Resource, ResourceState]] = {}
    for r, st in rows:
        by_key[r.url] = by_key[r.canonical_url] = (r, st)
    found, unknown = [], []
    for url in urls:
        hit = by_key.get(url) or by_key.get(_canonical(url))
        if hit is None:
            unknown.append(url)
        elif hit not in found:
            found.append(hit)
    return found, unknown


def _canonical(url: str) -> str:
    try:
        return canonical_url(url)
    except InvalidURL:
        return url


def acknowledge(db: Database, urls: tuple[str, ...] = (), all_changed: bool = False
                ) -> tuple[list[str], list[str], list[str]]:
    """Make the newest fingerprint the baseline. One transaction.

    Returns ``(acknowledged urls, urls without any fingerprint yet, unknown urls)``.
    """
    done, empty = [], []
    with db.session() as s:
        found, unknown = _wanted(s, urls, all_changed)
        for res, st in found:
            row = fingerprints.newest_counted(s, res.id)
            if row is None:
                empty.append(res.url)
                continue
            fingerprints.set_baseline(s, res.id, row.id)
            st.changed_at, st.similarity = None, 1.0
            done.append(res.url)
    return done, empty, unknown


@click.command("ack")
@click.argument("urls", nargs=-1)
@click.option("--all-changed", is_flag=True,
              help="Acknowledge every resource currently flagged changed.")
@click.pass_obj
def ack(ctx: Any, urls: tuple[str, ...], all_changed: bool) -> None:
    """Accept the current content of changed resources as the new baseline."""
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

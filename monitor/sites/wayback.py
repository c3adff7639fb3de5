"""Replacement suggestions from the Wayback Machine availability API (SPEC §7).

``GET https://archive.org/wayback/available?url=<url>`` answers
``{"url": ..., "archived_snapshots": {"closest": {"status": "200", "available": true,
"url": "http://web.archive.org/web/<timestamp>/<url>", "timestamp": "..."}}}``, or
``"archived_snapshots": {}`` when nothing is archived (shapes in ``../shared/fixtures/wayback/``).
The pipeline asks once for each resource that becomes failing or dead (not again while it stays
so) and stores the closest available snapshot as ``suggested_url``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from monitor.fetch import Fetcher, FetchOptions
from monitor.store import queries
from monitor.store.db import Database
from monitor.store.models import ResourceState

API = "https://archive.org/wayback/available"


@dataclass(frozen=True)
class Snapshot:
    """The answer for one URL: the snapshot URL and timestamp (None when none is archived);
    ``answered`` is False when the API could not be asked (try again next run)."""

    url: str | None
    timestamp: str | None = None
    answered: bool = True


def parse(body: bytes) -> Snapshot | None:
    """The closest available snapshot in an availability answer; None if not an answer."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("archived_snapshots"), dict):
        return None
    closest: Any = data["archived_snapshots"].get("closest")
    if not isinstance(closest, dict) or not closest.get("available") or not closest.get("url"):
        return Snapshot(None)
    if str(closest.get("status", "200")) != "200":
        return Snapshot(None)
    return Snapshot(str(closest["url"]), closest.get("timestamp"))


async def lookup(fetcher: Fetcher, url: str) -> Snapshot:
    """Ask the availability API about ``url``."""
    res = await fetcher.fetch(f"{API}?{urlencode({'url': url})}",
                              headers={"Accept": "application/json"})
    found = parse(res.body) if res.status == 200 else None
    return found if found is not None else Snapshot(None, answered=False)


async def suggest(options: FetchOptions, urls: list[str]) -> dict[str, Snapshot]:
    """Snapshots of ``urls``, asked concurrently within the fetch limits."""
    if not urls:
        return {}
    async with Fetcher(options) as fetcher:
        found = await asyncio.gather(*(lookup(fetcher, u) for u in urls))
    return dict(zip(urls, found, strict=True))


async def suggest_for(db: Database, failing: list[tuple[int, str]], options: FetchOptions
                      ) -> dict[int, Snapshot]:
    """Snapshots for the ``(resource_id, url)`` that fail and were not asked about yet."""
    with db.session() as s:
        states = queries.load_states(s, (rid for rid, _ in failing))
        needed = [(rid, url) for rid, url in failing if (st := states.get(rid)) is not None
                  and st.suggested_url is None and "wayback" not in (st.probe or {})]
    found = await suggest(options, sorted({url for _, url in needed}))
    return {rid: found[url] for rid, url in needed}


def apply(st: ResourceState, outcome: str, at: datetime, snapshot: Snapshot | None) -> None:
    """Store an answer as ``suggested_url`` (and that it was asked); forget both once the
    resource is ``ok`` or ``moved`` again, so a later failure asks again."""
    probe = dict(st.probe or {})
    if outcome in ("ok", "moved") and ("wayback" in probe or st.suggested_url):
        probe.pop("wayback", None)
        st.probe, st.suggested_url = probe, None
    elif snapshot is not None and snapshot.answered:
        probe["wayback"] = {"asked_at": at.isoformat(), "timestamp": snapshot.timestamp}
        st.probe, st.suggested_url = probe, snapshot.url

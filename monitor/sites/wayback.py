"""Replacement suggestions from the Wayback Machine availability API (SPEC §7).

``GET https://archive.org/wayback/available?url=<url>`` answers
``{"url": ..., "archived_snapshots": {"closest": {"status": "200", "available": true,
"url": "http://web.archive.org/web/<timestamp>/<url>", "timestamp": "..."}}}``, or
``"archived_snapshots": {}`` when nothing is archived (shapes in ``../shared/fixtures/wayback/``).
The pipeline asks once for each resource that becomes failing or dead (not again while it stays
so: :func:`monitor.store.states.needing_snapshot`) and the store keeps the closest available
snapshot as ``suggested_url``. Not a site with hosts: a service any failing URL may use.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from monitor.sites.base import Fetching

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


async def lookup(fetcher: Fetching, url: str) -> Snapshot:
    """Ask the availability API about ``url``."""
    res = await fetcher.fetch(f"{API}?{urlencode({'url': url})}",
                              headers={"Accept": "application/json"})
    found = parse(res.body) if res.status == 200 else None
    return found if found is not None else Snapshot(None, answered=False)


async def suggest(fetcher: Fetching, urls: list[str]) -> dict[str, Snapshot]:
    """Snapshots of ``urls``, asked concurrently within the fetcher's limits."""
    if not urls:
        return {}
    found = await asyncio.gather(*(lookup(fetcher, u) for u in urls))
    return dict(zip(urls, found, strict=True))

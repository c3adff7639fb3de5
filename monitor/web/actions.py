"""Triage from the web: one place for the form and API handlers to accept and reject.

Both run the blocking store calls in a worker thread under the application's triage lock, so
two clicks cannot append the same paper to the catalog twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from monitor.watch import store as triage
from monitor.web.keys import DB, SETTINGS, TRIAGE_LOCK


def http_status(exc: triage.SuggestionError) -> int:
    """404 for an unknown suggestion, 409 for one already decided or already cataloged."""
    return 404 if isinstance(exc, triage.UnknownSuggestion) else 409


async def accept(app: web.Application, ident: str, section: str | None) -> dict[str, Any]:
    """Accept suggestion ``ident`` (id or arXiv id) into ``section`` (None: the suggested one).

    Appends the paper to ``catalog.path``; returns its SPEC §10 object. Raises SuggestionError
    subclasses and CatalogError.
    """
    catalog = app[SETTINGS]["catalog.path"]
    async with app[TRIAGE_LOCK]:
        done = await asyncio.to_thread(triage.accept, app[DB], ident, catalog, section)
    return triage.suggestion_object(done)


async def reject(app: web.Application, ident: str, reason: str) -> dict[str, Any]:
    """Reject suggestion ``ident`` with ``reason``; returns its SPEC §10 object."""
    async with app[TRIAGE_LOCK]:
        done = await asyncio.to_thread(triage.reject, app[DB], ident, reason)
    return triage.suggestion_object(done)

"""What the pages and the API share: the report of a run (with the configured ``[health]``
policy, as the CLI renders it) and triage (accept, reject).

Triage runs the blocking store calls in a worker thread under the application's triage lock, so
two clicks cannot append the same paper to the catalog twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from monitor.catalog import CatalogError
from monitor.errors import SuggestionError, UnknownSuggestion
from monitor.health import HealthPolicy
from monitor.report import ReportData, build
from monitor.report.model import suggestion_object
from monitor.watch import triage
from monitor.web.keys import DB, SETTINGS, TRIAGE_LOCK


def report_data(app: web.Application, run_id: int | None) -> ReportData:
    """The report data of ``run_id`` (the latest when None), read as ``monitor report`` reads
    it: ``report.history_runs`` runs of history, the configured ``[health]`` policy. Blocking."""
    settings = app[SETTINGS]
    return build(app[DB], run_id, settings["report.history_runs"],
                 HealthPolicy.from_settings(settings))


def http_status(exc: SuggestionError) -> int:
    """404 for an unknown suggestion, 409 for one already decided or already cataloged, or when
    the catalog file cannot be written."""
    return 404 if isinstance(exc, UnknownSuggestion) else 409


async def accept(app: web.Application, ident: str, section: str | None) -> dict[str, Any]:
    """Accept suggestion ``ident`` (id or arXiv id) into ``section`` (None: the suggested one).

    Appends the paper to ``catalog.path``; returns its SPEC §10 object. Raises SuggestionError
    and its subclasses; a catalog that cannot be read or written (CatalogError, OSError) is a
    SuggestionError too (409: the server's file is in the way, the request itself was fine).
    """
    catalog = app[SETTINGS]["catalog.path"]
    async with app[TRIAGE_LOCK]:
        try:
            done = await asyncio.to_thread(triage.accept, app[DB], ident, catalog, section)
        except OSError as exc:  # a read-only catalog: the decision is not recorded either
            raise SuggestionError(
                f"cannot write the catalog {catalog}: {exc.strerror or exc}") from exc
        except CatalogError as exc:
            raise SuggestionError(str(exc)) from exc
    return suggestion_object(done)


async def reject(app: web.Application, ident: str, reason: str) -> dict[str, Any]:
    """Reject suggestion ``ident`` with ``reason``; returns its SPEC §10 object."""
    async with app[TRIAGE_LOCK]:
        done = await asyncio.to_thread(triage.reject, app[DB], ident, reason)
    return suggestion_object(done)

"""What the pages and the API share: the report of a run (with the configured ``[health]``
policy, as the CLI renders it), triage (accept, reject) and the fixes of the catalog sources
(the patch, one edit applied).

Triage and fixes run the blocking work in a worker thread under the application's triage lock,
so two clicks cannot append the same paper to the catalog twice or write a source file at once.
With ``catalog.sources`` set, accepting inserts the paper into the sources too
(:func:`monitor.fix.accept.accept_paper`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from monitor.catalog import CatalogError
from monitor.errors import SuggestionError, UnknownSuggestion
from monitor.fix import Edit, FixError
from monitor.fix.accept import accept_paper
from monitor.fix.proposal import Proposal, propose
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


def http_status(exc: SuggestionError | FixError) -> int:
    """404 for an unknown suggestion, 409 for one already decided or already cataloged, when
    the catalog file cannot be written, or a fix the sources refuse (the file changed, the paper
    is already linked there)."""
    return 404 if isinstance(exc, UnknownSuggestion) else 409


async def accept(app: web.Application, ident: str, section: str | None) -> dict[str, Any]:
    """Accept suggestion ``ident`` (id or arXiv id) into ``section`` (None: the suggested one).

    Inserts the paper into the catalog sources when they are configured and appends it to
    ``catalog.path``; returns its SPEC §10 object. Raises SuggestionError and its subclasses
    (a catalog that cannot be read or written, CatalogError or OSError, is one too: 409, the
    server's file is in the way, the request itself was fine) and FixError.
    """
    async with app[TRIAGE_LOCK]:
        try:
            done = await asyncio.to_thread(accept_paper, app[DB], app[SETTINGS], ident, section)
        except OSError as exc:  # a read-only catalog: the decision is not recorded either
            raise SuggestionError(f"cannot write the catalog {app[SETTINGS]['catalog.path']}: "
                                  f"{exc.strerror or exc}") from exc
        except CatalogError as exc:
            raise SuggestionError(str(exc)) from exc
    return suggestion_object(done.suggestion)


async def fixes(app: web.Application) -> Proposal:
    """What ``monitor fix`` would do now (the sources are read, nothing written). Raises
    ConfigError without ``catalog.sources``, StaleSource, FixError."""
    return await asyncio.to_thread(propose, app[DB], app[SETTINGS])


async def apply_fix(app: web.Application, source: str, old_url: str) -> list[Edit]:
    """Apply the one edit at ``source`` (``file:line``) that changes ``old_url`` (and the
    other places of the same resource), as ``monitor fix --apply`` would. Returns the edits
    made (none when it is not proposed any more). Raises StaleSource, FixError, ConfigError."""
    def run() -> list[Edit]:
        proposal = propose(app[DB], app[SETTINGS],
                           wanted=lambda e: e.source == source and e.old_url == old_url)
        proposal.plan.apply()
        return proposal.plan.edits

    async with app[TRIAGE_LOCK]:
        return await asyncio.to_thread(run)


async def reject(app: web.Application, ident: str, reason: str) -> dict[str, Any]:
    """Reject suggestion ``ident`` with ``reason``; returns its SPEC §10 object."""
    async with app[TRIAGE_LOCK]:
        done = await asyncio.to_thread(triage.reject, app[DB], ident, reason)
    return suggestion_object(done)

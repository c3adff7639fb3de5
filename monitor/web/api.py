"""The JSON API under ``/api/`` (SPEC §10 shapes).

Reads: ``GET /api/status[?state=S]``, ``GET /api/runs``, ``GET /api/suggestions[?status=S]``,
``GET /api/report[?run=ID]``, ``GET /api/fix`` (the edits ``monitor fix --json`` lists). Triage:
``POST /api/suggestions/{id}/accept`` (optional JSON body ``{"section": "..."}``) and ``/reject``
(``{"reason": "..."}``); ``{id}`` is the suggestion's id or its arXiv identifier. Fixes:
``POST /api/fix/apply`` with ``{"source": "file:line", "old_url": "..."}``. Errors are
``{"error": "..."}`` with 400, 401, 404, 409, 415 or 500
(409 also when the catalog file cannot be written).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from monitor.errors import ConfigError, SuggestionError
from monitor.fix import FixError
from monitor.report.model import run_object, status_objects, suggestion_object
from monitor.store import queries
from monitor.store.suggestions import list_suggestions
from monitor.vocabulary import STATES
from monitor.web import actions
from monitor.web.keys import DB


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False, indent=1))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def get_status(request: web.Request) -> web.Response:
    """Every active resource (optionally ``?state=``), as ``status --json``."""
    state = request.query.get("state") or None
    if state is not None and state not in STATES:
        return _error(400, f"unknown state {state!r}; choose from {', '.join(STATES)}")
    return _json(await asyncio.to_thread(status_objects, request.app[DB], state))


async def get_runs(request: web.Request) -> web.Response:
    """Past runs, newest first, as ``runs --json``."""
    runs = await asyncio.to_thread(queries.list_runs, request.app[DB])
    return _json([run_object(r) for r in runs])


async def get_suggestions(request: web.Request) -> web.Response:
    """Suggestions, best first (optionally ``?status=new|accepted|rejected``)."""
    status = request.query.get("status") or None
    try:
        rows = await asyncio.to_thread(list_suggestions, request.app[DB], status)
    except SuggestionError as exc:
        return _error(400, str(exc))
    return _json([suggestion_object(s) for s in rows])


async def get_report(request: web.Request) -> web.Response:
    """``report --format json`` of the latest run (or ``?run=ID``)."""
    raw = request.query.get("run")
    if raw is not None and not raw.isdigit():
        return _error(400, "run must be a run id")
    run_id = int(raw) if raw else None
    data = await asyncio.to_thread(actions.report_data, request.app, run_id)
    if run_id is not None and (data.run is None or data.run["id"] != run_id):
        return _error(404, f"no finished run {run_id}")
    return _json(data.as_json())


async def _body(request: web.Request) -> dict[str, Any]:
    """The optional JSON object body; HTTPBadRequest when it is not one."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep to parse
        raise web.HTTPBadRequest(reason="the body must be a JSON object") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="the body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise web.HTTPBadRequest(reason=f"{key} must be a string")
    return value


async def post_accept(request: web.Request) -> web.Response:
    """Accept: append to the catalog; 200 with the suggestion object."""
    section = _text(await _body(request), "section")
    try:
        done = await actions.accept(request.app, request.match_info["ident"], section)
    except (SuggestionError, FixError) as exc:
        return _error(actions.http_status(exc), str(exc))
    return _json(done)


async def get_fix(request: web.Request) -> web.Response:
    """The proposed edits ``{file, line, old_url, new_url, reason}`` (SPEC §12)."""
    try:
        proposal = await actions.fixes(request.app)
    except ConfigError as exc:
        return _error(404, str(exc))
    except FixError as exc:
        return _error(409, str(exc))
    return _json(proposal.plan.to_json())


async def post_fix_apply(request: web.Request) -> web.Response:
    """Apply one proposed edit; 200 with the edits made."""
    body = await _body(request)
    source, old_url = _text(body, "source"), _text(body, "old_url")
    if not source or not old_url:
        return _error(400, "give the edit's source (file:line) and old_url")
    try:
        edits = await actions.apply_fix(request.app, source, old_url)
    except ConfigError as exc:
        return _error(404, str(exc))
    except FixError as exc:
        return _error(409, str(exc))
    if not edits:
        return _error(409, f"{source}: no such edit proposed any more")
    return _json([e.to_json() for e in edits])


async def post_reject(request: web.Request) -> web.Response:
    """Reject with a reason; 200 with the suggestion object."""
    reason = _text(await _body(request), "reason") or ""
    try:
        done = await actions.reject(request.app, request.match_info["ident"], reason)
    except SuggestionError as exc:
        return _error(actions.http_status(exc), str(exc))
    return _json(done)


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the API routes."""
    router.add_get("/api/status", get_status)
    router.add_get("/api/runs", get_runs)
    router.add_get("/api/suggestions", get_suggestions)
    router.add_get("/api/report", get_report)
    router.add_post("/api/suggestions/{ident:.+}/accept", post_accept)
    router.add_post("/api/suggestions/{ident:.+}/reject", post_reject)
    router.add_get("/api/fix", get_fix)
    router.add_post("/api/fix/apply", post_fix_apply)

"""HTML pages: the report, runs, resources, the triage queue, the fixes of the catalog sources
(a patch to download, an Apply button per edit) and the login form."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from yarl import URL

from monitor.errors import ConfigError, SuggestionError
from monitor.fix import FixError
from monitor.report import FORMATS
from monitor.report.model import iso, suggestion_object
from monitor.store.suggestions import list_suggestions
from monitor.vocabulary import STATES
from monitor.web import actions, data
from monitor.web.keys import DB, GUARD
from monitor.web.security import CSRF_FIELD, SESSION_COOKIE, browser_id, set_cookie

NAV = (("/", "Report"), ("/runs", "Runs"), ("/resources", "Resources"),
       ("/suggestions", "Suggestions"), ("/fix", "Fixes"))
_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_URL_WHITESPACE = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def render(request: web.Request, template: str, context: dict[str, Any],
           status: int = 200) -> web.Response:
    """Render ``template`` with the navigation and this browser's CSRF token."""
    guard = request.app[GUARD]
    context = {"nav": NAV, "path": request.path, "csrf_field": CSRF_FIELD,
               "csrf_token": guard.csrf_token(browser_id(request)), **context}
    return aiohttp_jinja2.render_template(template, request, context, status=status)


def _int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise web.HTTPNotFound(reason=f"no {name} {raw!r}")
    return int(raw)


async def _report(request: web.Request, run_id: int | None) -> web.Response:
    data_ = await asyncio.to_thread(actions.report_data, request.app, run_id)
    if run_id is not None and (data_.run is None or data_.run["id"] != run_id):
        raise web.HTTPNotFound(reason=f"no finished run {run_id}")
    page = FORMATS["html"](data_)
    nav = aiohttp_jinja2.render_string("nav.html.j2", request, {"nav": NAV, "path": "/"})
    match = _BODY.search(page)
    if match:
        page = page[:match.end()] + nav + page[match.end():]
    return web.Response(text=page, content_type="text/html")


async def index(request: web.Request) -> web.Response:
    """The latest report, as ``monitor report`` renders it."""
    return await _report(request, None)


async def run_report(request: web.Request) -> web.Response:
    """The report of one run."""
    return await _report(request, _int(request, "id"))


async def runs(request: web.Request) -> web.Response:
    """Past runs with links to their reports."""
    rows = await asyncio.to_thread(data.runs_page, request.app[DB])
    channels = await asyncio.to_thread(data.notifications, request.app[DB])
    return render(request, "runs.html.j2", {"runs": rows, "channels": channels})


async def resources(request: web.Request) -> web.Response:
    """Active resources and their states (``?state=`` filters)."""
    state = request.query.get("state") or None
    if state is not None and state not in STATES:
        raise web.HTTPBadRequest(reason=f"unknown state {state!r}")
    rows = await asyncio.to_thread(data.resources_page, request.app[DB], state)
    return render(request, "resources.html.j2", {"rows": rows, "state": state,
                                                 "states": STATES})


async def resource(request: web.Request) -> web.Response:
    """One resource: state history, last redirect chain, fingerprint changes."""
    page = await asyncio.to_thread(data.resource_page, request.app[DB], _int(request, "id"))
    if page is None:
        raise web.HTTPNotFound(reason="no such resource")
    return render(request, "resource.html.j2", {"r": page, "s": page["status"]})


def _queue(db: Any) -> dict[str, Any]:
    rows = list_suggestions(db)
    new = [suggestion_object(s) for s in rows if s.status == "new"]
    decided = sorted((s for s in rows if s.status != "new"),
                     key=lambda s: (s.decided_at or _EPOCH, s.id), reverse=True)
    return {"new": new, "sections": data.sections(db),
            "decided": [suggestion_object(s) | {"decided_at": iso(s.decided_at)}
                        for s in decided[:30]]}


async def suggestions(request: web.Request, error: str | None = None,
                      status: int = 200) -> web.Response:
    """The triage queue: Accept (section editable) and Reject (reason) per paper."""
    context = await asyncio.to_thread(_queue, request.app[DB])
    done = request.query.get("done", "")
    context["done"] = next((s for s in context["decided"] if str(s["id"]) == done), None)
    context["error"] = error
    guard = request.app[GUARD]
    context["sign_in"] = guard.generated and not guard.authenticated(request)
    return render(request, "suggestions.html.j2", context, status=status)


async def read_form(request: web.Request) -> Any:
    """The POSTed form; HTTPBadRequest when it cannot be decoded (say, a body not in UTF-8)."""
    try:
        return await request.post()
    except ValueError:  # UnicodeDecodeError included
        raise web.HTTPBadRequest(reason="the form could not be read (not UTF-8?)") from None


async def _triage(request: web.Request, verb: str) -> web.Response:
    form = await read_form(request)
    ident = request.match_info["ident"]
    try:
        if verb == "accept":
            section = form.get("section")
            done = await actions.accept(request.app, ident,
                                        None if section is None else str(section).strip())
        else:
            done = await actions.reject(request.app, ident, str(form.get("reason", "")).strip())
    except (SuggestionError, FixError) as exc:
        return await suggestions(request, str(exc), actions.http_status(exc))
    raise web.HTTPSeeOther(f"/suggestions?done={done['id']}")


async def accept(request: web.Request) -> web.Response:
    """Form POST: accept into the given section; back to the queue."""
    return await _triage(request, "accept")


async def reject(request: web.Request) -> web.Response:
    """Form POST: reject with the given reason; back to the queue."""
    return await _triage(request, "reject")


async def fix_page(request: web.Request, error: str | None = None,
                   status: int = 200) -> web.Response:
    """What ``monitor fix`` would change: each edit with an Apply button, the patch link."""
    context: dict[str, Any] = {"p": None, "error": error,
                               "applied": request.query.get("applied", "")}
    try:
        context["p"] = await actions.fixes(request.app)
    except (ConfigError, FixError) as exc:  # no sources; a stale line (run the check again)
        context["error"] = "\n".join(filter(None, [error, str(exc)]))
        status = status if error else 409 if isinstance(exc, FixError) else 200
    return render(request, "fix.html.j2", context, status=status)


async def fix_patch(request: web.Request) -> web.Response:
    """The unified diff of every proposed edit, as a file to download (``git apply``)."""
    try:
        proposal = await actions.fixes(request.app)
    except FixError as exc:
        raise web.HTTPConflict(reason=str(exc).split("\n")[0]) from None
    except ConfigError as exc:
        raise web.HTTPNotFound(reason=str(exc).split("\n")[0]) from None
    return web.Response(body=proposal.plan.diff(), content_type="text/x-diff",
                        headers={"Content-Disposition":
                                 'attachment; filename="monitor-fix.patch"'})


async def fix_apply(request: web.Request) -> web.Response:
    """Form POST: apply one proposed edit (``source``, ``old_url``); back to the fixes."""
    form = await request.post()
    source, old_url = str(form.get("source", "")), str(form.get("old_url", ""))
    try:
        edits = await actions.apply_fix(request.app, source, old_url)
    except (ConfigError, FixError) as exc:
        return await fix_page(request, str(exc), 409)
    if not edits:
        return await fix_page(request, f"{source}: no such edit proposed any more", 409)
    raise web.HTTPSeeOther(f"/fix?applied={len(edits)}")


def login_page(request: web.Request, status: int = 200,
               error: str | None = None) -> web.Response:
    """The token form (the token is never echoed back); after it, back to where the user was
    (the queue after a refused triage POST)."""
    if request.path == "/login":
        target = request.query.get("next", "/")
    elif request.method == "POST":
        target = "/suggestions" if request.path.startswith("/suggestions/") else "/"
    else:
        target = request.path_qs
    generated = request.app[GUARD].generated
    return render(request, "login.html.j2",
                  {"next": _local(target), "error": error, "generated": generated},
                  status=status)


def _local(target: str) -> str:
    """``target`` as it will be sent and read, if that is a path on this site, else ``/``.

    The check is made on the normalised value, never on the raw one (no open redirect):
    browsers parse ``Location`` with the WHATWG URL rules (https://url.spec.whatwg.org/), which
    remove every tab and newline, strip leading and trailing C0 controls and spaces and read
    ``\\`` as ``/``; aiohttp sends ``Location`` through yarl, which drops tabs and newlines too.
    So ``/<TAB>/evil.example`` is ``//evil.example`` (another host) by the time it is used. The
    value kept is yarl's rendering (what aiohttp sends), and it must start with exactly one
    ``/`` and name no scheme or host.
    """
    cleaned = _URL_WHITESPACE.sub("", target).strip(_C0_AND_SPACE)
    try:
        sent = URL(cleaned)
    except ValueError:
        return "/"
    text = str(sent)
    if sent.absolute or sent.scheme or not text.startswith("/") or text[1:2] in ("/", "\\"):
        return "/"
    return text


async def login(request: web.Request) -> web.Response:
    """GET: the form, or with ``?token=`` (the URL ``monitor serve`` prints for a generated
    token) sign in at once. POST: the form's token. A right token sets the session cookie and
    goes to ``next``; a signed-in browser goes there directly."""
    guard = request.app[GUARD]
    if request.method == "GET":
        if "token" not in request.query:
            if guard.authenticated(request):
                raise web.HTTPSeeOther(_local(request.query.get("next", "/")))
            return login_page(request)
        given, target = request.query["token"], request.query.get("next", "/")
    else:
        form = await read_form(request)
        given, target = str(form.get("token", "")), str(form.get("next", "/"))
    if not guard.check_login(given):
        return login_page(request, 401, "Wrong token.")
    response = web.HTTPSeeOther(_local(target))
    set_cookie(response, SESSION_COOKIE, guard.session_value(), request.secure)
    raise response


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the page routes."""
    router.add_get("/", index)
    router.add_get("/runs", runs)
    router.add_get("/runs/{id}", run_report)
    router.add_get("/resources", resources)
    router.add_get("/resources/{id}", resource)
    router.add_get("/suggestions", suggestions)
    router.add_post("/suggestions/{ident:.+}/accept", accept)
    router.add_post("/suggestions/{ident:.+}/reject", reject)
    router.add_get("/fix", fix_page)
    router.add_get("/fix.patch", fix_patch)
    router.add_post("/fix/apply", fix_apply)
    router.add_route("GET", "/login", login)
    router.add_route("POST", "/login", login)

"""The aiohttp application of ``monitor serve``: pages, ``/api/``, security, and the server.

Routes::

    GET  /                              the latest report (monitor.report, HTML)
    GET  /runs, /runs/{id}              past runs; the report of one run
    GET  /resources, /resources/{id}    states; one resource's history, redirects, changes
    GET  /suggestions                   the triage queue
    POST /suggestions/{id}/accept       form: section, csrf_token
    POST /suggestions/{id}/reject       form: reason, csrf_token
    GET  /fix, /fix.patch               the fixes of the catalog sources; the patch to download
    POST /fix/apply                     form: source, old_url, csrf_token (one edit applied)
    GET  /login, POST /login            when a token is set: token form -> session cookie
    GET  /api/status, /api/runs, /api/suggestions, /api/report      SPEC §10 JSON
    POST /api/suggestions/{id}/accept   JSON body optional: {"section": "..."}
    POST /api/suggestions/{id}/reject   JSON body optional: {"reason": "..."}
    GET  /api/fix, POST /api/fix/apply  the proposed edits; {"source": ..., "old_url": ...}

Database work runs in worker threads (``asyncio.to_thread``) so the loop stays responsive; triage
and fixes are serialised by one lock (they write the catalog file and the sources). Security:
:mod:`monitor.web.security`.

Every error is answered in the page's own format (JSON under ``/api/``, else HTML), with the
security headers; an unexpected exception is logged and answered 500 the same way. The access
log percent-encodes control characters of request paths. A client must send its request head
within :data:`HEADER_TIMEOUT` seconds of connecting (or of the previous response), so
half-open connections cannot pile up (see :func:`server_options`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any, TextIO
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from jinja2 import PackageLoader, select_autoescape

from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.report.links import safe_href
from monitor.report.titles import lead
from monitor.store.db import Database
from monitor.web import api, views
from monitor.web.keys import DB, GUARD, SETTINGS, TRIAGE_LOCK
from monitor.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    Guard,
    add_headers,
    browser_id,
    configured_token,
    host_ok,
    origin_ok,
    remember_browser,
)

log = logging.getLogger("monitor.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HEADER_TIMEOUT = 15.0
"""Seconds a connection may take to send a complete request head (request line and headers),
counted from the connection's start or from the previous response."""


def printable(text: str) -> str:
    """``text`` with every character that could forge a log line or reach a terminal as a
    control sequence percent-encoded (its UTF-8 bytes): Unicode categories Cc, Cf, Cs, Co, Cn
    (C0 and C1 controls, ESC, bidirectional overrides, undecoded bytes) and the line and
    paragraph separators U+2028/U+2029 (Zl, Zp)."""
    return "".join(c if unicodedata.category(c)[0] not in "CZ" or c == " " else _percent(c)
                   for c in text)


def _percent(char: str) -> str:
    return "".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogateescape"))


class AccessLogger(AbstractAccessLogger):
    """Method, path (never the query string, control characters escaped), status and time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %d %.0f ms", request.remote, request.method,
                         printable(request.path), response.status, time * 1000)


def server_options(header_timeout: float = HEADER_TIMEOUT) -> dict[str, Any]:
    """Keyword arguments of :class:`aiohttp.web.AppRunner` (and of aiohttp's TestServer).

    aiohttp has no separate header-read timeout: its keep-alive timer is armed when a
    connection opens and after each response, and closes the connection if no complete request
    head has arrived when it fires. ``keepalive_timeout=header_timeout`` therefore bounds both
    a slow or stalled request head (slow loris) and an idle keep-alive connection (aiohttp's
    default is 3630 s). Request bodies stay bounded by aiohttp's 1 MiB ``client_max_size``.
    """
    return {"access_log_class": AccessLogger, "access_log": logging.getLogger("monitor.web.access"),
            "keepalive_timeout": header_timeout}


def deny(request: web.Request, status: int, message: str,
         headers: dict[str, str] | None = None) -> web.StreamResponse:
    """An error: JSON ``{"error": ...}`` under /api/, else a small HTML page."""
    if request.path.startswith("/api/"):
        return web.json_response({"error": message}, status=status, headers=headers)
    response = views.render(request, "error.html.j2", {"status": status, "message": message},
                            status=status)
    response.headers.update(headers or {})
    return response


async def _post_refusal(request: web.Request, guard: Guard) -> web.StreamResponse | None:
    """Why an authenticated POST is refused (CSRF, bearer token, content type), or None."""
    if request.path.startswith("/api/"):
        if guard.bearer(request):
            return None
        if not guard.generated:
            return deny(request, 401, "API requests that change data need "
                                      "'Authorization: Bearer <token>'",
                        {"WWW-Authenticate": 'Bearer realm="monitor"'})
        if request.content_type != "application/json":
            return deny(request, 415, "send Content-Type: application/json")
        return None
    if request.path == "/login":
        return None
    form = await views.read_form(request)
    if not guard.csrf_ok(request.cookies.get(CSRF_COOKIE, ""), str(form.get(CSRF_FIELD, ""))):
        return deny(request, 403, "The form expired or did not come from this page "
                                  "(missing or wrong CSRF token): reload the page and retry.")
    return None


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Host, Origin, token and CSRF checks before any handler (see monitor.web.security)."""
    guard = request.app[GUARD]
    if guard.generated and not host_ok(request):
        return deny(request, 421, "this server answers only to loopback host names")
    if request.method not in ("GET", "HEAD", "POST"):
        return deny(request, 405, "method not allowed")
    if request.method == "POST" and not origin_ok(request):
        return deny(request, 403, "cross-origin request refused")
    if request.path != "/login" and not guard.allows(request):
        if request.path.startswith("/api/"):
            return deny(request, 401, "authentication required: 'Authorization: Bearer <token>'",
                        {"WWW-Authenticate": 'Bearer realm="monitor"'})
        return views.login_page(request, status=401)
    if request.method == "POST":
        refusal = await _post_refusal(request, guard)
        if refusal is not None:
            return refusal
    browser_id(request)
    response = await handler(request)
    remember_browser(request, response)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HTTP errors as pages or JSON (with the security headers); MonitorError as 500, and any
    other exception as a logged 500 in the same format (never aiohttp's plain-text page)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return deny(request, exc.status, exc.reason)
    except MonitorError as exc:
        log.error("%s %s: %s", request.method, printable(request.path), exc)
        return deny(request, 500, str(exc))
    except Exception:
        log.exception("%s %s: unexpected error", request.method, printable(request.path))
        return deny(request, 500, "internal error (logged on the server)")


def create_app(db: Database, settings: Settings, guard: Guard | None = None) -> web.Application:
    """The application over ``db``; ``guard`` defaults to one for ``serve.host`` and the token."""
    app = web.Application(middlewares=[error_middleware, guard_middleware])
    app[DB], app[SETTINGS] = db, settings
    app[GUARD] = guard or Guard.for_bind(settings["serve.host"], configured_token(settings))
    app[TRIAGE_LOCK] = asyncio.Lock()
    env = aiohttp_jinja2.setup(app, loader=PackageLoader("monitor.web", "templates"),
                               autoescape=select_autoescape(["html", "j2"]),
                               trim_blocks=True, lstrip_blocks=True)
    env.filters["href"] = safe_href
    env.globals["lead"] = lead
    app.on_response_prepare.append(add_headers)
    views.add_routes(app.router)
    api.add_routes(app.router)
    return app


async def serve(db: Database, settings: Settings, db_url: str,
                with_schedule: bool = False) -> None:
    """``monitor serve``: run the app (and the scheduler) until SIGTERM/SIGINT."""
    from monitor.pipeline.schedule import NightlySchedule
    from monitor.pipeline.signals import wait_for_stop

    guard = Guard.for_bind(settings["serve.host"], configured_token(settings))
    runner = web.AppRunner(create_app(db, settings, guard), **server_options())
    await runner.setup()
    schedule: NightlySchedule | None = None
    try:
        await _start_site(runner, settings["serve.host"], settings["serve.port"])
        if guard.generated:
            show_login_url(guard, settings["serve.host"], runner.addresses[0][1])
        if with_schedule:
            schedule = NightlySchedule.from_settings(settings, db_url)
            schedule.start()
        await wait_for_stop()
        log.info("shutting down")
    finally:
        if schedule is not None:
            await schedule.shutdown()
        await runner.cleanup()


def show_login_url(guard: Guard, host: str, port: int, stream: TextIO | None = None) -> None:
    """Print the login URL of a generated token once on ``stream`` (standard error) when it is
    a terminal; never through logging, so it reaches no log handler or file. Without a
    terminal (systemd, a redirect to a file) only how to set a token is printed."""
    stream = stream or sys.stderr
    if not stream.isatty():
        print("monitor serve: no token configured and standard error is not a terminal, so the "
              "generated one is not shown: triage needs a token; set MONITOR_TOKEN or "
              "serve.token to use it from here", file=stream, flush=True)
        return
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/login?{urlencode({'token': guard.token})}"
    print(f"To triage (accept, reject) in the web UI, open this URL; it changes at every "
          f"start:\n    {url}", file=stream, flush=True)


async def _start_site(runner: web.AppRunner, host: str, port: int) -> None:
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as err:
        raise MonitorError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
    for address in runner.addresses:
        shown = f"[{address[0]}]" if ":" in address[0] else address[0]
        log.info("serving on http://%s:%d/", shown, address[1])

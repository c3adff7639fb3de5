"""Web UI security: token, CSRF, Host and Origin checks, response headers.

Rules (SPEC §3 ``monitor serve``):

- **Token.** ``MONITOR_TOKEN`` (environment) or ``serve.token``: the *configured* token. Bound to
  anything but loopback, the server refuses to start without one (ConfigError, exit 3). With a
  configured token, every request needs it: ``Authorization: Bearer <token>``, or the session
  cookie that ``/login`` sets (HttpOnly, SameSite=Strict; its value is derived from the token,
  never the token); API state changes need the bearer header.
- **Generated token** (as Jupyter does). On loopback without a configured token, a random token
  is generated at each start and ``monitor serve`` prints the login URL
  (``/login?token=...``) once on standard error when that is a terminal, never through logging.
  Pages and the read API stay open to loopback clients, but every state change needs the
  token: the bearer header, or the session cookie that the login URL (or the ``/login`` form)
  sets. So another local user or process cannot triage by posting to the port.
- **State changes** are POST only. Forms carry a CSRF token: an HMAC, under a per-process random
  secret, of a random per-browser cookie (signed double-submit). An API POST authenticated by
  the session cookie rather than the bearer header must send ``Content-Type:
  application/json`` (a browser cannot send that cross-site without a CORS preflight, which
  this server never grants). A POST that the browser marks as coming from another site
  (``Sec-Fetch-Site``, ``Origin``) is refused.
- **Host.** Without a configured token (loopback only) the Host header must be a loopback name,
  so a DNS rebinding page cannot talk to the server.
- **Headers** on every response: a CSP without scripts, ``nosniff``, no referrer, no framing.
- The token is never logged or rendered; the access log has no query strings.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from monitor.config import Settings
from monitor.errors import ConfigError

SESSION_COOKIE = "monitor_session"
CSRF_COOKIE = "monitor_csrf"
CSRF_FIELD = "csrf_token"
# request storage key of the browser id (a typed key where aiohttp has them, 3.13+)
BROWSER_ID: Any = web.RequestKey("browser_id", str) if hasattr(web, "RequestKey") else "browser_id"
LOOPBACK_NAMES = ("localhost", "localhost.")
_BROWSER_ID_RE = re.compile(r"[0-9a-f]{32}")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); False for ``0.0.0.0``."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def configured_token(settings: Settings) -> str:
    """The token: ``MONITOR_TOKEN`` if set, else ``serve.token`` ('' for none)."""
    return (os.environ.get("MONITOR_TOKEN") or settings["serve.token"]).strip()


def _digest(key: bytes, message: str) -> str:
    return hmac.new(key, _bytes(message), hashlib.sha256).hexdigest()


def _bytes(text: str) -> bytes:
    """UTF-8 of ``text``; undecodable bytes that aiohttp kept as surrogates go back as bytes."""
    return text.encode("utf-8", "surrogateescape")


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of two strings of any characters (``hmac.compare_digest``
    refuses non-ASCII str, which a client controls)."""
    return hmac.compare_digest(_bytes(given), _bytes(expected))


@dataclass(frozen=True)
class Guard:
    """The security policy of one server process.

    ``Guard(token=T)`` is the policy of a configured token; ``Guard()`` generates a random token
    (``generated`` is then True): reads stay open, state changes need the token.
    """

    token: str = field(default="", repr=False)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    generated: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if not self.token:
            object.__setattr__(self, "token", secrets.token_urlsafe(32))
            object.__setattr__(self, "generated", True)

    @classmethod
    def for_bind(cls, host: str, token: str) -> Guard:
        """The guard for a server bound to ``host``: ``token`` ('' to generate one on
        loopback); ConfigError when a non-loopback bind has no configured token."""
        if not token and not is_loopback(host):
            raise ConfigError(f"serve.host {host!r} is not a loopback address: set a token "
                              "(environment MONITOR_TOKEN or serve.token) or bind to 127.0.0.1")
        return cls(token=token)

    def session_value(self) -> str:
        """The session cookie's value: derived from the token, so the token never travels."""
        return _digest(self.token.encode(), "monitor-session-v1")

    def authenticated(self, request: web.Request) -> bool:
        """True when the bearer header or the session cookie matches the token."""
        return self.bearer(request) or same(request.cookies.get(SESSION_COOKIE, ""),
                                            self.session_value())

    def allows(self, request: web.Request) -> bool:
        """True when ``request`` may proceed: authenticated, or a read under a generated token."""
        return (self.generated and request.method in ("GET", "HEAD")) or self.authenticated(
            request)

    def bearer(self, request: web.Request) -> bool:
        """True when the request carries ``Authorization: Bearer <token>`` (and a token is set)."""
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return bool(self.token) and scheme.lower() == "bearer" and same(given.strip(),
                                                                         self.token)

    def check_login(self, given: str) -> bool:
        """True when ``given`` is the token."""
        return bool(self.token) and same(given.strip(), self.token)

    def csrf_token(self, browser_id: str) -> str:
        """The form token for the browser whose CSRF cookie is ``browser_id``."""
        return _digest(self.secret, browser_id)

    def csrf_ok(self, browser_id: str, given: str) -> bool:
        """True when ``given`` is this process's token for ``browser_id``."""
        return bool(browser_id) and same(given, self.csrf_token(browser_id))


def host_ok(request: web.Request) -> bool:
    """True for a loopback Host name: without a configured token only those are served (DNS
    rebinding defence)."""
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return is_loopback(host)


def origin_ok(request: web.Request) -> bool:
    """False when the browser says the request comes from another site.

    ``Sec-Fetch-Site`` decides when present; else ``Origin``, except ``null``, which browsers
    send for this site's own forms under ``Referrer-Policy: no-referrer`` (the CSRF token and
    the JSON content type rule still apply).
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin in (None, "null") or origin == f"{request.scheme}://{request.host}"


def browser_id(request: web.Request) -> str:
    """This browser's CSRF cookie value, created for the request when absent or not one of ours
    (32 lower-case hex digits)."""
    if BROWSER_ID not in request:
        given = request.cookies.get(CSRF_COOKIE, "")
        request[BROWSER_ID] = given if _BROWSER_ID_RE.fullmatch(given) else secrets.token_hex(16)
    return request[BROWSER_ID]


def set_cookie(response: web.StreamResponse, name: str, value: str, secure: bool) -> None:
    """An HttpOnly, SameSite=Strict cookie for the whole site."""
    response.set_cookie(name, value, path="/", httponly=True, samesite="Strict", secure=secure)


def remember_browser(request: web.Request, response: web.StreamResponse) -> None:
    """Set the CSRF cookie on ``response`` when :func:`browser_id` created it."""
    created = request.get(BROWSER_ID)
    if created and created != request.cookies.get(CSRF_COOKIE):
        set_cookie(response, CSRF_COOKIE, created, request.secure)


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the security headers, on every response."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)

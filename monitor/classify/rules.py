"""Rules from a :class:`~monitor.vocabulary.FetchResult` to an
:class:`~monitor.vocabulary.Outcome` (SPEC §6). Pure: no I/O, no clock.

Order of the rules:

1. transport errors (``dns connect timeout tls too_many_redirects redirect_loop invalid_url``)
   are failures with that class;
2. 401, 403, 429 (after retries), 999, or a bot-challenge page -> ``blocked``;
3. other 4xx -> ``http_4xx``; 5xx -> ``http_5xx``;
4. a 2xx/304 that is a soft 404 (a marker in the title or body, or a redirect that lands on the
   site root, a login page or a generic not-found page) -> ``soft_404``;
5. a chain that starts with permanent redirects (301/308) to a different canonical URL ->
   ``moved`` with ``final_url`` the target of the last permanent hop;
6. otherwise ``ok`` (a temporary redirect to a reachable page is ok).

``body_too_large`` is not a failure: the capped body is classified as usual and the class is kept
in ``detail``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from monitor.classify.markers import all_markers
from monitor.sites import canonical_url
from monitor.sites.base import Marker, find_marker, page_title
from monitor.urls import InvalidURL
from monitor.vocabulary import NETWORK_ERRORS, TRANSPORT_ERRORS, FetchResult, Outcome

__all__ = ["Outcome", "classify", "is_network_error", "match_marker", "one_line", "page_title",
           "permanent_target", "soft_404_redirect"]

BLOCKED_STATUSES = frozenset({401, 403, 429, 999})
PERMANENT = frozenset({301, 308})
_LOGIN = re.compile(r"/(?:login|log-in|signin|sign-in|sign_in|auth|sso|accounts/login)(?:[/?.]|$)",
                    re.I)
_NOT_FOUND_PATH = re.compile(r"(?:^|[/_.-])(?:404|not-?found|page-?not-?found|error)(?:[/_.-]|$)",
                             re.I)
_ROOT_PATHS = frozenset({"", "/", "/index.html", "/index.htm", "/index.php", "/home"})


def one_line(text: str | None, limit: int = 300) -> str | None:
    """``text`` on one line (whitespace runs collapsed), at most ``limit`` characters."""
    return " ".join(text.split())[:limit] if text else text


def is_network_error(error: str | None) -> bool:
    """True for the classes that suggest the monitor's own network is down."""
    return error in NETWORK_ERRORS


def match_marker(url: str, body: bytes, verdict: str | None = None) -> Marker | None:
    """The first marker of every marker (:func:`~monitor.classify.markers.all_markers`),
    optionally of one verdict, that matches the page."""
    return find_marker(all_markers(), url, body, verdict)


def _redirected(result: FetchResult) -> bool:
    return len(result.chain) > 1


def soft_404_redirect(start: str, final: str) -> str | None:
    """Why a redirect from ``start`` landing on ``final`` is a soft 404, or None."""
    a, b = urlsplit(start), urlsplit(final)
    if b.path in _ROOT_PATHS and not b.query and (a.path not in _ROOT_PATHS or a.query):
        return f"redirected to the site root {final}"
    if _LOGIN.search(b.path) and not _LOGIN.search(a.path):
        return f"redirected to a login page {final}"
    if _NOT_FOUND_PATH.search(b.path) and not _NOT_FOUND_PATH.search(a.path):
        return f"redirected to a not-found page {final}"
    return None


def permanent_target(result: FetchResult) -> str | None:
    """The absolute URL the leading run of 301/308 hops leads to, or None when the chain starts
    otherwise. (The next hop's URL is the Location resolved against the hop, RFC 9110 §10.2.2.)"""
    target = None
    for hop, following in zip(result.chain, result.chain[1:], strict=False):
        if hop.status not in PERMANENT:
            break
        target = following.url
    return target


def _same_resource(a: str, b: str) -> bool:
    try:
        return canonical_url(a) == canonical_url(b)
    except InvalidURL:
        return False


def _http_error(result: FetchResult, status: int) -> Outcome:
    final = result.final_url if _redirected(result) else None
    marker = match_marker(result.final_url, result.body, "blocked")
    if status in BLOCKED_STATUSES or marker:
        why = f"bot wall ({marker.name})" if marker else f"HTTP {status}"
        return Outcome("blocked", "blocked", status, final, why)
    error = "http_5xx" if status >= 500 else "http_4xx"
    return Outcome("failing", error, status, final, one_line(result.detail) or f"HTTP {status}")


def _success(result: FetchResult, status: int) -> Outcome:
    final = result.final_url if _redirected(result) else None
    note = "body_too_large" if result.error == "body_too_large" else None
    marker = match_marker(result.final_url, result.body)
    if marker is not None:
        why = f"{marker.verdict} marker {marker.name}"
        return Outcome("failing" if marker.verdict == "soft_404" else "blocked",
                       marker.verdict, status, final, why)
    if final is not None and (why := soft_404_redirect(result.url, final)):
        return Outcome("failing", "soft_404", status, final, why)
    target = permanent_target(result)
    if target is not None and not _same_resource(result.url, target):
        return Outcome("moved", None, status, target, note)
    return Outcome("ok", None, status, final, note)


def classify(result: FetchResult) -> Outcome:
    """Classify one fetch result. Pure: no I/O, no clock."""
    if result.error in TRANSPORT_ERRORS or result.status is None:
        error = result.error if result.error in TRANSPORT_ERRORS else "connect"
        final = result.final_url if _redirected(result) else None
        return Outcome("failing", error, result.status, final, one_line(result.detail))
    status = result.status
    if status >= 400 or status in BLOCKED_STATUSES:
        return _http_error(result, status)
    return _success(result, status)

"""A small synchronous JSON-over-HTTPS client for the GitHub REST API (standard library only).

- timeouts: ``timeout`` seconds to connect and for each read;
- a response body is read up to ``max_bytes`` (a bigger one is an :class:`HttpError`);
- redirects (301, 302, 303, 307, 308) are followed by hand, at most ``max_redirects``, to http(s)
  only; the ``Authorization`` header is dropped for good on the first redirect to another
  scheme, host or port, as curl and requests do; 303 turns the request into a GET;
- proxies: ``HTTPS_PROXY``/``NO_PROXY`` from the environment, as ``urllib`` reads them.

Synchronous on purpose: apprise is synchronous too, and a plain function can be called from
``monitor run``, the CLI, or ``monitor serve`` (through ``asyncio.to_thread``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HttpError(Exception):
    """The request got no usable answer (no connection, timeout, too big, bad redirect).

    The message never holds the request's headers or body.
    """


@dataclass(frozen=True)
class Response:
    """An HTTP answer: ``status``, ``headers`` (names lower-cased), ``body`` and final ``url``."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx comes back as an HTTPError, and request() decides



def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _read(resp: Any, max_bytes: int) -> bytes:
    body = resp.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise HttpError(f"the answer is larger than {max_bytes:,} bytes")
    return body


def _once(method: str, url: str, headers: Mapping[str, str], data: bytes | None,
          timeout: float, max_bytes: int) -> Response:
    req = urllib.request.Request(url, data=data, headers=dict(headers), method=method)
    try:
        opener = urllib.request.build_opener(_NoRedirect)  # reads the proxy variables now
        with opener.open(req, timeout=timeout) as resp:
            return Response(resp.status, _lower(resp.headers), _read(resp, max_bytes), url)
    except urllib.error.HTTPError as err:
        with err:
            return Response(err.code, _lower(err.headers), _read(err, max_bytes), url)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise HttpError(f"no answer from {urlsplit(url).hostname}: {reason}") from None


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()} if headers else {}


def _next_hop(resp: Response, method: str) -> tuple[str, str]:
    target = urljoin(resp.url, resp.headers.get("location", ""))
    if urlsplit(target).scheme not in ("http", "https"):
        raise HttpError(f"redirected to a non-HTTP location ({resp.status})")
    return target, "GET" if resp.status == 303 else method


def request(method: str, url: str, headers: Mapping[str, str], payload: Any = None, *,
            timeout: float = 20.0, max_bytes: int = 8_000_000,
            max_redirects: int = 5) -> Response:
    """Send one request (``payload`` as a JSON body when not None) and return the final answer.

    Raises :class:`HttpError` when there is no usable answer (module docstring).
    """
    headers = dict(headers)
    data = None if payload is None else json.dumps(payload).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    for _ in range(max_redirects + 1):
        resp = _once(method, url, headers, data, timeout, max_bytes)
        if resp.status not in REDIRECTS or "location" not in resp.headers:
            return resp
        target, method = _next_hop(resp, method)
        if method == "GET":
            data = None
            headers.pop("Content-Type", None)
        if _origin(target) != _origin(url):
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        url = target
    raise HttpError(f"more than {max_redirects} redirects")

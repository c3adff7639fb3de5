"""`Fetcher`: one aiohttp session per run; limits, redirects, cookies, retries (SPEC §6).

Rules, and where they come from:

- Redirects (RFC 9110 §15.4) are followed by hand: 301 302 303 307 308 with a `Location`,
  resolved against the current URL (relative and protocol-relative references too). 303 turns
  any method but HEAD into GET; 301/302 turn POST into GET (as browsers do). A `Location` that
  cannot be parsed or is not http(s) ends the chain with `invalid_url`; so does a redirect from
  a public address into a private network (loopback, private, link-local...; the exact rule is
  in `monitor.fetch.network`).
- Cookies: each top-level `fetch` has its own cookie jar; cookies set along the chain (and
  by earlier attempts) are sent on later requests, as a browser would.
- Loops: a request is a repeat when the same URL would be sent with the same `Cookie` header
  as an earlier request of the chain. A repeat is `redirect_loop`. So "set a cookie and
  redirect to the same URL" is followed once (the second request carries the new cookie), and
  loops for good only if nothing changes. More than `max_redirects` redirects is
  `too_many_redirects`.
- Conditional headers (If-None-Match / If-Modified-Since) go on the first request only.
- Retries: timeouts, connection errors (`connect`), 5xx and 429 are retried `retries` times,
  sleeping `backoff_base * 2**n` seconds before retry n+1. On 429 and 503 a `Retry-After`
  (delta-seconds or HTTP-date, RFC 9110 §10.2.3) replaces the backoff when it is at most
  `retry_after_cap`; a longer one stops retrying (detail says so). DNS and TLS failures are
  never retried. The result is the last attempt's, with `attempts` and `elapsed` over all.
- Proxies: `proxy` (credentials in its URL become `Proxy-Authorization`) carries every
  request; when it is empty, the environment's proxies as curl and Python read them
  (`https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy`/`HTTP_PROXY` for http ones, the
  lower-case name first; `HTTP_PROXY` is ignored under CGI, where a client can set it, "httpoxy";
  hosts in `no_proxy`/`NO_PROXY` go direct). A host that a `--connect-to` rule maps always
  goes direct: the rule says where to connect. aiohttp's `trust_env` is not used (it would also
  send ~/.netrc credentials to the sites checked). The proxy URL never appears in a result.
- Response headers: lines and fields up to `MAX_HEADER_BYTES` (256 KiB, like browsers' total
  limit; aiohttp's default of 8190 bytes would fail pages with a large CSP or cookie header
  that every browser loads) and up to `MAX_HEADERS` fields. A response that breaks HTTP/1.1
  framing (headers past the limits, a bad chunk size, bytes after the declared
  Content-Length) is `connect` with detail "invalid HTTP response: ...".
- Bodies are read in 64 KiB chunks up to `max_body_bytes` of decoded content; past the cap
  the connection is closed and the result is `body_too_large` (not a failure). A connection
  lost after the headers keeps status and headers, sets `connect` with detail
  "connection lost mid-body: ..." and is retried like any connection error.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import re
import ssl
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType

import aiohttp
from aiohttp import CookieJar, DummyCookieJar
from multidict import CIMultiDictProxy
from yarl import URL

from monitor.vocabulary import FetchResult, Hop

from . import network
from .options import FetchOptions
from .resolver import ConnectToConnector, ConnectToResolver, make_ssl_context

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPT_LANGUAGE = "en"
CHUNK_BYTES = 64 * 1024
MAX_HEADER_BYTES = 256 * 1024  # per header line / field
MAX_HEADERS = 1000
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
TRANSIENT_ERRORS = frozenset({"timeout", "connect"})
_HOST_RE = re.compile(r"[A-Za-z0-9_.-]+|[0-9A-Fa-f:.]+(%\w+)?")  # raw (punycode) host or IP

Sleep = Callable[[float], Awaitable[None]]


def parse_url(text: str) -> URL:
    """Parse an absolute http(s) URL; IDN hosts become punycode, spaces are percent-encoded.

    Raises ValueError with a human reason for anything else.
    """
    return _checked(URL(text.strip()), text)


def _checked(url: URL, text: str) -> URL:
    if url.scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {text!r}")
    if not url.raw_host:
        raise ValueError(f"URL has no host: {text!r}")
    if not _HOST_RE.fullmatch(url.raw_host):
        raise ValueError(f"invalid host {url.raw_host!r} in {text!r}")
    _ = url.port  # raises ValueError for an out-of-range port
    return url


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (RFC 9110 §10.2.3), None if absent or bad.

    Delta-seconds are taken as is; an HTTP-date is measured from `now` (epoch seconds,
    default time.time()); a date in the past gives 0.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify_exception(exc: BaseException) -> tuple[str, str]:
    """Map a transport exception to (error class, detail). See SPEC §6 for the classes."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns", _os_reason(exc.os_error)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        return "tls", getattr(cert_error, "verify_message", None) or str(cert_error)
    if isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        error = getattr(exc, "os_error", exc)
        return "tls", getattr(error, "strerror", None) or str(error) or type(error).__name__
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return "timeout", str(exc) or "timed out"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connect", _os_reason(exc.os_error)
    if isinstance(exc, aiohttp.ClientHttpProxyError):  # the proxy refused the CONNECT
        return "connect", f"the proxy answered {exc.status} {_first_line(exc.message)}".rstrip()
    if isinstance(exc, aiohttp.ClientResponseError):  # the response broke HTTP/1.1 framing
        return "connect", f"invalid HTTP response: {_first_line(exc.message)}"
    if isinstance(exc, ValueError):  # includes aiohttp.InvalidURL
        return "invalid_url", str(exc) or type(exc).__name__
    return "connect", str(exc) or type(exc).__name__


def _os_reason(error: BaseException) -> str:
    """"Connection refused" rather than "Connect call failed ('127.0.0.1', 9)"."""
    errno = getattr(error, "errno", None)
    if isinstance(errno, int) and errno > 0:
        return os.strerror(errno)
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _first_line(text: str) -> str:
    """The first line of a parser message, without the raw bytes it may quote."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    first = lines[0].split(": b'", 1)[0].split(': b"', 1)[0] if lines else "malformed response"
    return first.rstrip(":")[:200]


def _header_dict(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    """Lower-case names; repeated headers joined with ", "."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _cookie_header(jar: CookieJar, url: URL) -> str:
    cookies = jar.filter_cookies(url)
    return "; ".join(f"{m.key}={m.coded_value}" for m in cookies.values())


def _next_method(method: str, status: int) -> str:
    if status == 303 and method != "HEAD":
        return "GET"
    if status in (301, 302) and method == "POST":
        return "GET"
    return method


def _resolve_location(current: URL, location: str) -> URL:
    """Absolute URL of a Location value (RFC 9110 §10.2.2); ValueError if unusable."""
    try:
        return _checked(current.join(URL(location.strip())), location)
    except ValueError as exc:
        raise ValueError(f"bad redirect Location {location!r}: {exc}") from exc


class _HostSlots:
    """Per-host semaphores of `size` slots, created on demand, dropped when unused."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        """Hold one slot of `host` (already lower-cased) for the duration of the block."""
        sem = self._slots.get(host) or self._slots.setdefault(host, asyncio.Semaphore(self._size))
        self._users[host] += 1
        try:
            async with sem:
                yield
        finally:
            self._users[host] -= 1
            if not self._users[host]:
                del self._users[host], self._slots[host]

    def __len__(self) -> int:
        return len(self._slots)


@dataclass
class _Walk:
    """State of one top-level fetch, shared by its attempts."""

    url: str
    start: URL
    method: str
    headers: dict[str, str]
    conditional: dict[str, str]
    jar: CookieJar = field(default_factory=lambda: CookieJar(unsafe=True))
    bytes_received: int = 0


class Fetcher:
    """Fetches URLs with one aiohttp session; use as `async with Fetcher(options) as f`.

    `sleep` is awaited for backoff and Retry-After waits (seconds); tests inject a fake.
    Raises ValueError at construction for a bad `connect_to` string or an unreadable
    `ca_bundle`. `fetch` never raises for network or HTTP problems.
    """

    def __init__(self, options: FetchOptions, *, sleep: Sleep = asyncio.sleep) -> None:
        if options.concurrency < 1 or options.per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")
        self.options = options
        self._sleep = sleep
        self._resolver = ConnectToResolver(options.connect_to)
        self._ssl = make_ssl_context(options.ca_bundle)
        self._session: aiohttp.ClientSession | None = None
        self._global: asyncio.Semaphore | None = None
        self._hosts = _HostSlots(options.per_host)

    async def __aenter__(self) -> Fetcher:
        opts = self.options
        connector = ConnectToConnector(
            resolver=self._resolver, ssl=self._ssl, limit=opts.concurrency, limit_per_host=0,
            enable_cleanup_closed=True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=opts.timeout, sock_connect=opts.connect_timeout),
            cookie_jar=DummyCookieJar(),
            trust_env=False,
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
            max_headers=MAX_HEADERS,
        )
        self._global = asyncio.Semaphore(opts.concurrency)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """Fetch `url` following redirects, with retries; see the module docstring.

        `etag`/`last_modified` are the validators of an earlier response (sent as
        If-None-Match / If-Modified-Since); `headers` are extra request headers.
        Raises RuntimeError when used outside `async with`.
        """
        if self._session is None:
            raise RuntimeError("Fetcher.fetch used outside 'async with Fetcher(...)'")
        started = time.monotonic()
        try:
            start = parse_url(url)
        except ValueError as exc:
            return FetchResult(url=url, final_url=url, error="invalid_url", detail=str(exc))
        walk = _Walk(url, start, method.upper(), self._base_headers(headers),
                     _conditional(etag, last_modified))
        result, attempts = await self._with_retries(walk)
        result.attempts = attempts
        result.elapsed = time.monotonic() - started
        result.bytes_received = walk.bytes_received
        return result

    def _base_headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        base = {"User-Agent": self.options.user_agent, "Accept": ACCEPT,
                "Accept-Language": ACCEPT_LANGUAGE}
        return {**base, **(extra or {})}

    async def _with_retries(self, walk: _Walk) -> tuple[FetchResult, int]:
        attempt = 0
        while True:
            result = await self._follow(walk)
            delay = self._retry_delay(result, attempt)
            if delay is None:
                return result, attempt + 1
            await self._sleep(delay)
            attempt += 1

    def _retry_delay(self, result: FetchResult, attempt: int) -> float | None:
        """Seconds to wait before retrying `result`, or None to stop (may set detail)."""
        status = result.status or 0
        transient_status = result.error is None and (status >= 500 or status == 429)
        if not (transient_status or result.error in TRANSIENT_ERRORS):
            return None
        wait = None
        if transient_status and status in RETRY_AFTER_STATUSES:
            wait = parse_retry_after(result.headers.get("retry-after"))
            if wait is not None and wait > self.options.retry_after_cap:
                result.detail = (
                    f"Retry-After {wait:g} s exceeds cap {self.options.retry_after_cap:g} s"
                )
                return None
        if attempt >= self.options.retries:
            return None
        return wait if wait is not None else self.options.backoff_base * 2**attempt

    async def _follow(self, walk: _Walk) -> FetchResult:
        """One attempt: request and follow redirects until a final response or an error."""
        result = FetchResult(url=walk.url, final_url=walk.url)
        current, method = walk.start, walk.method
        headers = {**walk.headers, **walk.conditional}
        seen: set[tuple[str, str]] = set()
        from_public = False  # the catalog URL itself goes wherever it says
        while True:
            cookie = _cookie_header(walk.jar, current)
            if (str(current), cookie) in seen:
                return _fail(result, "redirect_loop", f"redirect loop: {current} requested again")
            seen.add((str(current), cookie))
            display = walk.url if not result.chain else str(current)
            hop = network.HopNetwork(refuse_private=from_public)
            location = await self._hop(walk, result, current, display, method, headers, cookie,
                                       hop)
            if location is None:
                return result
            from_public = hop.public is not False  # unknown counts as public
            try:
                current = _resolve_location(current, location)
            except ValueError as exc:
                return _fail(result, "invalid_url", str(exc))
            if len(result.chain) > self.options.max_redirects:
                return _fail(result, "too_many_redirects",
                             f"more than {self.options.max_redirects} redirects")
            method, headers = _next_method(method, result.chain[-1].status), walk.headers

    async def _hop(
        self, walk: _Walk, result: FetchResult, url: URL, display: str,
        method: str, headers: dict[str, str], cookie: str, hop: network.HopNetwork,
    ) -> str | None:
        """Send one request, record it in `result`; return the Location to follow, if any.

        `hop` carries the private-network rule to the connector and learns where the request
        went (see `monitor.fetch.network`)."""
        send = {**headers, "Cookie": cookie} if cookie else headers
        assert self._session is not None and self._global is not None
        async with self._hosts.hold((url.raw_host or "").lower()), self._global:
            context = network.CURRENT_HOP.set(hop)
            try:
                async with self._session.request(
                    method, url, headers=send, allow_redirects=False, proxy=self._proxy_for(url)
                ) as resp:
                    return await self._take_response(walk, result, resp, display)
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                result.error, result.detail = self._classify(exc)
                return None
            finally:
                network.CURRENT_HOP.reset(context)

    def _proxy_for(self, url: URL) -> str | None:
        """The proxy URL for a request to `url`, or None to connect directly (module rules)."""
        host, port = url.raw_host or "", url.port or 0
        if self._resolver.target(host, port) is not None:
            return None
        if self.options.proxy:
            return self.options.proxy
        proxies = urllib.request.getproxies_environment()
        chosen = proxies.get(url.scheme)
        shown = f"[{host}]" if ":" in host else host
        if not chosen or urllib.request.proxy_bypass_environment(f"{shown}:{port}", proxies):
            return None
        return chosen

    async def _take_response(
        self, walk: _Walk, result: FetchResult, resp: aiohttp.ClientResponse, display: str
    ) -> str | None:
        location = resp.headers.get("Location")
        result.chain.append(Hop(display, resp.status, location))
        result.final_url, result.status = display, resp.status
        result.headers = _header_dict(resp.headers)
        result.body, result.truncated, result.error, result.detail = b"", False, None, None
        walk.jar.update_cookies(resp.cookies, resp.url)
        try:
            if resp.status in REDIRECT_STATUSES and location is not None:
                return location
            await self._read_body(resp, result)
            return None
        finally:
            walk.bytes_received += _wire_bytes(resp)

    def _classify(self, exc: BaseException) -> tuple[str, str]:
        error, detail = classify_exception(exc)
        if error == "timeout" and detail == "timed out":
            detail = f"no complete response within {self.options.timeout:g} s"
        return error, detail

    async def _read_body(self, resp: aiohttp.ClientResponse, result: FetchResult) -> None:
        """Read up to max_body_bytes of decoded body into `result`; close the rest unread."""
        cap, body = self.options.max_body_bytes, bytearray()
        try:
            async for chunk in resp.content.iter_chunked(CHUNK_BYTES):
                if len(body) + len(chunk) > cap:
                    body += chunk[: cap - len(body)]
                    result.truncated, result.error = True, "body_too_large"
                    result.detail = f"body exceeds {cap} bytes"
                    resp.close()
                    break
                body += chunk
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            error, detail = self._classify(exc)
            result.error = error
            result.detail = f"connection lost mid-body: {detail}" if error == "connect" else detail
        result.body = bytes(body)


def _conditional(etag: str | None, last_modified: str | None) -> dict[str, str]:
    pairs = (("If-None-Match", etag), ("If-Modified-Since", last_modified))
    return {name: value for name, value in pairs if value}


def _wire_bytes(resp: aiohttp.ClientResponse) -> int:
    """Body bytes received: compressed size when content-encoded, else the decoded size."""
    stream = resp.content
    compressed = getattr(stream, "total_compressed_bytes", None)  # absent on empty bodies
    return int(compressed if compressed is not None else getattr(stream, "total_bytes", 0))


def _fail(result: FetchResult, error: str, detail: str) -> FetchResult:
    result.error, result.detail = error, detail
    return result

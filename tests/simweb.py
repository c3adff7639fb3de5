"""The simulated web: local aiohttp servers that stand in for the internet in tests (SPEC §11).

One `SimWeb` per test session runs, in a background thread with its own event loop (so it
works with `asyncio.run` and with any pytest-asyncio loop scope):

- an HTTP server and an HTTPS server on free ports of 127.0.0.1, both serving the same
  routes, chosen by the Host header (without port) and the path. Unknown routes answer 404.
- HTTPS certificates come from a trustme test CA (`ca_path`, for `ca_bundle`); a leaf for the
  requested SNI name is issued on the fly, so any hostname works.
- special hosts for transport failures, mapped by `connect_to()`:
  `NXDOMAIN_HOST` (dns), `REFUSED_HOST` (connect: a closed port), `EXPIRED_HOST`,
  `SELF_SIGNED_HOST`, `WRONG_HOST` (tls: expired / self-signed / issued for another name).

Requests reach it through curl-style connect-to rules (`connect_to()`: every host on ports 443
and 80 goes to the servers), so code under test keeps its real URLs. Typical use::

    def test_x(simweb):
        simweb.route("site.test", "/a", body=b"hello")
        simweb.route("site.test", "/old", redirect("/a"))
        options = simweb.fetch_options(retries=0)
        result = fetch_sync(options, simweb.url("site.test", "/old"))
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl
import tempfile
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web

from monitor.fetch import Fetcher, FetchOptions
from monitor.vocabulary import FetchResult

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

NXDOMAIN_HOST = "nxdomain.invalid"
REFUSED_HOST = "refused.test"
EXPIRED_HOST = "expired.test"
SELF_SIGNED_HOST = "self-signed.test"
WRONG_HOST = "wrong-host.test"
NOT_FOUND_HTML = b"<html><head><title>Not Found</title></head><body>Not Found</body></html>"


@dataclass(frozen=True)
class Hit:
    """One request seen by the simulated web. `headers` keep the case the client sent."""

    host: str
    path: str
    method: str
    query: str
    headers: dict[str, str]
    secure: bool


# ---------------------------------------------------------------- handler helpers


def static(status: int = 200, body: bytes | str = b"", headers: Mapping[str, str] | None = None,
           content_type: str = "text/html") -> Handler:
    """A handler that always answers the same response."""
    data = body.encode() if isinstance(body, str) else body

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.Response(status=status, body=data, headers=dict(headers or {}))
        if "Content-Type" not in resp.headers:
            resp.content_type = content_type
        return resp
    return handler


def redirect(to: str, status: int = 301, headers: Mapping[str, str] | None = None) -> Handler:
    """Answer `status` with `Location: to` (sent as is: relative, garbage... all allowed)."""
    return static(status, b"", {"Location": to, **(headers or {})})


def slow(seconds: float, body: bytes = b"slow") -> Handler:
    """Wait `seconds` (server side) before answering 200."""
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.Response(body=body, content_type="text/html")
    return handler


def trickle(chunk: bytes = b"x", interval: float = 0.05, count: int = 10_000) -> Handler:
    """Send headers at once, then one `chunk` every `interval` seconds, `count` times."""
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        await resp.prepare(request)
        try:
            for _ in range(count):
                await resp.write(chunk)
                await asyncio.sleep(interval)
        except (ConnectionError, RuntimeError):
            pass
        return resp
    return handler


def reset_mid_body(sent: int = 1000, announced: int = 100_000) -> Handler:
    """Announce `announced` bytes, send `sent`, then drop the connection."""
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": str(announced),
                                           "Content-Type": "text/html"})
        await resp.prepare(request)
        await resp.write(b"x" * sent)
        assert request.transport is not None
        request.transport.abort()
        raise asyncio.CancelledError
    return handler


def set_cookie_then_redirect_to_self(cookie: str = "session", value: str = "1",
                                     body: bytes = b"welcome") -> Handler:
    """Without the cookie: 302 to the same URL with Set-Cookie; with it: 200 `body`."""
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.cookies.get(cookie) == value:
            return web.Response(body=body, content_type="text/html")
        resp = web.Response(status=302, headers={"Location": str(request.rel_url)})
        resp.set_cookie(cookie, value, path="/")
        return resp
    return handler


def retry_after(n_failures: int, status: int = 503, retry_after: str | None = "1",
                body: bytes = b"ok") -> Handler:
    """Answer `status` (with Retry-After unless None) `n_failures` times, then 200 `body`."""
    seen = [0]

    async def handler(request: web.Request) -> web.StreamResponse:
        seen[0] += 1
        if seen[0] <= n_failures:
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            return web.Response(status=status, headers=headers, text="try later")
        return web.Response(body=body, content_type="text/html")
    return handler


_BOMB_MEMBER = zlib.compress(bytes(1 << 20), 9, wbits=31)  # one gzip member: 1 MiB of zeros


def gzip_bomb(decoded_mib: int = 256) -> Handler:
    """A gzip body (concatenated members, ~1 KiB each) that decodes to `decoded_mib` MiB."""
    payload = _BOMB_MEMBER * decoded_mib

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=payload, headers={"Content-Encoding": "gzip",
                                                   "Content-Type": "text/html"})
    return handler


class InFlight:
    """Handler that holds each request `delay` seconds and records the peak concurrency.

    Share one instance between routes to measure concurrency across hosts. With ``until``, a
    request is held until ``until`` requests are in flight at once (at most ``delay`` seconds),
    and once that peak was reached requests are no longer held: a limit is then shown reached
    however slowly a loaded machine sends the requests.
    """

    def __init__(self, delay: float = 0.05, body: bytes = b"ok", until: int = 0) -> None:
        self.delay, self.body, self.until = delay, body, until
        self.current = self.peak = self.total = 0
        self._reached: asyncio.Event | None = None

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.current += 1
        self.total += 1
        self.peak = max(self.peak, self.current)
        try:
            if self.until:
                await self._hold()
            else:
                await asyncio.sleep(self.delay)
        finally:
            self.current -= 1
        return web.Response(body=self.body, content_type="text/html")

    async def _hold(self) -> None:
        if self._reached is None:
            self._reached = asyncio.Event()
        if self.peak >= self.until:
            self._reached.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._reached.wait(), self.delay)


class SleepRecorder:
    """Fake `sleep` for `Fetcher(sleep=...)`: records the delays (seconds), returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# ---------------------------------------------------------------- servers


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class _Certs:
    """TLS contexts of the servers, from one trustme CA (leaves issued per SNI name)."""

    def __init__(self, workdir: Path) -> None:
        self.ca = trustme.CA()
        self.ca_path = str(workdir / "simweb-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_path)
        self._lock = threading.Lock()
        self._cache: dict[tuple[tuple[str, ...], bool], ssl.SSLContext] = {}
        self._workdir = workdir

    def _leaf_context(self, names: tuple[str, ...], expired: bool = False) -> ssl.SSLContext:
        """Server context with a leaf for `names` (cached); expired: validity ended yesterday."""
        with self._lock:
            if (names, expired) not in self._cache:
                now = dt.datetime.now(dt.UTC)
                dates = {"not_before": now - dt.timedelta(days=30),
                         "not_after": now - dt.timedelta(days=1)} if expired else {}
                ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                self.ca.issue_cert(*names, **dates).configure_cert(ctx)
                self._cache[(names, expired)] = ctx
            return self._cache[(names, expired)]

    def per_sni(self, expired: bool = False) -> ssl.SSLContext:
        """Context issuing a leaf for whatever SNI name the client sends (cached per name).

        Without SNI (IP-literal URLs) the leaf covers localhost, 127.0.0.1 and ::1.
        """
        base = self._leaf_context(("localhost", "127.0.0.1", "::1"), expired)

        def pick(sslobj: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
            with contextlib.suppress(ValueError):  # names trustme refuses keep the default
                if name:
                    sslobj.context = self._leaf_context((name,), expired)
        base.sni_callback = pick  # type: ignore[assignment]
        return base

    def fixed(self, name: str) -> ssl.SSLContext:
        """Context serving a trusted leaf issued for `name` only (no SNI switching)."""
        return self._leaf_context((name,))

    def self_signed(self) -> ssl.SSLContext:
        """Context serving a self-signed certificate that nobody trusts."""
        other = trustme.CA()
        cert, key = self._workdir / "self-signed.pem", self._workdir / "self-signed.key"
        other.cert_pem.write_to_path(str(cert))
        other.private_key_pem.write_to_path(str(key))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert), str(key))
        return ctx


class SimWeb:
    """Simulated web; see the module docstring. Start with `start()`, stop with `close()`."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="simweb-")
        self._certs = _Certs(Path(self._tmp.name))
        self.ca_path: str = self._certs.ca_path
        self.routes: dict[tuple[str, str], Handler] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="simweb", daemon=True)
        self._runner: web.AppRunner | None = None
        self.ports: dict[str, int] = {}
        self.closed_port = free_port()
        self.unresolvable: list[str] = [NXDOMAIN_HOST]

    @property
    def http_port(self) -> int:
        """Port of the plain HTTP server."""
        return self.ports["http"]

    @property
    def https_port(self) -> int:
        """Port of the HTTPS server (valid certificates for any name)."""
        return self.ports["https"]

    def start(self) -> SimWeb:
        """Start the servers in the background thread; returns self."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=30)
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        contexts: dict[str, ssl.SSLContext | None] = {
            "http": None, "https": self._certs.per_sni(),
            "expired": self._certs.per_sni(expired=True),
            "self_signed": self._certs.self_signed(),
            "wrong_host": self._certs.fixed("somebody-else.example"),
        }
        for name, ctx in contexts.items():
            sock = _listening_socket()
            self.ports[name] = sock.getsockname()[1]
            await web.SockSite(self._runner, sock, ssl_context=ctx).start()

    def close(self) -> None:
        """Stop the servers and the thread; remove the temporary files."""
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._tmp.cleanup()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:  # handlers still sleeping (slow, trickle)
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def reset(self) -> None:
        """Forget routes, hits and extra unresolvable hosts (between tests)."""
        with self._lock:
            self.routes.clear()
            self.hits.clear()
            self.unresolvable[:] = [NXDOMAIN_HOST]

    # ------------------------------------------------------------ routes

    def route(self, host: str, path: str, handler: Handler | None = None, *, status: int = 200,
              body: bytes | str = b"", headers: Mapping[str, str] | None = None,
              content_type: str = "text/html") -> None:
        """Serve `path` (no query) on `host` ("*" = any host) with `handler`, or statically."""
        chosen = handler or static(status, body, headers, content_type)
        self.routes[(host.lower(), path)] = chosen

    def url(self, host: str, path: str = "/", https: bool = True) -> str:
        """The real-looking URL of a route ("https://host/path"), reached via connect_to."""
        return f"{'https' if https else 'http'}://{host}{path}"

    def connect_to(self) -> list[str]:
        """connect-to rules: special hosts first, then every host on 443 and 80 to the servers.

        Hosts in `unresolvable` (append before building options) fail with `dns`.
        """
        ports = self.ports
        return [f"{host}::{NXDOMAIN_HOST}:" for host in self.unresolvable] + [
            f"{REFUSED_HOST}::127.0.0.1:{self.closed_port}",
            f"{EXPIRED_HOST}:443:127.0.0.1:{ports['expired']}",
            f"{SELF_SIGNED_HOST}:443:127.0.0.1:{ports['self_signed']}",
            f"{WRONG_HOST}:443:127.0.0.1:{ports['wrong_host']}",
            f":443:127.0.0.1:{ports['https']}",
            f":80:127.0.0.1:{ports['http']}",
        ]

    def fetch_options(self, **overrides: Any) -> FetchOptions:
        """FetchOptions reaching this web (connect_to, ca_bundle), short timeouts, tiny backoff."""
        base = FetchOptions(connect_to=tuple(self.connect_to()), ca_bundle=self.ca_path,
                            timeout=5.0, connect_timeout=2.0, backoff_base=0.001)
        return replace(base, **overrides)

    def hits_for(self, host: str, path: str | None = None) -> list[Hit]:
        """Requests seen for `host` (and `path`, when given)."""
        with self._lock:
            return [h for h in self.hits if h.host == host.lower() and path in (None, h.path)]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        host = (request.url.raw_host or "").lower()
        hit = Hit(host, request.path, request.method, request.query_string,
                  dict(request.headers), request.secure)
        with self._lock:
            self.hits.append(hit)
        handler = self.routes.get((host, request.path)) or self.routes.get(("*", request.path))
        if handler is None:
            return web.Response(status=404, body=NOT_FOUND_HTML, content_type="text/html")
        return await handler(request)


# ---------------------------------------------------------------- sync helper and fixtures


def fetch_sync(options: FetchOptions, url: str, *, sleep: SleepRecorder | None = None,
               **kwargs: Any) -> FetchResult:
    """Fetch one URL with a fresh Fetcher in a fresh event loop (for plain sync tests)."""
    async def run() -> FetchResult:
        async with Fetcher(options, sleep=sleep or SleepRecorder()) as fetcher:
            return await fetcher.fetch(url, **kwargs)
    return asyncio.run(run())


@pytest.fixture(scope="session")
def simweb_server() -> Iterator[SimWeb]:
    """The session's running SimWeb (routes persist; prefer the `simweb` fixture)."""
    server = SimWeb().start()
    yield server
    server.close()


@pytest.fixture
def simweb(simweb_server: SimWeb) -> Iterator[SimWeb]:
    """The running SimWeb with no routes and no hits; cleaned after the test."""
    simweb_server.reset()
    yield simweb_server
    simweb_server.reset()


@pytest.fixture
def fetch_options(simweb: SimWeb) -> FetchOptions:
    """`simweb.fetch_options()`: connect_to + ca_bundle set, timeout 5 s, backoff 1 ms."""
    return simweb.fetch_options()


@pytest.fixture
def fake_sleep() -> SleepRecorder:
    """A SleepRecorder to pass as `Fetcher(sleep=...)`."""
    return SleepRecorder()

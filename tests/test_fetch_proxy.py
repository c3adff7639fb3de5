"""Proxies (``http.proxy``, HTTPS_PROXY/HTTP_PROXY/NO_PROXY) through a local counting proxy.

The proxy below speaks both forms a client uses: ``CONNECT host:port`` (a tunnel, for https
URLs) and an absolute-form request line (``GET http://host/path``, forwarded, for http URLs).
It sends every tunnel and request to the simulated web's servers, so any host name works.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.fetch import Fetcher, FetchOptions
from monitor.fetch.arxiv_api import ArxivClient
from monitor.vocabulary import FetchResult
from monitor.watch.feed import fetch_category
from tests.simweb import SimWeb, SleepRecorder, free_port

USER, PASSWORD = "proxyuser", "pr0xy-s3cret"


@dataclass
class CountingProxy:
    """A CONNECT and forward proxy on a free port of 127.0.0.1 that counts what it carried."""

    web: SimWeb
    seen: list[tuple[str, str]] = field(default_factory=list)  # (method, target)
    auth: list[str] = field(default_factory=list)  # Proxy-Authorization values
    answer: bytes | None = None  # set to refuse every request with this status line
    port: int = 0

    def url(self, credentials: bool = False) -> str:
        userinfo = f"{USER}:{PASSWORD}@" if credentials else ""
        return f"http://{userinfo}127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ")
            headers = [line for line in lines[1:] if line]
            self.seen.append((method, target))
            self.auth += [h.split(":", 1)[1].strip() for h in headers
                          if h.lower().startswith("proxy-authorization:")]
            if self.answer is not None:
                writer.write(self.answer + b"\r\nContent-Length: 0\r\n\r\n")
                return
            if method == "CONNECT":
                await self._tunnel(reader, writer)
            else:
                await self._forward(reader, writer, method, target, version, headers)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await writer.drain()
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.web.https_port)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       method: str, target: str, version: str, headers: list[str]) -> None:
        parts = urlsplit(target)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = [h for h in headers if not h.lower().startswith(("proxy-", "connection:"))]
        request = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.web.http_port)
        up_writer.write(request.encode("latin-1"))
        await _pipe(up_reader, writer)
        up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(Exception):
        writer.write_eof()


@pytest.fixture
async def proxy(simweb: SimWeb) -> AsyncIterator[CountingProxy]:
    server = CountingProxy(simweb)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server
        listener.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No proxy variables from the developer's environment."""
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY",
                 "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


async def fetch_all(options: FetchOptions, *urls: str) -> list[FetchResult]:
    async with Fetcher(options, sleep=SleepRecorder()) as fetcher:
        return [await fetcher.fetch(u) for u in urls]


def direct_options(web: SimWeb, **extra: object) -> FetchOptions:
    """Options without --connect-to rules (those would bypass any proxy)."""
    return FetchOptions(ca_bundle=web.ca_path, timeout=5.0, connect_timeout=2.0, retries=0,
                        **extra)  # type: ignore[arg-type]


async def test_http_proxy_carries_every_request_with_its_credentials(
        simweb: SimWeb, proxy: CountingProxy, clean_env: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    simweb.route("site.test", "/a", body=b"secure page")
    simweb.route("plain.test", "/b", body=b"plain page")
    options = direct_options(simweb, proxy=proxy.url(credentials=True))
    secure, plain = await fetch_all(options, "https://site.test/a", "http://plain.test/b")
    assert (secure.status, secure.body) == (200, b"secure page")
    assert (plain.status, plain.body) == (200, b"plain page")
    assert proxy.seen == [("CONNECT", "site.test:443"), ("GET", "http://plain.test/b")]
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert proxy.auth == [basic, basic]
    assert PASSWORD not in repr(options) and PASSWORD not in caplog.text


async def test_environment_proxies_and_no_proxy(simweb: SimWeb, proxy: CountingProxy,
                                                clean_env: pytest.MonkeyPatch) -> None:
    simweb.route("site.test", "/a", body=b"via env")
    simweb.route("plain.test", "/b", body=b"plain via env")
    clean_env.setenv("HTTPS_PROXY", proxy.url())
    clean_env.setenv("http_proxy", proxy.url())
    clean_env.setenv("NO_PROXY", "skip.invalid,.corp.invalid")
    results = await fetch_all(direct_options(simweb), "https://site.test/a",
                              "http://plain.test/b", "https://skip.invalid/",
                              "https://www.corp.invalid/")
    assert [r.body for r in results[:2]] == [b"via env", b"plain via env"]
    assert [r.error for r in results[2:]] == ["dns", "dns"]  # direct: .invalid never resolves
    assert proxy.seen == [("CONNECT", "site.test:443"), ("GET", "http://plain.test/b")]


async def test_connect_to_rules_go_direct_even_with_a_proxy(
        simweb: SimWeb, proxy: CountingProxy, clean_env: pytest.MonkeyPatch) -> None:
    simweb.route("site.test", "/a", body=b"direct")
    clean_env.setenv("HTTPS_PROXY", proxy.url())
    for options in (simweb.fetch_options(), simweb.fetch_options(proxy=proxy.url())):
        (result,) = await fetch_all(options, "https://site.test/a")
        assert result.body == b"direct"
    assert proxy.seen == []


async def test_proxy_failures_never_show_the_credentials(
        simweb: SimWeb, proxy: CountingProxy, clean_env: pytest.MonkeyPatch) -> None:
    closed = f"http://{USER}:{PASSWORD}@127.0.0.1:{free_port()}"
    (refused,) = await fetch_all(direct_options(simweb, proxy=closed), "https://site.test/a")
    assert refused.error == "connect" and PASSWORD not in str(refused)
    proxy.answer = b"HTTP/1.1 407 Proxy Authentication Required"
    (denied,) = await fetch_all(direct_options(simweb, proxy=proxy.url(credentials=True)),
                                "https://site.test/a")
    assert denied.error == "connect" and "407" in (denied.detail or "")
    assert PASSWORD not in str(denied)


def test_the_proxy_setting(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(f'[http]\nproxy = "http://{USER}:{PASSWORD}@proxy.corp:3128"\n')
    assert FetchOptions.from_settings(load_settings(str(path))).proxy.endswith("@proxy.corp:3128")
    for bad in (f"socks5://{USER}:{PASSWORD}@proxy.corp:1080", f"{USER}:{PASSWORD}@proxy",
                f"http://{USER}:{PASSWORD}@proxy.corp:99999", f"http://{PASSWORD}\\n@x"):
        path.write_text(f'[http]\nproxy = "{bad}"\n')
        with pytest.raises(ConfigError, match="http.proxy") as err:
            load_settings(str(path))
        assert PASSWORD not in str(err.value)


async def test_the_arxiv_client_uses_the_proxy(simweb: SimWeb, proxy: CountingProxy,
                                               clean_env: pytest.MonkeyPatch) -> None:
    simweb.route("arxiv.test", "/api/query", status=503)
    client = ArxivClient("http://arxiv.test/api/query", delay_seconds=0.0, retries=0,
                         timeout=5.0, proxy=proxy.url(credentials=True), sleep=lambda _: None)
    since = datetime(2020, 1, 1, tzinfo=UTC)
    fetched = await asyncio.to_thread(fetch_category, client, "cs.CL", since=since,
                                      max_results=5)
    assert not fetched.complete and "503" in fetched.error
    assert [m for m, _ in proxy.seen] == ["GET"] and proxy.seen[0][1].startswith(
        "http://arxiv.test/api/query?")
    assert PASSWORD not in fetched.error

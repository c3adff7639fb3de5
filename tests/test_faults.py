"""Fault injection through the simulated web: every way a server can misbehave gets the right
error class, and a run over all of them at once completes with a result for every resource.

Faults already covered at the fetch level in tests/test_fetch.py (reset mid-body, a fast
trickle, gzip bomb, TLS expired/self-signed/wrong host, IDN and spaces, relative,
protocol-relative and garbage ``Location``) are not repeated here one by one; they are all in
the end-to-end run at the bottom, through the real Fetcher, classifier and pipeline.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select

from monitor.classify import classify
from monitor.classify.fingerprint import fingerprint
from monitor.classify.rules import match_marker, page_title
from monitor.fetch import FetchOptions
from monitor.store.db import open_database
from monitor.store.models import CheckResult, Resource, Run
from monitor.vocabulary import FetchResult
from tests.cli_helpers import monitor, write_catalog, write_config
from tests.dbutil import db_url  # noqa: F401
from tests.simweb import (
    EXPIRED_HOST,
    SELF_SIGNED_HOST,
    WRONG_HOST,
    Handler,
    SimWeb,
    fetch_sync,
    gzip_bomb,
    redirect,
    reset_mid_body,
    trickle,
)

SITE = "faults.test"
HTML = "text/html; charset=utf-8"
PAGE = ("<html><head><title>Café Menu</title></head><body><nav>Home About</nav><main>"
        "<p>Our menu changes with the seasons and every dish is made from fresh produce.</p>"
        "</main></body></html>")
INVALID_UTF8 = PAGE.encode().replace("é".encode(), b"\xe9\xff\xfe\xc3")


# ---------------------------------------------------------------- misbehaving handlers


def raw(data: bytes) -> Handler:
    """Write ``data`` as the whole HTTP response (framing included), then close."""
    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.write(data)
        request.transport.close()
        raise asyncio.CancelledError
    return handler


def head(extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n{extra}\r\n".encode()


BAD_CHUNK = raw(head("Transfer-Encoding: chunked\r\n") + b"5\r\n<p>hi\r\nzz\r\nmore\r\n0\r\n\r\n")
CUT_CHUNKS = raw(head("Transfer-Encoding: chunked\r\n") + b"5\r\n<p>hi\r\n")  # no last chunk
SHORT_LENGTH = raw(head("Content-Length: 10\r\n") + b"<title>t</title> and more")
LONG_LENGTH = raw(head("Content-Length: 1000\r\n") + b"<title>t</title> and less")


def headers(total: int, count: int) -> Handler:
    """A page whose response carries ``count`` headers of ``total`` bytes in all."""
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.Response(body=PAGE.encode(), content_type="text/html")
        for n in range(count):
            resp.headers.add(f"X-Filler-{n}", "v" * (total // count))
        return resp
    return handler


def page(body: bytes, content_type: str) -> Handler:
    """``body`` served with a literal Content-Type header (charset lies included)."""
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Type": content_type})
    return handler


# ---------------------------------------------------------------- one fault at a time


def test_trickle_one_byte_per_second_ends_in_timeout(
    simweb: SimWeb, fetch_options: FetchOptions
) -> None:
    simweb.route(SITE, "/drip", trickle(b"x", interval=1.0))
    started = time.monotonic()
    result = fetch_sync(replace(fetch_options, timeout=1.5, retries=0), simweb.url(SITE, "/drip"))
    assert (result.error, result.status) == ("timeout", 200)
    assert 1 <= len(result.body) <= 2 and time.monotonic() - started < 4
    assert classify(result).error == "timeout"


@pytest.mark.parametrize(("handler", "detail"), [
    (BAD_CHUNK, "invalid HTTP response: Invalid character in chunk size"),
    (CUT_CHUNKS, "connection lost mid-body"),
])
def test_broken_chunked_encoding_is_connect(
    simweb: SimWeb, fetch_options: FetchOptions, handler: Handler, detail: str
) -> None:
    simweb.route(SITE, "/chunks", handler)
    result = fetch_sync(replace(fetch_options, retries=0), simweb.url(SITE, "/chunks"))
    assert result.error == "connect" and (result.detail or "").startswith(detail)
    assert classify(result).outcome == "failing"


def test_content_length_longer_than_the_body(
    simweb: SimWeb, fetch_options: FetchOptions
) -> None:
    simweb.route(SITE, "/long", LONG_LENGTH)
    result = fetch_sync(replace(fetch_options, retries=0), simweb.url(SITE, "/long"))
    assert (result.status, result.error) == (200, "connect")
    assert result.body == b"<title>t</title> and less"
    assert (result.detail or "").startswith("connection lost mid-body")


def test_content_length_shorter_than_the_body(
    simweb: SimWeb, fetch_options: FetchOptions
) -> None:
    """The bytes past Content-Length arrive as a bogus next response on the same connection."""
    simweb.route(SITE, "/short", SHORT_LENGTH)
    result = fetch_sync(replace(fetch_options, retries=0), simweb.url(SITE, "/short"))
    assert result.error == "connect" and result.status is None
    assert result.detail == "invalid HTTP response: Bad status line"


@pytest.mark.parametrize(("total", "count"), [(65_536, 1), (65_536, 16), (65_536, 400)])
def test_64_kb_of_headers_are_accepted(
    simweb: SimWeb, fetch_options: FetchOptions, total: int, count: int
) -> None:
    """Browsers load pages with a huge cookie or CSP header; so does the monitor."""
    simweb.route(SITE, "/big-headers", headers(total, count))
    result = fetch_sync(fetch_options, simweb.url(SITE, "/big-headers"))
    assert (result.status, result.error) == (200, None)
    assert len(result.headers["x-filler-0"]) == total // count


@pytest.mark.parametrize(("total", "count", "detail"), [
    (1 << 20, 1, "invalid HTTP response: Got more than 262144 bytes when reading"),
    (65_536, 2000, "invalid HTTP response: Too many headers received"),
])
def test_headers_past_the_limits_are_connect(
    simweb: SimWeb, fetch_options: FetchOptions, total: int, count: int, detail: str
) -> None:
    simweb.route(SITE, "/huge-headers", headers(total, count))
    result = fetch_sync(replace(fetch_options, retries=0), simweb.url(SITE, "/huge-headers"))
    assert (result.status, result.error, result.detail) == (None, "connect", detail)


@pytest.mark.parametrize(("body", "content_type"), [
    (INVALID_UTF8, HTML),
    (PAGE.encode(), "text/html; charset=utf-16"),
    (PAGE.encode(), "text/html; charset=x-no-such-charset"),
    (PAGE.encode("utf-16"), "text/html; charset=utf-8"),
    (INVALID_UTF8, "text/html; charset=shift_jis"),
])
def test_invalid_utf8_and_lying_charsets_do_not_break_classification(
    simweb: SimWeb, fetch_options: FetchOptions, body: bytes, content_type: str
) -> None:
    simweb.route(SITE, "/text", page(body, content_type))
    result = fetch_sync(fetch_options, simweb.url(SITE, "/text"))
    assert (result.status, result.error, result.body) == (200, None, body)
    assert classify(result).outcome == "ok"
    fingerprint(result.body, result.headers["content-type"], result.url)  # never raises
    if body != PAGE.encode("utf-16"):
        assert (page_title(result.body) or "").startswith("Caf")


def test_title_survives_invalid_utf8() -> None:
    printed = fingerprint(INVALID_UTF8, HTML, "https://faults.test/")
    assert printed is not None and (printed.title or "").startswith("Caf")
    assert page_title(INVALID_UTF8) == "Caf\ufffd\ufffd\ufffd\ufffd Menu"


def test_markers_match_through_invalid_bytes() -> None:
    body = b"<title>Page not found \xc2\xb7 GitHub \xff</title><p>\xfe\xfe</p>"
    marker = match_marker("https://github.com/a/b", body)
    assert marker is not None and marker.name == "github_page_not_found"
    verdict = classify(FetchResult("https://github.com/a/b", "https://github.com/a/b",
                                   status=200, body=body))
    assert (verdict.outcome, verdict.error) == ("failing", "soft_404")


# ---------------------------------------------------------------- every fault in one run


def fault_web(web: SimWeb) -> dict[str, tuple[str, str | None, str]]:
    """Route every fault; returns ``{url: (outcome, error, detail prefix)}``."""
    web.route(SITE, "/", page(PAGE.encode(), HTML))
    routes: dict[str, tuple[Handler, tuple[str, str | None, str]]] = {
        "/reset": (reset_mid_body(sent=2000), ("failing", "connect", "connection lost mid-body")),
        "/drip": (trickle(b"x", interval=1.0), ("failing", "timeout", "")),
        "/bomb": (gzip_bomb(64), ("ok", None, "body_too_large")),
        "/bad-chunk": (BAD_CHUNK, ("failing", "connect", "invalid HTTP response")),
        "/cut-chunks": (CUT_CHUNKS, ("failing", "connect", "connection lost mid-body")),
        "/short-length": (SHORT_LENGTH, ("failing", "connect", "invalid HTTP response")),
        "/long-length": (LONG_LENGTH, ("failing", "connect", "connection lost mid-body")),
        "/invalid-utf8": (page(INVALID_UTF8, HTML), ("ok", None, "")),
        "/lying-charset": (page(PAGE.encode(), "text/html; charset=utf-16"), ("ok", None, "")),
        "/unknown-charset": (page(PAGE.encode(), "text/html; charset=x-no-such"),
                             ("ok", None, "")),
        "/headers-64k": (headers(65_536, 1), ("ok", None, "")),
        "/headers-flood": (headers(65_536, 2000), ("failing", "connect", "invalid HTTP")),
        "/docs/loc-relative": (redirect("../moved-here", 302), ("ok", None, "")),
        "/loc-protocol-relative": (redirect("//elsewhere.test/landing", 302), ("ok", None, "")),
        "/loc-garbage": (redirect("http://[bad", 302), ("failing", "invalid_url", "bad redirect")),
        "/with space": (page(PAGE.encode(), HTML), ("ok", None, "")),
    }
    for path, (handler, _) in routes.items():
        web.route(SITE, path, handler)
    web.route(SITE, "/moved-here", page(PAGE.encode(), HTML))
    web.route("elsewhere.test", "/landing", page(PAGE.encode(), HTML))
    web.route("xn--bcher-kva.test", "/a b", page(PAGE.encode(), HTML))
    expected = {f"https://{SITE}{path}": want for path, (_, want) in routes.items()}
    return expected | {
        "https://bücher.test/a b": ("ok", None, ""),
        f"https://{EXPIRED_HOST}/": ("failing", "tls", "certificate has expired"),
        f"https://{SELF_SIGNED_HOST}/": ("failing", "tls", "self-signed certificate"),
        f"https://{WRONG_HOST}/": ("failing", "tls", "Hostname mismatch"),
    }


def test_every_fault_in_one_run(simweb: SimWeb, tmp_path: Path, db_url: str) -> None:  # noqa: F811
    expected = fault_web(simweb)
    catalog = write_catalog(tmp_path / "catalog.csv", list(expected))
    config = write_config(tmp_path / "monitor.toml", simweb, catalog={"path": str(catalog)},
                          http={"timeout": 2.0, "retries": 0, "max_body_bytes": 1 << 20})
    result = monitor(db_url, config, "check")
    assert result.exit_code == 0, result.output
    db = open_database(db_url)
    try:
        with db.session() as s:
            run = s.scalars(select(Run)).one()
            results = s.scalars(select(CheckResult).where(CheckResult.run_id == run.id))
            rows = {r.url: r for r in results}
            active = s.scalar(select(func.count()).select_from(Resource).where(Resource.active))
    finally:
        db.dispose()
    assert (run.status, run.checked, active, len(rows)) == ("complete", len(expected),
                                                            len(expected), len(expected))
    got = {url: (r.outcome, r.error, r.detail or "") for url, r in rows.items()}
    wrong = {url: got[url] for url, (outcome, error, detail) in expected.items()
             if got[url][:2] != (outcome, error) or not got[url][2].startswith(detail)}
    assert wrong == {}

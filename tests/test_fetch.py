"""Fetch stage through the real path: Fetcher -> connect-to -> TLS -> the simulated web."""

from __future__ import annotations

import asyncio
import email.utils
import time
import tracemalloc
from dataclasses import replace

import pytest
from aiohttp import web

from monitor.fetch import (
    Fetcher,
    FetchOptions,
    make_ssl_context,
    parse_connect_to,
    parse_retry_after,
)
from monitor.fetch.resolver import ConnectTo, ConnectToResolver
from monitor.vocabulary import ERROR_CLASSES, TRANSPORT_ERRORS, FetchResult
from tests.simweb import (
    EXPIRED_HOST,
    NXDOMAIN_HOST,
    REFUSED_HOST,
    SELF_SIGNED_HOST,
    WRONG_HOST,
    InFlight,
    SimWeb,
    SleepRecorder,
    fetch_sync,
    gzip_bomb,
    redirect,
    reset_mid_body,
    retry_after,
    set_cookie_then_redirect_to_self,
    slow,
    trickle,
)

SITE = "site.test"


def fetch_many(options: FetchOptions, urls: list[str]) -> list[FetchResult]:
    async def run() -> list[FetchResult]:
        async with Fetcher(options, sleep=SleepRecorder()) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch(u) for u in urls)))
    return asyncio.run(run())


# ---------------------------------------------------------------- plain responses


def test_ok_200(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/a", body=b"hello", headers={"ETag": '"v1"'})
    result = fetch_sync(fetch_options, simweb.url(SITE, "/a"))
    assert (result.status, result.error, result.body) == (200, None, b"hello")
    assert result.final_url == result.url == "https://site.test/a"
    assert [(h.status, h.location) for h in result.chain] == [(200, None)]
    assert result.headers["etag"] == '"v1"' and result.headers["content-type"].startswith("text/")
    assert result.attempts == 1 and result.bytes_received == 5 and result.elapsed > 0
    sent = simweb.hits_for(SITE, "/a")[0].headers
    assert sent["User-Agent"] == fetch_options.user_agent
    assert sent["Accept"].startswith("text/html") and sent["Accept-Language"] == "en"
    assert sent["Host"] == SITE


def test_plain_http_and_unknown_route(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/a", body=b"plain")
    assert fetch_sync(fetch_options, simweb.url(SITE, "/a", https=False)).body == b"plain"
    missing = fetch_sync(fetch_options, simweb.url("nowhere.test", "/x"))
    assert (missing.status, missing.error, missing.attempts) == (404, None, 1)
    assert b"Not Found" in missing.body


def test_repeated_headers_are_joined(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.Response(text="x")
        resp.headers.add("X-Multi", "1")
        resp.headers.add("X-Multi", "2")
        return resp
    simweb.route(SITE, "/m", handler)
    assert fetch_sync(fetch_options, simweb.url(SITE, "/m")).headers["x-multi"] == "1, 2"


def test_not_modified_sends_validators_on_first_hop_only(
    simweb: SimWeb, fetch_options: FetchOptions
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(text="fresh")
    simweb.route(SITE, "/doc", handler)
    simweb.route(SITE, "/old", redirect("/doc"))
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    direct = fetch_sync(fetch_options, simweb.url(SITE, "/doc"), etag='"v1"', last_modified=date)
    assert direct.status == 304 and direct.not_modified and direct.error is None
    sent = simweb.hits_for(SITE, "/doc")[0].headers
    assert sent["If-None-Match"] == '"v1"' and sent["If-Modified-Since"] == date
    moved = fetch_sync(fetch_options, simweb.url(SITE, "/old"), etag='"v1"')
    assert moved.status == 200 and not moved.not_modified
    assert "If-None-Match" not in simweb.hits_for(SITE, "/doc")[1].headers


# ---------------------------------------------------------------- redirects


def test_redirect_chain_is_recorded(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/one", redirect("https://site.test/two", 301))
    simweb.route(SITE, "/two", redirect("https://other.test/three", 302))
    simweb.route("other.test", "/three", body=b"done")
    result = fetch_sync(fetch_options, simweb.url(SITE, "/one"))
    assert [(h.url, h.status) for h in result.chain] == [
        ("https://site.test/one", 301), ("https://site.test/two", 302),
        ("https://other.test/three", 200),
    ]
    assert result.chain[0].location == "https://site.test/two"
    assert (result.status, result.final_url, result.body, result.error) == (
        200, "https://other.test/three", b"done", None)
    assert result.redirected


@pytest.mark.parametrize(("start", "location", "final"), [
    ("/dir/start", "next", "https://site.test/dir/next"),
    ("/dir/start", "/top", "https://site.test/top"),
    ("/dir/start", "../up", "https://site.test/up"),
    ("/dir/start", "//other.test/p", "https://other.test/p"),
    ("/dir/start", "http://site.test/plain", "http://site.test/plain"),
])
def test_relative_locations(
    simweb: SimWeb, fetch_options: FetchOptions, start: str, location: str, final: str
) -> None:
    simweb.route(SITE, start, redirect(location, 302))
    for host, path in [(SITE, "/dir/next"), (SITE, "/top"), (SITE, "/up"),
                       ("other.test", "/p"), (SITE, "/plain")]:
        simweb.route(host, path, body=b"landed")
    result = fetch_sync(fetch_options, simweb.url(SITE, start))
    assert (result.final_url, result.status, result.body) == (final, 200, b"landed")


@pytest.mark.parametrize("location", ["http://[bad", "javascript:alert(1)", "ftp://x.test/f",
                                      "http://site.test:99999/"])
def test_garbage_location_is_invalid_url(
    simweb: SimWeb, fetch_options: FetchOptions, location: str
) -> None:
    simweb.route(SITE, "/bad", redirect(location))
    result = fetch_sync(fetch_options, simweb.url(SITE, "/bad"))
    assert (result.error, result.status, len(result.chain)) == ("invalid_url", 301, 1)
    assert result.detail


def test_redirect_loop(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/a", redirect("/b"))
    simweb.route(SITE, "/b", redirect("/a"))
    simweb.route(SITE, "/self", redirect("/self", 302))
    loop = fetch_sync(fetch_options, simweb.url(SITE, "/a"))
    assert loop.error == "redirect_loop" and [h.status for h in loop.chain] == [301, 301]
    self_loop = fetch_sync(fetch_options, simweb.url(SITE, "/self"))
    assert self_loop.error == "redirect_loop" and len(self_loop.chain) == 1
    assert self_loop.attempts == 1


def test_too_many_redirects(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    for n in range(6):
        simweb.route(SITE, f"/r{n}", redirect(f"/r{n + 1}"))
    simweb.route(SITE, "/r6", body=b"end")
    options = replace(fetch_options, max_redirects=5)
    too_many = fetch_sync(options, simweb.url(SITE, "/r0"))
    assert too_many.error == "too_many_redirects" and len(too_many.chain) == 6
    assert fetch_sync(options, simweb.url(SITE, "/r1")).body == b"end"  # exactly 5: fine


def test_cookie_then_redirect_to_self_is_not_a_loop(
    simweb: SimWeb, fetch_options: FetchOptions
) -> None:
    simweb.route(SITE, "/gate", set_cookie_then_redirect_to_self())
    result = fetch_sync(fetch_options, simweb.url(SITE, "/gate"))
    assert (result.status, result.error, result.body) == (200, None, b"welcome")
    assert [h.status for h in result.chain] == [302, 200]
    first, second = simweb.hits_for(SITE, "/gate")
    assert "Cookie" not in first.headers and second.headers["Cookie"] == "session=1"


def test_cookies_follow_the_chain_within_their_domain(
    simweb: SimWeb, fetch_options: FetchOptions
) -> None:
    async def login(request: web.Request) -> web.StreamResponse:
        resp = web.Response(status=302, headers={"Location": "/home"})
        resp.set_cookie("sid", "abc")
        return resp
    simweb.route(SITE, "/login", login)
    simweb.route(SITE, "/home", redirect("https://other.test/x", 302))
    simweb.route("other.test", "/x", body=b"ok")
    assert fetch_sync(fetch_options, simweb.url(SITE, "/login")).status == 200
    assert simweb.hits_for(SITE, "/home")[0].headers["Cookie"] == "sid=abc"
    assert "Cookie" not in simweb.hits_for("other.test", "/x")[0].headers
    fetch_sync(fetch_options, simweb.url(SITE, "/home"))  # a new fetch starts without cookies
    assert "Cookie" not in simweb.hits_for(SITE, "/home")[1].headers


def test_303_turns_post_into_get(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/form", redirect("/done", 303))
    simweb.route(SITE, "/done", body=b"ok")
    assert fetch_sync(fetch_options, simweb.url(SITE, "/form"), method="POST").status == 200
    assert [h.method for h in simweb.hits] == ["POST", "GET"]


def test_redirect_to_unreachable_host_keeps_chain(
    simweb: SimWeb, fetch_options: FetchOptions
) -> None:
    simweb.route(SITE, "/gone", redirect(f"https://{REFUSED_HOST}/"))
    result = fetch_sync(replace(fetch_options, retries=0), simweb.url(SITE, "/gone"))
    assert (result.error, result.status, len(result.chain)) == ("connect", 301, 1)


# ---------------------------------------------------------------- transport errors


def test_dns_failure_is_not_retried(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    sleep = SleepRecorder()
    simweb.unresolvable.append("vanished.test")
    options = simweb.fetch_options()
    for host in (NXDOMAIN_HOST, "vanished.test"):
        started = time.monotonic()
        result = fetch_sync(options, simweb.url(host, "/"), sleep=sleep)
        assert (result.error, result.status, result.attempts) == ("dns", None, 1)
        assert result.detail and time.monotonic() - started < 2
    assert sleep.delays == [] and simweb.hits == []


def test_connection_refused_is_retried(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    sleep = SleepRecorder()
    options = replace(fetch_options, backoff_base=1.0)
    result = fetch_sync(options, simweb.url(REFUSED_HOST, "/"), sleep=sleep)
    assert (result.error, result.status, result.attempts) == ("connect", None, 3)
    assert result.detail == "Connection refused" and sleep.delays == [1.0, 2.0]


def test_timeouts(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/slow", slow(3))
    simweb.route(SITE, "/trickle", trickle(b"x", interval=0.05))
    options = replace(fetch_options, timeout=0.3, retries=0)
    started = time.monotonic()
    headless = fetch_sync(options, simweb.url(SITE, "/slow"))
    trickled = fetch_sync(options, simweb.url(SITE, "/trickle"))
    assert (headless.error, headless.status) == ("timeout", None)
    assert (trickled.error, trickled.status) == ("timeout", 200)
    assert 0 < len(trickled.body) < 100 and time.monotonic() - started < 2.5


@pytest.mark.parametrize(("host", "detail"), [
    (EXPIRED_HOST, "certificate has expired"),
    (SELF_SIGNED_HOST, "self-signed certificate"),
    (WRONG_HOST, "Hostname mismatch"),
])
def test_tls_failures(simweb: SimWeb, fetch_options: FetchOptions, host: str, detail: str) -> None:
    sleep = SleepRecorder()
    result = fetch_sync(fetch_options, simweb.url(host, "/"), sleep=sleep)
    assert (result.error, result.status, result.attempts) == ("tls", None, 1)
    assert result.detail is not None and result.detail.startswith(detail)
    assert sleep.delays == []


def test_tls_to_a_plain_http_port(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    options = replace(fetch_options, connect_to=(f"::127.0.0.1:{simweb.http_port}",))
    result = fetch_sync(options, simweb.url(SITE, "/"))
    assert result.error == "tls" and "WRONG_VERSION_NUMBER" in (result.detail or "")


def test_untrusted_ca_without_bundle(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/", body=b"x")
    result = fetch_sync(replace(fetch_options, ca_bundle=""), simweb.url(SITE, "/"))
    assert result.error == "tls" and "issuer" in (result.detail or "")


def test_reset_mid_body_keeps_status(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/cut", reset_mid_body(sent=1000))
    result = fetch_sync(replace(fetch_options, retries=1), simweb.url(SITE, "/cut"))
    assert (result.error, result.status, result.attempts) == ("connect", 200, 2)
    assert (result.detail or "").startswith("connection lost mid-body")
    assert result.body == b"x" * 1000


@pytest.mark.parametrize("url", ["ftp://site.test/", "not a url", "http://", "mailto:a@b.c",
                                 "http://site.test:99999/", "https://exa mple.test/"])
def test_invalid_urls(fetch_options: FetchOptions, url: str) -> None:
    result = fetch_sync(fetch_options, url)
    assert (result.error, result.status, result.url, result.final_url) == (
        "invalid_url", None, url, url)


def test_idn_host_and_spaces(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route("xn--bcher-kva.test", "/a b", body=b"books")
    result = fetch_sync(fetch_options, "https://bücher.test/a b")
    assert (result.status, result.body, result.url) == (200, b"books", "https://bücher.test/a b")
    assert simweb.hits[0].headers["Host"] == "xn--bcher-kva.test"


def test_fetch_outside_context_is_a_programming_error(fetch_options: FetchOptions) -> None:
    with pytest.raises(RuntimeError):
        asyncio.run(Fetcher(fetch_options).fetch("https://site.test/"))


# ---------------------------------------------------------------- retries


def test_503_twice_then_200(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    sleep = SleepRecorder()
    simweb.route(SITE, "/flaky", retry_after(2, 503, retry_after=None))
    options = replace(fetch_options, retries=2, backoff_base=0.5)
    result = fetch_sync(options, simweb.url(SITE, "/flaky"), sleep=sleep)
    assert (result.status, result.attempts, result.body) == (200, 3, b"ok")
    assert sleep.delays == [0.5, 1.0]


def test_retry_after_seconds_and_date_are_honoured(
    simweb: SimWeb, fetch_options: FetchOptions
) -> None:
    sleep = SleepRecorder()
    simweb.route(SITE, "/ra", retry_after(1, 429, retry_after="7"))
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    simweb.route(SITE, "/date", retry_after(1, 503, retry_after=when))
    assert fetch_sync(fetch_options, simweb.url(SITE, "/ra"), sleep=sleep).status == 200
    assert fetch_sync(fetch_options, simweb.url(SITE, "/date"), sleep=sleep).status == 200
    assert sleep.delays[0] == 7.0 and 27 < sleep.delays[1] <= 30


def test_retry_after_over_cap_stops(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    sleep = SleepRecorder()
    simweb.route(SITE, "/later", retry_after(5, 429, retry_after="600"))
    result = fetch_sync(replace(fetch_options, retry_after_cap=60), simweb.url(SITE, "/later"),
                        sleep=sleep)
    assert (result.status, result.attempts, result.error) == (429, 1, None)
    assert result.detail == "Retry-After 600 s exceeds cap 60 s" and sleep.delays == []


def test_429_after_retries_keeps_429(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/busy", retry_after(10, 429, retry_after=None))
    result = fetch_sync(fetch_options, simweb.url(SITE, "/busy"))
    assert (result.status, result.attempts, result.error) == (429, 3, None)
    assert len(simweb.hits_for(SITE, "/busy")) == 3


def test_404_is_not_retried(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/nope", status=404, body=b"gone")
    assert fetch_sync(fetch_options, simweb.url(SITE, "/nope")).attempts == 1


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0), (" 0 ", 0.0), ("soon", None), ("", None), (None, None), ("-5", None),
    ("Thu, 01 Jan 1970 00:01:40 GMT", 60.0), ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=40.0) == expected


# ---------------------------------------------------------------- bodies


def test_body_cap(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/big", body=b"a" * 200_000)
    simweb.route(SITE, "/exact", body=b"b" * 1000)
    capped = fetch_sync(replace(fetch_options, max_body_bytes=1000), simweb.url(SITE, "/big"))
    assert (capped.error, capped.truncated, capped.body) == ("body_too_large", True, b"a" * 1000)
    assert capped.status == 200 and capped.attempts == 1
    exact = fetch_sync(replace(fetch_options, max_body_bytes=1000), simweb.url(SITE, "/exact"))
    assert (exact.error, exact.truncated, len(exact.body)) == (None, False, 1000)


def test_gzip_bomb_is_capped_without_blowing_memory(
    simweb: SimWeb, fetch_options: FetchOptions
) -> None:
    simweb.route(SITE, "/bomb", gzip_bomb(decoded_mib=256))
    tracemalloc.start()
    try:
        result = fetch_sync(replace(fetch_options, max_body_bytes=1 << 20),
                            simweb.url(SITE, "/bomb"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (result.error, result.truncated, result.body) == ("body_too_large", True, bytes(1 << 20))
    assert result.headers["content-encoding"] == "gzip"
    assert peak < 40 << 20 and result.bytes_received < 1 << 20


# ---------------------------------------------------------------- limits


def test_per_host_limit(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    gauge = InFlight(delay=5.0, until=2)
    for n in range(6):
        simweb.route(SITE, f"/p{n}", gauge)
    options = replace(fetch_options, per_host=2, concurrency=10)
    results = fetch_many(options, [simweb.url(SITE, f"/p{n}") for n in range(6)])
    assert [r.status for r in results] == [200] * 6
    assert gauge.peak == 2 and gauge.total == 6


def test_global_limit(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    gauge = InFlight(delay=5.0, until=3)
    hosts = [f"h{n}.test" for n in range(7)]
    for host in hosts:
        simweb.route(host, "/", gauge)
    options = replace(fetch_options, per_host=5, concurrency=3)
    results = fetch_many(options, [simweb.url(h, "/") for h in hosts])
    assert all(r.status == 200 for r in results) and gauge.peak == 3


def test_host_slots_are_dropped_after_use(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/", body=b"x")

    async def run() -> int:
        async with Fetcher(fetch_options) as fetcher:
            await fetcher.fetch(simweb.url(SITE, "/"))
            return len(fetcher._hosts)
    assert asyncio.run(run()) == 0


# ---------------------------------------------------------------- connect-to and CA bundle


@pytest.mark.parametrize(("rule", "parsed"), [
    ("example.com:443:127.0.0.1:8443", ConnectTo("example.com", 443, "127.0.0.1", 8443)),
    ("::127.0.0.1:", ConnectTo("", None, "127.0.0.1", None)),
    (":80::8080", ConnectTo("", 80, "", 8080)),
    ("[::1]:443:[::1]:9443", ConnectTo("::1", 443, "::1", 9443)),
    ("Bücher.Test:443:localhost:", ConnectTo("xn--bcher-kva.test", 443, "localhost", None)),
])
def test_parse_connect_to(rule: str, parsed: ConnectTo) -> None:
    assert parse_connect_to(rule) == parsed


@pytest.mark.parametrize("rule", ["a:1:b", "a:1:b:2:3", "a:x:b:2", "a:1:b:70000", "::1:443:b:1",
                                  "[zz]:1:b:2"])
def test_parse_connect_to_errors(rule: str) -> None:
    with pytest.raises(ValueError, match="connect-to") as info:
        parse_connect_to(rule)
    assert repr(rule) in str(info.value)


def test_resolver_mapping_rules() -> None:
    resolver = ConnectToResolver(["a.test:443:127.0.0.2:1", ":443:127.0.0.3:", "b.test:::2"])
    assert resolver.target("A.test", 443) == ("127.0.0.2", 1)
    assert resolver.target("c.test", 443) == ("127.0.0.3", 443)
    assert resolver.target("b.test", 80) == ("b.test", 2)
    assert resolver.target("c.test", 80) is None


def test_connect_to_port_mapping_keeps_host(simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route(SITE, "/p", body=b"mapped")
    rules = (f"{SITE}:8080:127.0.0.1:{simweb.http_port}", f"::127.0.0.1:{simweb.https_port}")
    options = replace(fetch_options, connect_to=rules)
    assert fetch_sync(options, f"http://{SITE}:8080/p").body == b"mapped"
    assert simweb.hits[-1].headers["Host"] == f"{SITE}:8080"
    assert fetch_sync(options, f"https://{SITE}:9999/p").body == b"mapped"  # any host, any port
    assert fetch_sync(options, "https://127.0.0.1/p").status == 404  # IP literals are mapped too


def test_ca_bundle_missing_file(tmp_path: object) -> None:
    missing = "/nonexistent/ca.pem"
    with pytest.raises(ValueError, match="nonexistent/ca.pem"):
        make_ssl_context(missing)
    with pytest.raises(ValueError, match="nonexistent/ca.pem"):
        Fetcher(FetchOptions(ca_bundle=missing))


def test_bad_connect_to_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="nope"):
        Fetcher(FetchOptions(connect_to=("nope",)))


def test_error_class_names_match_the_spec() -> None:
    assert set(TRANSPORT_ERRORS) <= set(ERROR_CLASSES) and len(ERROR_CLASSES) == 12


async def test_a_failed_name_is_not_looked_up_twice_in_a_run() -> None:
    import socket

    from monitor.fetch.resolver import ConnectToResolver

    class Base:
        calls = 0

        async def resolve(self, host: str, port: int, family: int) -> list:
            Base.calls += 1
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        async def close(self) -> None:
            return None

    resolver = ConnectToResolver([], base=Base())  # type: ignore[arg-type]
    for _ in range(3):
        with pytest.raises(socket.gaierror):
            await resolver.resolve("down.test", 443)
    assert Base.calls == 1

"""The private-network redirect rule (monitor.fetch.network) through the real fetch path.

In the simulated web every name is mapped by ``--connect-to`` and counts as public by its name;
a redirect to a literal private address or to ``localhost`` is what gets refused. Rule 3 (the
address connected to) is exercised with a fake DNS for names on a port no rule maps.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from monitor.fetch import Fetcher, FetchOptions
from monitor.fetch.network import address_kind, named_address
from monitor.vocabulary import FetchResult
from tests.simweb import SimWeb, SleepRecorder, fetch_sync, redirect

PUBLIC = "public.test"


@pytest.mark.parametrize(("address", "kind"), [
    ("8.8.8.8", None), ("2606:4700::1111", None), ("127.0.0.1", "loopback"),
    ("127.5.6.7", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"),
    ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("100.64.0.1", "shared"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("::ffff:10.0.0.1", "private"),
    ("::ffff:127.0.0.1", "loopback"), ("64:ff9b::a9fe:a9fe", "link-local"),
    ("64:ff9b::808:808", None), ("192.0.2.1", "special-purpose"), ("224.0.0.1", "multicast"),
])
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(("host", "address"), [
    ("10.0.0.1", "10.0.0.1"), ("[::1]", "::1"), ("localhost", "127.0.0.1"),
    ("LocalHost.", "127.0.0.1"), ("api.localhost", "127.0.0.1"), ("2130706433", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("0x7f.0.0.1", "127.0.0.1"), ("example.org", None),
    ("1e100.net", None), ("[fe80::1%25eth0]", "fe80::1"),
])
def test_named_addresses(host: str, address: str | None) -> None:
    named = named_address(host)
    assert (str(named) if named else None) == address


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin", "http://127.0.0.1/x",
    "http://localhost/x", "http://[::1]/x", "http://[::ffff:10.0.0.1]/x", "http://2130706433/x",
    "http://100.64.0.1/x", "https://192.168.0.1/x", "http://0.0.0.0/x",
])
def test_a_public_page_cannot_redirect_into_a_private_network(
        simweb: SimWeb, fetch_options: FetchOptions, target: str) -> None:
    simweb.route(PUBLIC, "/go", redirect(target, 302))
    simweb.route("*", "/latest/meta-data/", body=b"secret")
    simweb.route("*", "/admin", body=b"secret")
    simweb.route("*", "/x", body=b"secret")
    result = fetch_sync(fetch_options, simweb.url(PUBLIC, "/go"))
    assert result.error == "invalid_url", result
    assert "private network refused" in (result.detail or "")
    assert str(URL(target)) in (result.detail or "")
    assert [h.status for h in result.chain] == [302] and result.body == b""
    assert [h.host for h in simweb.hits] == [PUBLIC]  # the internal request was never sent


def test_the_rule_holds_after_any_number_of_hops(simweb: SimWeb,
                                                 fetch_options: FetchOptions) -> None:
    simweb.route("10.0.0.1", "/start", redirect(simweb.url(PUBLIC, "/hop"), 301))
    simweb.route(PUBLIC, "/hop", redirect("http://10.0.0.2/inside", 301))
    result = fetch_sync(fetch_options, "http://10.0.0.1/start")
    assert result.error == "invalid_url" and len(result.chain) == 2
    assert not simweb.hits_for("10.0.0.2")


def test_private_catalog_urls_and_their_private_redirects_are_followed(
        simweb: SimWeb, fetch_options: FetchOptions) -> None:
    simweb.route("10.0.0.1", "/old", redirect("http://10.0.0.2/new", 301))
    simweb.route("10.0.0.2", "/new", body=b"intranet")
    simweb.route("127.0.0.1", "/a", redirect("http://localhost/b", 302))
    simweb.route("localhost", "/b", redirect("http://[::1]/c", 302))
    simweb.route("::1", "/c", body=b"loopback")
    moved = fetch_sync(fetch_options, "http://10.0.0.1/old")
    assert (moved.error, moved.status, moved.body) == (None, 200, b"intranet")
    local = fetch_sync(fetch_options, "http://127.0.0.1/a")
    assert (local.error, local.status, local.body) == (None, 200, b"loopback")
    simweb.route(PUBLIC, "/fine", redirect(simweb.url("other.test", "/page"), 301))
    simweb.route("other.test", "/page", body=b"public")
    public = fetch_sync(fetch_options, simweb.url(PUBLIC, "/fine"))
    assert (public.error, public.body) == (None, b"public")


class FakeDNS(AbstractResolver):
    """Answers every name with 127.0.0.1 (what a rebinding or internal DNS name would do)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.asked.append(host)
        return [ResolveResult(hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV)]

    async def close(self) -> None:
        return None


def test_names_are_judged_by_the_address_they_connect_to(
        simweb: SimWeb, fetch_options: FetchOptions, monkeypatch: pytest.MonkeyPatch) -> None:
    dns = FakeDNS()
    monkeypatch.setattr("monitor.fetch.resolver.ThreadedResolver", lambda: dns)
    inside = f"http://intranet.example:{simweb.http_port}"  # no --connect-to rule for this port
    simweb.route("intranet.example", "/page", body=b"internal")
    simweb.route("intranet.example", "/move", redirect(f"{inside}/page", 301))
    simweb.route(PUBLIC, "/go", redirect(f"{inside}/page", 302))

    async def run() -> list[FetchResult]:
        async with Fetcher(fetch_options, sleep=SleepRecorder()) as fetcher:
            first = await fetcher.fetch(f"{inside}/move")  # a catalog URL: followed, pooled
            second = await fetcher.fetch(simweb.url(PUBLIC, "/go"))  # same host, from public
            return [first, second]

    first, second = asyncio.run(run())
    assert (first.error, first.body) == (None, b"internal") and "intranet.example" in dns.asked
    assert second.error == "invalid_url" and "127.0.0.1, a loopback address" in second.detail
    assert len(simweb.hits_for("intranet.example")) == 2  # the refused request never arrived

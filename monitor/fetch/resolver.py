"""Where connections go and whom they trust: curl-style `--connect-to`, and `--ca-bundle`.

`--connect-to` is done in name resolution, never by rewriting URLs.

A rule "HOST1:PORT1:HOST2:PORT2" (curl's `--connect-to`, see curl(1)) sends connections meant
for HOST1:PORT1 to HOST2:PORT2, while the URL, the Host header, TLS SNI and the certificate
check keep HOST1. An empty HOST1 or PORT1 matches any; an empty HOST2 or PORT2 means
unchanged. IPv6 addresses are written in brackets ("[::1]"). The first matching rule wins.

`ConnectToResolver` applies the rules inside an `aiohttp.abc.AbstractResolver`, so aiohttp
connects to the target while `req.host` (SNI, hostname verification) stays HOST1. aiohttp skips
the resolver for IP-literal URLs; `ConnectToConnector` routes those through it when a rule
matches. Names under the special-use `.invalid` TLD are answered NXDOMAIN locally, without a
query (RFC 6761 §6.4), so tests can produce `dns` errors without touching the network.

`make_ssl_context` builds the verifying TLS context: the system store plus `--ca-bundle`.

`ConnectToConnector.connect` also enforces the private-network redirect rule (see
`monitor.fetch.network`): hosts that a rule maps are judged by their own name, never by the
local address the rule sends them to.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import TCPConnector
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.helpers import is_ip_address
from aiohttp.resolver import ThreadedResolver

from . import network

_NUMERIC_FLAGS = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


@dataclass(frozen=True)
class ConnectTo:
    """One parsed rule. `host1`/`host2` are lower-case, unbracketed, "" for any/unchanged;
    `port1`/`port2` are None for any/unchanged."""

    host1: str
    port1: int | None
    host2: str
    port2: int | None

    def matches(self, host: str, port: int) -> bool:
        """True when a connection to (host, port) falls under this rule."""
        host_ok = not self.host1 or self.host1 == _norm_host(host)
        return host_ok and (self.port1 is None or self.port1 == port)

    def target(self, host: str, port: int) -> tuple[str, int]:
        """The (host, port) to connect to instead of (host, port)."""
        return (self.host2 or host, port if self.port2 is None else self.port2)


def _norm_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _split_fields(rule: str) -> list[str]:
    """Split on ':' outside brackets: "[::1]:443::8443" -> ["[::1]", "443", "", "8443"]."""
    fields, current, depth = [], "", 0
    for char in rule:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == ":" and depth == 0:
            fields.append(current)
            current = ""
        else:
            current += char
    fields.append(current)
    return fields


def _parse_port(text: str, rule: str) -> int | None:
    if text == "":
        return None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"invalid port {text!r} in connect-to {rule!r}")
    return int(text)


def _parse_host(text: str, rule: str) -> str:
    bracketed = text.startswith("[") and text.endswith("]")
    inner = text[1:-1] if bracketed else text
    if "[" in inner or "]" in inner or (":" in inner and not bracketed):
        raise ValueError(f"invalid host {text!r} in connect-to {rule!r}")
    if bracketed and not (":" in inner and is_ip_address(inner)):
        raise ValueError(f"invalid IPv6 address {text!r} in connect-to {rule!r}")
    try:
        return _norm_host(inner.encode("idna").decode("ascii")) if inner else ""
    except UnicodeError as exc:
        raise ValueError(f"invalid host {text!r} in connect-to {rule!r}") from exc


def parse_connect_to(rule: str) -> ConnectTo:
    """Parse "HOST1:PORT1:HOST2:PORT2" (curl syntax). Raises ValueError naming `rule`."""
    fields = _split_fields(rule)
    if len(fields) != 4:
        raise ValueError(f"connect-to {rule!r} is not HOST1:PORT1:HOST2:PORT2")
    host1, port1, host2, port2 = fields
    return ConnectTo(
        _parse_host(host1, rule), _parse_port(port1, rule),
        _parse_host(host2, rule), _parse_port(port2, rule),
    )


def is_invalid_tld(host: str) -> bool:
    """True for names under the `.invalid` TLD, which never resolve (RFC 6761 §6.4)."""
    name = _norm_host(host)
    return name == "invalid" or name.endswith(".invalid")


class ConnectToResolver(AbstractResolver):
    """Resolver applying `ConnectTo` rules, then resolving the target with `base`.

    `resolve(host, port, family)` returns ResolveResult dicts whose `host`/`port` are the
    target address and whose `hostname` stays the requested host. Raises socket.gaierror
    (EAI_NONAME) for `.invalid` names, and whatever `base` raises for other failures.

    A name that failed to resolve fails again at once for the life of the resolver (one run):
    without a network every lookup can take seconds, and a catalog has many URLs per host.
    """

    def __init__(self, rules: Sequence[str], base: AbstractResolver | None = None) -> None:
        self.rules: tuple[ConnectTo, ...] = tuple(parse_connect_to(r) for r in rules)
        self._base = base
        self._failed: dict[str, OSError] = {}

    def target(self, host: str, port: int) -> tuple[str, int] | None:
        """The mapped (host, port) for a connection to (host, port), or None if unmapped."""
        for rule in self.rules:
            if rule.matches(host, port):
                return rule.target(_norm_host(host), port)
        return None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve `host`:`port` after applying the rules; see the class docstring."""
        target_host, target_port = self.target(host, port) or (host, port)
        if is_invalid_tld(target_host):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if is_ip_address(target_host):
            return [_numeric_result(host, target_host, target_port)]
        if target_host in self._failed:
            raise self._failed[target_host]
        if self._base is None:
            self._base = ThreadedResolver()
        try:
            found = await self._base.resolve(target_host, target_port, family)
        except OSError as err:
            self._failed[target_host] = err
            raise
        return [{**r, "hostname": host} for r in found]

    async def close(self) -> None:
        """Close the wrapped resolver."""
        if self._base is not None:
            await self._base.close()


def _numeric_result(hostname: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(
        hostname=hostname, host=address, port=port, family=family, proto=0, flags=_NUMERIC_FLAGS
    )


class ConnectToConnector(TCPConnector):
    """TCPConnector that also applies connect-to rules to IP-literal URL hosts, and the
    private-network redirect rule of `monitor.fetch.network`.

    aiohttp resolves IP literals itself without calling the resolver; curl maps them too, so
    this overrides the (private) `_resolve_host` hook for mapped IP literals only. `connect`
    judges where each request goes (`network.CURRENT_HOP`, set by the fetcher) before a byte of
    it is sent, on new and pooled connections alike.
    """

    def __init__(self, *, resolver: ConnectToResolver, **kwargs: Any) -> None:
        super().__init__(resolver=resolver, **kwargs)
        self._connect_to = resolver

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        """A connection for `req`; PrivateAddressRefused when the redirect rule forbids it."""
        hop = network.CURRENT_HOP.get()
        if hop is None:
            return await super().connect(req, traces, timeout)
        host = req.url.raw_host or ""
        named = network.named_address(host)
        if named is not None or req.proxy is not None or self._connect_to.target(
                host, req.port) is not None:
            hop.judge(named, req.url)  # rules 1 and 2: by the URL's own host
            return await super().connect(req, traces, timeout)
        conn = await super().connect(req, traces, timeout)
        transport = conn.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        try:
            hop.judge(network.peer_address(peer), req.url)  # rule 3: where it connected
        except network.PrivateAddressRefused:
            conn.close()
            raise
        return conn

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        if is_ip_address(host) and self._connect_to.target(host, port) is not None:
            return await self._connect_to.resolve(host, port, self._family)
        return await super()._resolve_host(host, port, traces=traces)  # type: ignore[arg-type]


def make_ssl_context(ca_bundle: str = "") -> ssl.SSLContext:
    """Default verifying context (system store) plus the CAs of the PEM file `ca_bundle`.

    Raises ValueError naming the file when it is missing, unreadable or not PEM.
    """
    context = ssl.create_default_context()
    if ca_bundle:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot load CA bundle {ca_bundle!r}: {exc}") from exc
    return context

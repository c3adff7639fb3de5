"""Which addresses are public, and the redirect rule that keeps the internet out of private
networks (SSRF defence).

**Address kinds.** An address is *public* when it is globally reachable in the IANA
special-purpose address registries (RFC 6890, as Python's ``ipaddress.is_global`` encodes them);
otherwise it has a kind: ``loopback`` (127.0.0.0/8, ::1; RFC 1122 §3.2.1.3, RFC 4291 §2.5.3),
``link-local`` (169.254.0.0/16, fe80::/10; RFC 3927, RFC 4291 §2.5.6: cloud metadata services
such as 169.254.169.254 live there), ``private`` (10/8, 172.16/12, 192.168/16, fc00::/7;
RFC 1918, RFC 4193), ``shared`` (100.64.0.0/10, carrier-grade NAT; RFC 6598), ``multicast``,
``unspecified`` (0.0.0.0, ::, which reach the local host) or ``special-purpose`` (the rest of
RFC 6890: documentation, benchmarking, reserved ranges). IPv4-mapped IPv6 addresses
(::ffff:a.b.c.d, RFC 4291 §2.5.5.2) and NAT64 addresses (64:ff9b::/96, RFC 6052) are judged by the
IPv4 address inside.

**Where a hop goes.** Each request of a redirect chain is judged by one address:

1. when the URL's host is an IP literal, that address (legacy numeric IPv4 forms such as
   ``2130706433`` or ``127.1``, which resolvers accept, included); ``localhost`` and names under
   ``.localhost`` are loopback (RFC 6761 §6.3);
2. else, when a ``--connect-to`` rule maps the host, or the request goes through a proxy, the
   host is a name whose address the monitor does not choose (the rule stands in for DNS, as it
   keeps the URL, Host, SNI and certificate checks; a proxy resolves names itself): it counts as
   public;
3. else the address actually connected to (the socket's peer, after DNS), checked on every
   request, new or pooled connection alike, before any byte of the request is sent. So DNS
   rebinding cannot slip between a check and the connection.

**The rule.** A redirect is refused when the response that gave it came from a public address
and its target is not public. The refusal is the fetch's result: error class ``invalid_url``,
detail "redirect from a public address into a private network refused: ...". Everything else
is followed: the first request of a chain goes wherever the catalog URL says (the maintainer
put it there), and a chain that starts on a loopback or private host may redirect between such
hosts (an intranet page moving to another intranet host). A public page redirecting to
169.254.169.254, 10.0.0.1, 127.0.0.1 or ``localhost`` is refused, whichever hops came before.

In the tests' simulated web every name is mapped by ``--connect-to`` (rule 2: public), so a
redirect to a literal private address, or to ``localhost``, exercises the refusal while the
connection itself would have gone to the local test server.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from contextvars import ContextVar
from dataclasses import dataclass

from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_PRIVATE = (ipaddress.IPv4Network("10.0.0.0/8"), ipaddress.IPv4Network("172.16.0.0/12"),
            ipaddress.IPv4Network("192.168.0.0/16"), ipaddress.IPv6Network("fc00::/7"))
_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}", re.I)


class PrivateAddressRefused(ValueError):
    """A redirect from a public address into a private network (the fetch's ``invalid_url``)."""


def _embedded(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped or NAT64 IPv6 address, else ``address``."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_kind(address: IPAddress) -> str | None:
    """None for a public (globally reachable) address, else its kind (module docstring)."""
    address = _embedded(address)
    checks = (("loopback", address.is_loopback), ("unspecified", address.is_unspecified),
              ("link-local", address.is_link_local), ("multicast", address.is_multicast),
              ("private", any(address in net for net in _PRIVATE if net.version ==
                              address.version)),
              ("shared", isinstance(address, ipaddress.IPv4Address) and address in _SHARED))
    kind = next((name for name, hit in checks if hit), None)
    if kind is None and not address.is_global:
        kind = "special-purpose"
    return kind


def named_address(host: str) -> IPAddress | None:
    """The address a URL host names by itself (rule 1), or None for an ordinary name."""
    name = host.strip("[]").split("%", 1)[0].rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return ipaddress.IPv4Address("127.0.0.1")
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(name):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


@dataclass
class HopNetwork:
    """The rule's state for one request of a chain.

    ``refuse_private``: the previous response came from a public address. ``public`` is set by
    :meth:`judge` to whether this request's address counts as public (None until judged).
    """

    refuse_private: bool = False
    public: bool | None = None

    def judge(self, address: IPAddress | None, url: URL) -> None:
        """Record where this request goes (None: a name counted as public, rule 2); raise
        PrivateAddressRefused when the rule forbids it."""
        kind = address_kind(address) if address is not None else None
        self.public = kind is None
        if self.refuse_private and kind is not None:
            raise PrivateAddressRefused(
                f"redirect from a public address into a private network refused: {url} is "
                f"{address}, a {kind} address")


CURRENT_HOP: ContextVar[HopNetwork | None] = ContextVar("monitor_fetch_hop", default=None)
"""The rule's state of the request being sent in this task; read by the connector."""


def peer_address(sockname: object) -> IPAddress | None:
    """The address of a socket peer name (``transport.get_extra_info("peername")``)."""
    if isinstance(sockname, tuple) and sockname and isinstance(sockname[0], str):
        try:
            return ipaddress.ip_address(sockname[0].split("%", 1)[0])
        except ValueError:
            return None
    return None

"""URL parsing and the generic half of canonicalisation (SPEC §5, "Catalog").

The canonical URL keys catalog rows. :func:`monitor.sites.canonical_url` applies, in order:

1. the generic rules of this module (:func:`parse`):

   - surrounding whitespace is stripped; an empty, unparsable or host-less URL raises
     :class:`InvalidURL`; so does any scheme other than ``http``/``https``;
   - scheme and host are lower-cased; an IDN host is converted to punycode (stdlib ``idna``
     codec); the default port (80 for http, 443 for https) and the fragment are dropped;
   - percent-encoding is normalised: escapes of unreserved characters are decoded, other
     escapes get upper-case hex, a stray ``%`` becomes ``%25``, and characters not allowed in a
     path or query (space, non-ASCII, ``"<>``...) are percent-encoded as UTF-8. An empty path
     becomes ``/``. Dot segments, trailing slashes and the case of the path are left alone;
   - tracking query parameters are dropped (:data:`TRACKING_PARAMS`, plus any ``utm_*``); the
     other parameters keep their spelling and their order;

2. then each site's own rule (``youtu.be/ID`` -> ``youtube.com/watch?v=ID``, arXiv ``/pdf/ID``
   -> ``/abs/ID``, ...: see the modules of :mod:`monitor.sites`), only when the URL has no
   user info and no explicit non-default port.

Canonicalisation is idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

__all__ = ["TRACKING_PARAMS", "InvalidURL", "Parts", "host_of", "parse", "query_key",
           "query_value", "unparse"]

TRACKING_PARAMS = frozenset({"si", "pp", "feature", "fbclid", "gclid", "ref_src"})
"""Query parameter names dropped everywhere (case-insensitive), besides every ``utm_*``."""

DEFAULT_PORTS = {"http": 80, "https": 443}

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = "!$&'()*+,;="
_PATH_SAFE = frozenset(_UNRESERVED | set(_SUB_DELIMS) | set(":@/"))
_QUERY_SAFE = frozenset(_PATH_SAFE | set("?"))
_USERINFO_SAFE = frozenset(_UNRESERVED | set(_SUB_DELIMS) | {":"})
_HEX = "0123456789ABCDEFabcdef"
_REG_NAME_RE = re.compile(r"[a-z0-9._~-]+\Z")


class InvalidURL(ValueError):
    """A URL that cannot be a catalog key; the message says why and quotes the URL."""


class Parts(NamedTuple):
    """A URL split and normalised (:func:`parse`); site rules return new ``Parts``."""

    scheme: str
    netloc: str  # userinfo@host:port, already normalised
    host: str
    path: str
    query: tuple[str, ...]  # raw "k=v" segments, normalised encoding


# ---------------------------------------------------------------- generic normalisation


def _normalise_escapes(text: str, safe: frozenset[str]) -> str:
    """Decode escapes of unreserved chars, upper-case other escapes, encode unsafe chars.

    A ``%`` that does not start an escape is encoded as ``%25`` (RFC 3986 §2.4); keeping it
    would let a decoded neighbour form a new escape and break idempotence.
    """
    if "%" not in text and all(map(safe.__contains__, text)):
        return text  # the common case: nothing to change (C-level checks only)
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%" and _is_hex_pair(text, i + 1):
            decoded = chr(int(text[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else text[i : i + 3].upper())
            i += 3
            continue
        out.append(ch if ch in safe else _encode_char(ch))
        i += 1
    return "".join(out)


def _is_hex_pair(text: str, start: int) -> bool:
    pair = text[start : start + 2]
    return len(pair) == 2 and all(c in _HEX for c in pair)


def _encode_char(ch: str) -> str:
    """Percent-encode one character as UTF-8 (lone surrogates included)."""
    data = ch.encode("utf-8", errors="surrogatepass")
    return "".join(f"%{b:02X}" for b in data)


def _split(url: str) -> tuple[str, str, str, str]:
    """Split ``url`` into (scheme, netloc, path, query) or raise InvalidURL."""
    text = url.strip()
    if not text:
        raise InvalidURL("empty URL")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise InvalidURL(f"unparsable URL ({exc}): {text}") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidURL(f"not a URL: {text}")
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL(f"not http/https: {text}")
    if not parts.netloc:
        raise InvalidURL(f"no host: {text}")
    return scheme, parts.netloc, parts.path, parts.query


def _normalise_host(raw_host: str, url: str) -> str:
    """Lower-case, punycode and validate a host (without brackets or port)."""
    if raw_host.startswith("[") and raw_host.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(raw_host[1:-1]).compressed}]"
        except ValueError:
            raise InvalidURL(f"bad IPv6 host: {url}") from None
    host = raw_host.lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise InvalidURL(f"bad international host name: {url}") from None
    if not _REG_NAME_RE.match(host) or not host.strip("."):
        raise InvalidURL(f"bad host {raw_host!r}: {url}")
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        raise InvalidURL(f"bad host {raw_host!r} (empty label, or one over 63 characters; "
                         f"RFC 1035 §2.3.4): {url}")
    return host


def _split_netloc(netloc: str, scheme: str, url: str) -> tuple[str, str]:
    """Return (normalised netloc, host) for ``netloc``; drops a default port."""
    userinfo, _, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        host_part, _, rest = hostport.partition("]")
        host_part += "]"
        if rest and not rest.startswith(":"):
            raise InvalidURL(f"bad host: {url}")
        port_text = rest[1:]
    else:
        host_part, _, port_text = hostport.partition(":")
    host = _normalise_host(host_part, url)
    port = _parse_port(port_text, url)
    text = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if userinfo:
        text = f"{_normalise_escapes(userinfo, _USERINFO_SAFE)}@{text}"
    return text, host


def _parse_port(text: str, url: str) -> int | None:
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= 65535:
        raise InvalidURL(f"bad port {text!r}: {url}")
    return int(text)


def _is_tracking(segment: str) -> bool:
    key = unquote(segment.split("=", 1)[0]).lower()
    return key in TRACKING_PARAMS or key.startswith("utm_")


def query_key(segment: str) -> str:
    """The decoded name of one ``name=value`` query segment."""
    return unquote(segment.split("=", 1)[0])


def query_value(query: tuple[str, ...], key: str) -> str | None:
    """The decoded value of the first segment of ``query`` named ``key``, or None."""
    for segment in query:
        if query_key(segment) == key:
            return unquote(segment.partition("=")[2])
    return None


@functools.lru_cache(maxsize=1024)
def parse(url: str) -> Parts:
    """The normalised parts of ``url`` (cached: one catalog row asks for them several times;
    the parts are immutable). Raises InvalidURL."""
    scheme, netloc, path, query = _split(url)
    netloc, host = _split_netloc(netloc, scheme, url.strip())
    path = _normalise_escapes(path, _PATH_SAFE) or "/"
    segments = [_normalise_escapes(s, _QUERY_SAFE) for s in query.split("&") if s]
    return Parts(scheme, netloc, host, path, tuple(s for s in segments if not _is_tracking(s)))


def unparse(parts: Parts) -> str:
    """The URL text of ``parts``."""
    query = "&".join(parts.query)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")


def host_of(url: str) -> str:
    """Lower-cased (punycode) host of ``url``, without port; raises InvalidURL as parse."""
    return parse(url).host

"""URL canonicalisation and site-specific identifiers (SPEC §5, "Catalog").

Catalog rows are keyed by :func:`canonical_url`. The rules, in order:

1. Surrounding whitespace is stripped; an empty, unparsable or host-less URL raises
   :class:`InvalidURL`; so does any scheme other than ``http``/``https``.
2. Scheme and host are lower-cased; an IDN host is converted to punycode (stdlib ``idna`` codec);
   the default port (80 for http, 443 for https) and the fragment are dropped.
3. Percent-encoding is normalised: escapes of unreserved characters are decoded, other escapes
   get upper-case hex, a stray ``%`` becomes ``%25``, and characters not allowed in a path or
   query (space, non-ASCII, ``"<>``...) are percent-encoded as UTF-8. An empty path becomes
   ``/``. Dot segments, trailing slashes and the case of the path are left alone.
4. Tracking query parameters are dropped (:data:`TRACKING_PARAMS`, plus any ``utm_*``); the
   other parameters keep their spelling and their order.
5. Site rules (only when the URL has no user info and no explicit non-default port):

   - YouTube: ``youtu.be/ID`` becomes ``https://www.youtube.com/watch?v=ID``; ``youtube.com``
     and ``m.youtube.com`` become ``www.youtube.com`` over https. A watch URL that names a video
     (``v=``) drops ``list`` and ``index``: the video is the resource, so the same video reached
     from a playlist merges with the bare video. ``t`` (start time) is kept: it is not tracking
     and the reader lands somewhere else. ``/playlist?list=`` URLs keep ``list``.
   - arXiv: ``arxiv.org``/``www.arxiv.org``/``export.arxiv.org`` ``/abs/ID``, ``/pdf/ID`` and
     ``/pdf/ID.pdf`` all become ``https://arxiv.org/abs/ID`` (version kept when written; query
     dropped). Other ``arxiv.org`` and ``www.arxiv.org`` pages move to ``https://arxiv.org``.
   - GitHub: ``www.github.com`` becomes ``github.com`` over https; on a repository root
     (``/owner/repo``) the ``tab`` parameter (``?tab=readme-ov-file``) is dropped.

The function is idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

__all__ = [
    "TRACKING_PARAMS",
    "InvalidURL",
    "arxiv_id",
    "canonical_url",
    "github_repo",
    "host_of",
    "youtube_playlist_id",
    "youtube_video_id",
]

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

YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com"})
ARXIV_HOSTS = frozenset({"arxiv.org", "www.arxiv.org", "export.arxiv.org"})
GITHUB_HOSTS = frozenset({"github.com", "www.github.com"})
_YT_ID_RE = re.compile(r"[A-Za-z0-9_-]{6,}\Z")
_ARXIV_ID = r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<ver>\d+))?"
_ARXIV_PATH_RE = re.compile(rf"/(?:abs|pdf)/{_ARXIV_ID}(?:\.pdf)?/?\Z")
_GITHUB_RESERVED = frozenset(
    {"about", "orgs", "settings", "features", "topics", "marketplace", "sponsors", "collections",
     "login", "join", "explore", "notifications", "search", "trending", "pricing", "enterprise"}
)


class InvalidURL(ValueError):
    """A URL that cannot be a catalog key; the message says why and quotes the URL."""


class _Parts(NamedTuple):
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


def _query_key(segment: str) -> str:
    return unquote(segment.split("=", 1)[0])


def _query_value(query: tuple[str, ...], key: str) -> str | None:
    for segment in query:
        if _query_key(segment) == key:
            return unquote(segment.partition("=")[2])
    return None


@functools.lru_cache(maxsize=1024)
def _parse(url: str) -> _Parts:
    """The normalised parts of ``url`` (cached: one catalog row asks for them several times;
    the parts are immutable). Raises InvalidURL."""
    scheme, netloc, path, query = _split(url)
    netloc, host = _split_netloc(netloc, scheme, url.strip())
    path = _normalise_escapes(path, _PATH_SAFE) or "/"
    segments = [_normalise_escapes(s, _QUERY_SAFE) for s in query.split("&") if s]
    return _Parts(scheme, netloc, host, path, tuple(s for s in segments if not _is_tracking(s)))


def _unparse(parts: _Parts) -> str:
    query = "&".join(parts.query)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")


# ---------------------------------------------------------------- site rules


def _youtube_rule(parts: _Parts) -> _Parts:
    if parts.host == "youtu.be":
        video = parts.path.strip("/")
        if not _YT_ID_RE.match(video):
            return parts
        query = (f"v={video}", *(s for s in parts.query if _query_key(s) != "v"))
        return _youtube_rule(_Parts("https", "www.youtube.com", "www.youtube.com", "/watch", query))
    if parts.host not in YOUTUBE_HOSTS:
        return parts
    query = parts.query
    if parts.path == "/watch" and _query_value(query, "v"):
        query = tuple(s for s in query if _query_key(s) not in ("list", "index"))
    return _Parts("https", "www.youtube.com", "www.youtube.com", parts.path, query)


def _arxiv_rule(parts: _Parts) -> _Parts:
    if parts.host not in ARXIV_HOSTS:
        return parts
    match = _ARXIV_PATH_RE.match(parts.path)
    if match:
        version = f"v{match['ver']}" if match["ver"] else ""
        return _Parts("https", "arxiv.org", "arxiv.org", f"/abs/{match['id']}{version}", ())
    if parts.host == "export.arxiv.org":
        return parts
    return _Parts("https", "arxiv.org", "arxiv.org", parts.path, parts.query)


def _github_rule(parts: _Parts) -> _Parts:
    if parts.host not in GITHUB_HOSTS:
        return parts
    query = parts.query
    if _github_root(parts.path):
        query = tuple(s for s in query if _query_key(s) != "tab")
    return _Parts("https", "github.com", "github.com", parts.path, query)


def _github_root(path: str) -> tuple[str, str] | None:
    """(owner, repo) when ``path`` is exactly a repository root ``/owner/repo[/]``."""
    bits = path.strip("/").split("/")
    if len(bits) != 2 or not all(bits) or bits[0].lower() in _GITHUB_RESERVED:
        return None
    return bits[0], bits[1]


_SITE_RULES = (_youtube_rule, _arxiv_rule, _github_rule)


def _canonical_parts(url: str) -> _Parts:
    parts = _parse(url)
    if parts.netloc != parts.host:  # userinfo or explicit port: site rules do not apply
        return parts
    for rule in _SITE_RULES:
        parts = rule(parts)
    return parts


# ---------------------------------------------------------------- public API


def canonical_url(url: str) -> str:
    """Return the canonical spelling of ``url`` (the rules are in the module docstring).

    Args:
        url: an absolute http(s) URL, possibly with surrounding whitespace.

    Returns:
        The canonical URL, e.g. ``"https://www.youtube.com/watch?v=ID"`` for
        ``"https://youtu.be/ID?si=x"``.

    Raises:
        InvalidURL: empty, unparsable, without a host, or not http/https
            (message ``"not http/https: ftp://..."``).
    """
    return _unparse(_canonical_parts(url))


def host_of(url: str) -> str:
    """Lower-cased (punycode) host of ``url``, without port; raises InvalidURL as canonical_url."""
    return _parse(url).host


def arxiv_id(url: str) -> tuple[str, int | None] | None:
    """Return ``(versionless id, version or None)`` for an arXiv abs/pdf URL, else None.

    Examples: ``("2401.12345", 2)`` for ``arxiv.org/pdf/2401.12345v2.pdf``,
    ``("hep-th/9901001", None)`` for ``arxiv.org/abs/hep-th/9901001``. Never raises.
    """
    try:
        parts = _parse(url)
    except InvalidURL:
        return None
    match = _ARXIV_PATH_RE.match(parts.path) if parts.host in ARXIV_HOSTS else None
    if not match:
        return None
    return match["id"], int(match["ver"]) if match["ver"] else None


def youtube_video_id(url: str) -> str | None:
    """Video id of a YouTube watch, ``youtu.be``, ``/shorts/``, ``/embed/`` or ``/live/`` URL.

    Returns None for anything else (playlists, channels, other sites, invalid URLs).
    """
    try:
        parts = _canonical_parts(url)
    except InvalidURL:
        return None
    if parts.host != "www.youtube.com":
        return None
    if parts.path == "/watch":
        return _query_value(parts.query, "v") or None
    bits = parts.path.strip("/").split("/")
    if len(bits) == 2 and bits[0] in ("shorts", "embed", "live", "v") and _YT_ID_RE.match(bits[1]):
        return bits[1]
    return None


def youtube_playlist_id(url: str) -> str | None:
    """Playlist id of a YouTube ``/playlist?list=ID`` URL (also before canonicalisation, a
    watch URL's ``list``); None otherwise."""
    try:
        parts = _parse(url)
    except InvalidURL:
        return None
    if parts.host not in YOUTUBE_HOSTS or parts.path not in ("/playlist", "/watch"):
        return None
    return _query_value(parts.query, "list") or None


def github_repo(url: str) -> tuple[str, str] | None:
    """``(owner, repo)`` for a GitHub repository root or a ``/tree/...`` URL, else None.

    Deeper paths (``/blob/``, ``/issues/``, ...) and user or organisation pages give None,
    because they are not the repository itself. A ``.git`` suffix is removed from ``repo``.
    """
    try:
        parts = _canonical_parts(url)
    except InvalidURL:
        return None
    if parts.host != "github.com":
        return None
    bits = parts.path.strip("/").split("/")
    if len(bits) > 2 and bits[2] == "tree":
        bits = bits[:2]
    found = _github_root("/".join(bits))
    if not found:
        return None
    owner, repo = found
    return owner, repo.removesuffix(".git")

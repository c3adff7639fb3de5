"""Neutralising outside text for messages, and keeping secrets out of what we show.

Everything that comes from outside (catalog titles, sections, URLs, paper titles, error texts
of other libraries) goes through these functions before it is put in a message:

- no ``@mention`` and no ``#123`` / ``GH-123`` / ``owner/repo#123`` reference can ping anyone
  or link an issue: a zero-width space (U+200B) follows the ``@`` or the ``#``, which GitHub,
  Slack, Discord and Matrix then show as plain text;
- no Markdown or HTML injection: ``<`` and ``>`` become the look-alikes ``‹ ›`` (Python-Markdown,
  which apprise uses to make HTML e-mail, passes raw HTML through and cannot escape ``<``),
  Markdown specials are backslash-escaped (the escapes CommonMark and Python-Markdown share),
  control and bidirectional-override characters are dropped, text is one line;
- URLs: only http(s) become links (``<https://...>`` autolinks, which every Markdown flavour
  reads the same way and which keep ``_`` and ``*`` literal), credentials (``user:pass@``) are
  removed and secret-looking query values (``token``, ``key``, ``sig``, ...) replaced.

:func:`channel_display` and :func:`scrub` keep apprise URLs, which carry credentials, out of
everything we print, log, return or store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

ZWSP = "\u200b"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MENTION = re.compile(r"@(?=[\w-])")
_REFERENCE = re.compile(r"#(?=\d)")
_GH_REFERENCE = re.compile(r"\b(GH)-(?=\d)", re.IGNORECASE)
_MD_SPECIALS = re.compile(r"([\\`*_\[\]()#!])")
_SECRET_KEYS = re.compile(r"(token|key|secret|pass|sig|auth|code|session|credential)",
                          re.IGNORECASE)
_URL_UNSAFE = re.compile(r"[\s<>\"'`()\[\]\\{}|^]")
REDACTED = "REDACTED"


def one_line(text: object, limit: int = 200) -> str:
    """``text`` on one line, control and bidi-override characters dropped, at most ``limit``
    characters (cut with an ellipsis)."""
    out = " ".join(_CONTROL.sub(" ", str(text or "")).split())
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def unping(text: str) -> str:
    """``text`` with every ``@name`` and ``#123``-like reference made inert (module docstring)."""
    text = _MENTION.sub("@" + ZWSP, text)
    text = _REFERENCE.sub("#" + ZWSP, text)
    return _GH_REFERENCE.sub(lambda m: m.group(1) + ZWSP + "-", text)


def md_text(text: object, limit: int = 200) -> str:
    """Outside text as inert Markdown: one line, no HTML, no pings, specials escaped."""
    line = one_line(text, limit).replace("<", "‹").replace(">", "›")
    return _MD_SPECIALS.sub(r"\\\1", unping(line))


def redact_url(url: str) -> str:
    """``url`` without ``user:pass@`` and with secret-looking query values replaced."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
    except ValueError:
        return ""
    query = [(k, REDACTED if _SECRET_KEYS.search(k) else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="/:,@"),
                       parts.fragment))


def safe_url(url: object) -> str | None:
    """An http(s) URL fit to show and link (redacted, unsafe characters percent-encoded), or
    None for any other URL."""
    text = one_line(url, 2000)
    if not re.match(r"https?://[^/?#\s]", text, re.IGNORECASE):
        return None
    clean = redact_url(text)
    if not clean:
        return None
    return _URL_UNSAFE.sub(lambda m: quote(m.group(0), safe=""), clean)


def md_url(url: object) -> str:
    """A Markdown autolink for an http(s) URL, or the URL as inert text otherwise."""
    href = safe_url(url)
    return f"<{href}>" if href else md_text(url)


def _looks_like_host(host: str) -> bool:
    return host == "localhost" or "." in host or ":" in host


def channel_display(url: str) -> str:
    """What we show of an apprise URL: its scheme and, when it looks like a host name or an
    address, its host: ``mailto://smtp.example.org``, ``json://127.0.0.1``. Schemes that keep a
    token where the host goes (``slack://TOKEN/...``, ``tgram://BOT_TOKEN/...``) show the scheme
    only: ``slack://…``."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,20}", scheme):
        return "(unreadable URL)"
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    host = netloc[1:].partition("]")[0] if netloc.startswith("[") else netloc.partition(":")[0]
    host = host.lower()
    shown = host if host and _looks_like_host(host) and re.fullmatch(r"[\w.:-]+", host) else "…"
    return f"{scheme.lower()}://{shown}"


def url_secrets(url: str) -> set[str]:
    """Every part of an apprise URL that may be a secret: the URL itself, user, password, path
    segments, query values and a host that is not shown (as written and percent-decoded)."""
    found = {url}
    scheme, _, rest = url.partition("://")
    netloc, _, tail = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        found.update(userinfo.split(":", 1))
    if not channel_display(url).endswith(hostport.partition(":")[0].lower()):
        found.add(hostport)
        found.add(hostport.partition(":")[0])
    path, _, query = tail.partition("?")
    found.update(path.split("/"))
    found.update(v for _, v in parse_qsl(query.partition("#")[0], keep_blank_values=True))
    found |= {unquote(s) for s in found}
    return {s for s in found if len(s) >= 4}


def scrub(text: str, secrets: Iterable[str], limit: int = 200) -> str:
    """``text`` on one line with each of ``secrets`` (longest first) replaced by ``***`` and
    every URL's credentials removed, at most ``limit`` characters."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    text = re.sub(r"(\w+://)[^/\s@]+@", r"\1***@", text)
    return one_line(text, limit)

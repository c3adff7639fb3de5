"""Does the page still have the anchor its catalog URL names? (SPEC §6 ``anchor_missing``). Pure.

A catalog URL's ``#fragment`` names an HTML anchor unless it is empty, a client-side route
(``#/path``, ``#!/path``), a text fragment (``#:~:text=``) or parameters (``#t=30``,
``#page=3``, ``#access_token=...``: anything with ``=``) (:func:`anchor_of`).

:func:`check_anchor` looks for it in the body the check already has (nothing is kept). The
anchor is **found** when an element has it as ``id`` or ``name`` (the fragment as written or
percent-decoded), also with GitHub's ``user-content-`` prefix (README headings are rendered
``id="user-content-x"`` and reached by ``#x``), or when a heading's text gives it as the slug a
Markdown renderer makes (lower case, punctuation dropped, spaces to ``-``: sites whose heading
ids are added by script), or when it appears as an ``id`` inside a script's data (pages that
ship their content as JSON). ``#top`` is always found (HTML: it scrolls to the top).

The most common complaint about the fragment checks of lychee, muffet and linkinator is false
positives on anchors made by script, which a fetch cannot see. So an anchor is never reported
missing, only **unknown** with a note saying why, when the page is mostly script (a single-page
application's shell: at least half of the body is ``<script>``, or under 200 characters of text
next to a script), when the fragment is a code view's line anchor (``#L10-L20``), when the body
was cut at ``http.max_body_bytes``, or when the response is not HTML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import unquote

from monitor.vocabulary import FetchResult, Outcome

__all__ = ["AnchorCheck", "anchor_of", "check_anchor", "check_fetch", "slug"]

FOUND, MISSING, UNKNOWN = "found", "missing", "unknown"
SCRIPT_SHARE = 0.5  # a body at least this much <script> is "mostly script"
SHELL_TEXT = 200  # characters of text under which a page with a script is a shell

_TAG = re.compile(r"<[A-Za-z][^<>]*>")
_ATTRIBUTE = re.compile(r"""\s(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.I | re.S)
_STYLE = re.compile(r"<(style|noscript|template)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1\s*>", re.I | re.S)
_LINE_ANCHOR = re.compile(r"L\d+(C\d+)?(-L\d+(C\d+)?)?")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class AnchorCheck:
    """The verdict on one anchor: ``verdict`` ``found``, ``missing`` or ``unknown``, the
    decoded ``fragment``, and for ``unknown`` a ``note`` that says why it was not checked."""

    verdict: str
    fragment: str
    note: str | None = None


def anchor_of(url: str) -> str | None:
    """The percent-decoded ``#fragment`` of ``url`` when it names an HTML anchor (module
    docstring), else None."""
    _, hash_, fragment = url.strip().partition("#")
    if not hash_ or not fragment or fragment[0] in "/!" or ":~:" in fragment or "=" in fragment:
        return None
    return unquote(fragment)


def slug(text: str) -> str:
    """A heading's text as Markdown renderers make its id: lower case, punctuation other than
    ``-`` and ``_`` dropped, each space a ``-`` (GitHub's rule; kramdown's is close)."""
    words = re.sub(r"[^\w\- ]", "", " ".join(text.split()).lower())
    return words.replace(" ", "-")


def check_anchor(fragment: str, body: bytes, content_type: str | None = None,
                 truncated: bool = False) -> AnchorCheck:
    """Whether the page ``body`` (of ``content_type``) has the anchor ``fragment`` (decoded)."""
    if fragment.lower() == "top":
        return AnchorCheck(FOUND, fragment)
    if _LINE_ANCHOR.fullmatch(fragment):
        return AnchorCheck(UNKNOWN, fragment, _note(fragment, "line anchors are made by the "
                                                              "page's script"))
    if not _is_html(body, content_type):
        return AnchorCheck(UNKNOWN, fragment, _note(fragment, "the page is not HTML"))
    text = body.decode(_charset(content_type), errors="replace")
    if _has_anchor(text, fragment):
        return AnchorCheck(FOUND, fragment)
    if _mostly_script(text):
        return AnchorCheck(UNKNOWN, fragment, _note(fragment, "the page is mostly script, "
                                                              "its anchors are made by script"))
    if truncated:
        return AnchorCheck(UNKNOWN, fragment, _note(fragment, "the page was cut at "
                                                              "http.max_body_bytes"))
    return AnchorCheck(MISSING, fragment)


def check_fetch(url: str, res: FetchResult, out: Outcome) -> AnchorCheck | None:
    """The anchor check of one generic fetch: None when ``url`` names no anchor; ``unknown``
    when the check has no page to look in (a failure, a 304: the page did not change)."""
    fragment = anchor_of(url)
    if fragment is None:
        return None
    if out.outcome not in ("ok", "moved") or res.status is None or not 200 <= res.status < 300:
        return AnchorCheck(UNKNOWN, fragment)
    return check_anchor(fragment, res.body, res.headers.get("content-type"), res.truncated)


def _note(fragment: str, why: str) -> str:
    return f"anchor #{fragment[:80]} not checked: {why}"


def _is_html(body: bytes, content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind:
        return kind in _HTML_TYPES
    start = body[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<body" in start


def _charset(content_type: str | None) -> str:
    match = _CHARSET.search(content_type or "")
    name = match.group(1) if match else "utf-8"
    try:
        "".encode(name)
    except LookupError:
        return "utf-8"
    return name


def _has_anchor(text: str, fragment: str) -> bool:
    wanted = {fragment, fragment.removeprefix("user-content-"), "user-content-" + fragment}
    for tag in _TAG.finditer(text):
        for match in _ATTRIBUTE.finditer(tag.group()):
            value = html.unescape(next(g for g in match.groups() if g is not None))
            if value in wanted:
                return True
    key = slug(fragment)
    if key and any(slug(_plain(m.group(2))) == key for m in _HEADING.finditer(text)):
        return True
    written = "|".join(re.escape(w) for w in sorted(wanted, key=len, reverse=True))
    in_data = rf"""(?:id|name)\\?["']?\s*[:=]\s*\\?["'](?:{written})\\?["']"""
    return re.search(in_data, text) is not None


def _plain(fragment_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", fragment_html))


def _mostly_script(text: str) -> bool:
    script = sum(len(m.group()) for m in _SCRIPT.finditer(text))
    if not script:
        return False
    if script >= SCRIPT_SHARE * len(text):
        return True
    visible = re.sub(r"<[^>]*>", " ", _STYLE.sub(" ", _SCRIPT.sub(" ", text)))
    return len(" ".join(html.unescape(visible).split())) < SHELL_TEXT

"""How a new URL is written where an old one was, so that extraction reads exactly the new URL.

Policy (the same for every form): characters that are never literal in a URL — ASCII controls
and the space (RFC 3986 §2, Appendix C) — are percent-encoded (``%20``), which is what any client
sends for them. Everything else is kept and escaped only as the place requires:

- link destination ``[t](url)``, definition ``[x]: url`` (CommonMark §6.3, §4.7): ``\\`` and an
  ``&`` that would start an entity reference (§6.2) get a backslash (§2.4); parentheses get one
  each unless they are balanced (a balanced pair is allowed as is, §6.3); a leading ``<`` too;
- angle destination ``[t](<url>)``: ``<`` and ``>`` get a backslash, as do ``\\`` and ``&``;
- autolink ``<url>`` (§6.5: no spaces, ``<`` or ``>``; backslash escapes do not work there):
  ``<`` and ``>`` are percent-encoded;
- HTML attribute ``href="url"`` (WHATWG HTML §13.1.2.3): the value's own quote becomes a
  character reference (``&quot;``, ``&#39;``), every ``&`` becomes ``&amp;`` when the URL holds
  something that reads as a character reference; an unquoted value also encodes ``" ' = < > ```;
- in a table cell (GFM tables), ``|`` would end the cell: ``\\|`` in Markdown, ``&#124;`` in
  HTML, ``%7C`` in an autolink.

:func:`read_as` is the URL extraction will read back; :mod:`monitor.fix.edit` re-parses every
edited file and refuses an edit whose URL does not read back so.
"""

from __future__ import annotations

import html
import re

from monitor.fix.locate import Link
from monitor.fix.markdown import MD

__all__ = ["read_as", "written_form"]

_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{1,31}:")
_UNQUOTED = {'"': "&quot;", "'": "&#39;", "=": "&#61;", "<": "&lt;", ">": "&gt;", "`": "&#96;"}
MARKDOWN_FORMS = ("inline", "reference", "definition", "autolink")


def percent_encode_unsafe(url: str) -> str:
    """``url`` with ASCII controls and spaces percent-encoded (``" "`` -> ``"%20"``)."""
    return _UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", url)


def written_form(url: str, link: Link) -> str:
    """The text to put in place of ``link.raw`` so that the link reads ``url``.

    Raises ValueError when ``url`` cannot be an autolink (no scheme).
    """
    url = percent_encode_unsafe(url)
    if link.form == "html":
        return _html_value(url, link.quote, link.in_table)
    if link.form == "autolink":
        return _autolink(url, link.in_table)
    return _destination(url, link.angle, link.in_table)


def read_as(url: str, form: str) -> str:
    """The href extraction reads for ``url`` written in a link of ``form``."""
    url = percent_encode_unsafe(url)
    return MD.normalizeLink(url) if form in MARKDOWN_FORMS else url


def _destination(url: str, angle: bool, table: bool) -> str:
    balanced = _balanced(url)
    out: list[str] = []
    for index, char in enumerate(url):
        escape = (
            char == "\\"
            or (char == "&" and _ENTITY.match(url, index) is not None)
            or (char in "()" and not angle and not balanced)
            or (char in "<>" and angle)
            or (char == "<" and index == 0)
            or (char == "|" and table)
        )
        out.append("\\" + char if escape else char)
    return "".join(out)


def _balanced(url: str) -> bool:
    """Parentheses nest properly, at most 32 deep (markdown-it's limit for a bare destination)."""
    depth = 0
    for char in url:
        depth += (char == "(") - (char == ")")
        if depth < 0 or depth > 32:
            return False
    return depth == 0


def _autolink(url: str, table: bool) -> str:
    if not _SCHEME.match(url):
        raise ValueError(f"{url!r} has no scheme and cannot be an autolink")
    url = url.replace("<", "%3C").replace(">", "%3E")
    return url.replace("|", "%7C") if table else url


def _html_value(url: str, quote: str, table: bool) -> str:
    if html.unescape(url) != url:
        url = url.replace("&", "&amp;")
    if quote == '"':
        url = url.replace('"', "&quot;")
    elif quote == "'":
        url = url.replace("'", "&#39;")
    else:
        url = "".join(_UNQUOTED.get(char, char) for char in url)
    return url.replace("|", "&#124;") if table else url

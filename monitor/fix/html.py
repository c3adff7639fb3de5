"""The ``href`` of a raw HTML ``<a>`` tag: its value as extraction reads it, and where it is.

Extraction reads an ``<a>`` tag with BeautifulSoup's ``html.parser``
(:mod:`monitor.catalog.extract`), which unescapes character references in attribute values and
keeps the last of two ``href`` attributes. :func:`href_attribute` finds that attribute's value
in the tag's text following the HTML attribute syntax (WHATWG HTML §13.1.2.3: unquoted, single-
quoted or double-quoted values)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import BeautifulSoup

__all__ = ["HrefAttribute", "anchor_href", "href_attribute"]

_TAG_A = re.compile(r"<a(?=[\s/>])", re.I)
_ATTRIBUTE = re.compile(r"""[\s/]*([^\s"'>/=][^\s"'>/=]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")


@dataclass(frozen=True)
class HrefAttribute:
    """The URL inside an href value: ``tag[start:end]``, surrounding whitespace left out.

    ``quote`` is the value's quote character, or ``""`` when unquoted; ``value`` is the whole
    value between the quotes, as written (character references not yet decoded).
    """

    start: int
    end: int
    quote: str
    value: str


def href_attribute(tag: str) -> HrefAttribute | None:
    """Where the (last) ``href`` value of the ``<a ...>`` start tag ``tag`` is, or None."""
    opening = _TAG_A.match(tag)
    if opening is None:
        return None
    found: HrefAttribute | None = None
    pos = opening.end()
    while pos < len(tag) and tag[pos] != ">":
        match = _ATTRIBUTE.match(tag, pos)
        if match is None or match.end() == pos:
            break
        if match.group(1).lower() == "href" and match.group(2) is not None:
            found = _value_span(match.group(2), match.start(2))
        pos = match.end()
    return found


def _value_span(value: str, offset: int) -> HrefAttribute:
    quote = value[0] if value[:1] in ('"', "'") else ""
    inner = value[1:-1] if quote else value
    start = offset + len(quote) + len(inner) - len(inner.lstrip())
    return HrefAttribute(start, start + len(inner.strip()), quote, inner)


def anchor_href(tag: str) -> str | None:
    """The href of an ``<a ...>`` start tag as extraction reads it (BeautifulSoup), or None."""
    if not re.match(r"<a\b", tag, re.I):
        return None
    anchor = BeautifulSoup(tag, "html.parser").find("a")
    href = anchor.get("href") if anchor else None
    return href if isinstance(href, str) else None


def a_tags(text: str) -> list[int]:
    """Start offsets of every ``<a`` start tag in ``text``."""
    return [m.start() for m in _TAG_A.finditer(text)]

"""Every link of a Markdown source, with the exact bytes of its URL.

The walk is the one extraction makes (:mod:`monitor.catalog.extract`): Jekyll front matter is
blanked, the text is parsed with markdown-it (:mod:`monitor.fix.markdown`), an HTML block is
split into HTML runs (read with BeautifulSoup) and Markdown runs (kramdown style, dedented,
parsed again), and a link's line is found the way extraction finds it, so ``Link.line`` is the
line of the catalog's ``source``. What extraction does not see is not a link here either: code
spans (CommonMark §6.1), fenced and indented code blocks (§4.4, §4.5), image sources.

A link whose URL is written elsewhere (a reference link, §6.3) points at its definition's
bytes; an unused definition is a link of its own (form ``definition``).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from urllib.parse import unquote

from bs4 import BeautifulSoup
from markdown_it.token import Token

from monitor.catalog.extract import HTML_TAG_RE, RAW_HTML_START, line_groups
from monitor.fix.html import anchor_href
from monitor.fix.markdown import Definition, Dest, definitions, dest_of, parse_blocks, parse_inline
from monitor.fix.positions import (
    content_columns,
    content_position,
    definition_position,
    greedy_columns,
    same_text,
    tag_value,
    text_position,
)
from monitor.fix.source import SourceText

__all__ = ["Heading", "Link", "ListBlock", "Outline", "find_links", "outline"]

_CLOSE_A = re.compile(r"</a\s*>", re.I)


@dataclass(frozen=True)
class Link:
    """One link of a file.

    ``line``: 1-based line extraction gives it (the catalog ``source``); ``url_line``: the
    line holding the URL (a definition's line for a reference link). ``span``: byte offsets
    ``(start, end)`` of the URL in the file, surrounding whitespace left out, or None when the
    URL could not be found in the bytes. ``href``: the URL as extraction reads it; ``raw``:
    the bytes of ``span`` decoded, as written. ``form``: ``inline``, ``reference``,
    ``definition``, ``autolink`` or ``html``; ``angle``: the destination is written ``<url>``
    (inline, reference, definition). ``quote``: an HTML value's quote (``"``, ``'``, ``""``).
    ``in_table``: the link is in a table cell (``|`` must be escaped).
    """

    line: int
    url_line: int
    span: tuple[int, int] | None
    href: str
    raw: str
    form: str
    quote: str = ""
    in_table: bool = False
    angle: bool = False


@dataclass(frozen=True)
class Heading:
    """A Markdown or HTML heading: level 1-6, its text, its 1-based line."""

    level: int
    text: str
    line: int


@dataclass(frozen=True)
class ListBlock:
    """A Markdown list: 1-based lines of its first and last non-blank line, nesting depth
    (0 for a top-level list), ordered or not, loose (items apart) or tight, and the first
    line of each item."""

    first: int
    last: int
    depth: int
    ordered: bool
    loose: bool
    items: tuple[int, ...]


@dataclass
class Outline:
    """What :func:`outline` finds in one file, each in document order."""

    source: SourceText
    links: list[Link] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    lists: list[ListBlock] = field(default_factory=list)


def find_links(data: bytes) -> list[Link]:
    """Every link of the Markdown file ``data``, in document order (definitions included).

    Raises :class:`monitor.fix.source.NotUTF8` if ``data`` is not UTF-8.
    """
    return outline(SourceText.decode(data)).links


def outline(source: SourceText) -> Outline:
    """Links, headings and lists of ``source``, found as extraction finds them."""
    found = Outline(source)
    lines = list(source.lines)
    if lines[0].strip() == "---" and "---" in (s.strip() for s in lines[1:]):
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        lines[: end + 1] = [""] * (end + 1)  # Jekyll front matter, as extraction blanks it
    _Walk(found).markdown(_Doc(lines, [(i, 0) for i in range(len(lines))]))
    found.links.sort(key=lambda link: (link.line, link.span or (0, 0)))
    return found


@dataclass(frozen=True)
class _Doc:
    """Lines handed to one markdown-it parse; ``origin[i]`` = (file line index, column shift)."""

    lines: list[str]
    origin: list[tuple[int, int]]

    def file_line(self, index: int) -> int:
        return self.origin[min(index, len(self.origin) - 1)][0]


class _Walk:
    """Walks one file as extraction does, filling an :class:`Outline`."""

    def __init__(self, found: Outline) -> None:
        self.found = found
        self.source = found.source
        self.cell_cursor = 0  # column where the next table cell of the current row starts

    # ------------------------------------------------------------ Markdown

    def markdown(self, doc: _Doc) -> None:
        tokens, env = parse_blocks("\n".join(doc.lines))
        defs = definitions(doc.lines, env)
        for item in defs.values():
            self._add(doc, item.line, item.line, definition_position(item), item.href,
                      "definition", angle=item.angle)
        depth = 0
        for index, token in enumerate(tokens):
            if token.type in ("bullet_list_open", "ordered_list_open"):
                self._list(doc, tokens, index, depth)
                depth += 1
            elif token.type in ("bullet_list_close", "ordered_list_close"):
                depth -= 1
            elif token.type == "tr_open":
                self.cell_cursor = 0
            elif token.type == "html_block" and token.map:
                self._html_block(doc, *token.map)
            elif token.type == "inline" and token.map:
                self._inline(doc, token, tokens[index - 1] if index else token, env, defs)

    def _inline(self, doc: _Doc, token: Token, opener: Token, env: dict,
                defs: dict[str, Definition]) -> None:
        children = parse_inline(token, env)
        first, last = token.map or (0, 0)
        if opener.type == "heading_open":
            text = _plain_text(children).strip()
            self.found.headings.append(Heading(int(opener.tag[1]), text, doc.file_line(first) + 1))
        columns = self._columns(token.content, doc.lines, first, last, opener)
        finder = _LineFinder(doc.lines[first:last], first)
        for href, dest in _extraction_order(children):
            line = finder.find(href)
            if dest is not None and dest.form == "reference":
                item = defs.get(dest.label)
                position = definition_position(item) if item and item.href == href else None
                url_line = item.line if position and item else line
                angle = bool(position and item and item.angle)
                self._add(doc, line, url_line, position, href, "reference", angle=angle)
                continue
            position = content_position(token.content, first, columns, dest) if dest else None
            url_line = position[0] if position else line
            table = opener.type in ("th_open", "td_open")
            written = token.content[dest.start:dest.end] if dest else None
            self._add(doc, line, url_line, position, href, dest.form if dest else "inline",
                      dest.quote if dest else "", table, written, bool(dest and dest.angle))

    def _columns(self, content: str, lines: list[str], first: int, last: int,
                 opener: Token) -> list[list[int] | None]:
        if opener.type not in ("th_open", "td_open"):
            return content_columns(content, lines, first, last, opener)
        columns = greedy_columns(lines[first], content, self.cell_cursor)
        if columns:
            self.cell_cursor = columns[-1] + 1
        return [columns]

    def _add(self, doc: _Doc, line: int, url_line: int, position: tuple[int, int, int] | None,
             href: str, form: str, quote: str = "", table: bool = False,
             written: str | None = None, angle: bool = False) -> None:
        """Record a link; ``position`` is (doc line, start column, end column) of the URL and
        ``written`` the URL as the parser saw it, when it saw it in an inline token."""
        span, raw = None, ""
        if position is not None:
            span, raw = self._span(doc, position, written)
        self.found.links.append(Link(doc.file_line(line) + 1, doc.file_line(url_line) + 1,
                                     span, href, raw, form, quote, table, angle))

    def _span(self, doc: _Doc, position: tuple[int, int, int],
              written: str | None) -> tuple[tuple[int, int] | None, str]:
        line, start, end = position
        file_line, shift = doc.origin[line]
        text = self.source.lines[file_line][start + shift:end + shift]
        if written is not None and not same_text(text, written):
            return None, ""
        offset = self.source.offset(file_line, start + shift)
        return (offset, offset + len(text.encode("utf-8"))), text

    def _list(self, doc: _Doc, tokens: list[Token], index: int, depth: int) -> None:
        opener = tokens[index]
        first, last = opener.map or (0, 0)
        items, loose, level = [], False, opener.level
        for token in tokens[index + 1:]:
            if token.level == level and token.type.endswith("_list_close"):
                break
            if token.type == "list_item_open" and token.level == level + 1 and token.map:
                items.append(doc.file_line(token.map[0]) + 1)
            if token.type == "paragraph_open" and token.level == level + 2:
                loose = loose or not token.hidden
        while last > first + 1 and not doc.lines[last - 1].strip():
            last -= 1
        self.found.lists.append(ListBlock(
            doc.file_line(first) + 1, doc.file_line(last - 1) + 1, depth,
            opener.type == "ordered_list_open", loose, tuple(items)))

    # ------------------------------------------------------------ HTML blocks

    def _html_block(self, doc: _Doc, first: int, last: int) -> None:
        lines = doc.lines[first:last]
        raw = bool(lines) and bool(RAW_HTML_START.match(lines[0]))
        for kind, start, group in line_groups(lines, raw):
            inner = _dedented(doc, first + start, group) if kind == "markdown" else None
            if inner is not None and (len(group) < len(lines) or inner.lines != group):
                self.markdown(inner)
            elif kind != "include":
                # HTML, or an HTML block in a list item (``- <br>``): parsed again it would
                # be the same block (extraction recurses there without end; see the report)
                self._html(doc, first + start, group)

    def _html(self, doc: _Doc, first: int, group: list[str]) -> None:
        text = "\n".join(group)
        starts = [m.start() for m in HTML_TAG_RE.finditer(text)]
        elements = BeautifulSoup(text, "html.parser").find_all(re.compile(r"^(h[1-6]|a)$"))
        used: set[int] = set()
        for index, element in enumerate(elements):
            pos = starts[index] if index < len(starts) else 0
            line = first + text.count("\n", 0, pos)
            label = " ".join(element.get_text(" ").split())
            if element.name != "a":
                heading = Heading(int(element.name[1]), label, doc.file_line(line) + 1)
                self.found.headings.append(heading)
                continue
            href = element.get("href")
            if isinstance(href, str):
                where = tag_value(text, pos, href, used)
                position = text_position(text, first, where) if where else None
                url_line = position[0] if position else line
                quote = where[2] if where else ""
                self._add(doc, line, url_line, position, href, "html", quote)


class _LineFinder:
    """Extraction's rule for a link's line: the next place its href (or a variant) is written."""

    def __init__(self, lines: list[str], offset: int) -> None:
        self.text = "\n".join(lines)
        self.offset = offset
        self.cursor = 0

    def find(self, href: str) -> int:
        """0-based line (of the parsed text) extraction gives the next link with ``href``."""
        for variant in (href, unquote(href), href.replace("&", "&amp;")):
            index = self.text.find(variant, self.cursor)
            if index >= 0:
                self.cursor = index + len(variant)
                return self.offset + self.text.count("\n", 0, index)
        return self.offset + self.text.count("\n", 0, self.cursor)


def _extraction_order(children: list[Token]) -> list[tuple[str, Dest | None]]:
    """(href, where) of each link of an inline token, in the order extraction lists them."""
    length = 0
    stack: list[tuple[str, Dest | None, int]] = []
    spans: list[tuple[str, Dest | None, int]] = []
    for child in children:
        if child.type in ("text", "text_special", "code_inline", "image"):
            length += len(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            length += 1
        elif child.type == "link_open":
            stack.append((str(child.attrGet("href") or ""), dest_of(child), length))
        elif child.type == "html_inline" and anchor_href(child.content) is not None:
            stack.append((anchor_href(child.content) or "", dest_of(child), length))
        elif stack and (child.type == "link_close" or _CLOSE_A.match(child.content)):
            spans.append(stack.pop())
    return [(href, dest) for href, dest, _ in sorted(spans, key=lambda span: span[2])]


def _plain_text(children: list[Token]) -> str:
    """Text of an inline token without markup, as extraction reads a heading."""
    parts = []
    for child in children:
        if child.type in ("text", "text_special", "code_inline", "image"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


# ---------------------------------------------------------------- HTML block runs (kramdown)


def _dedented(doc: _Doc, first: int, group: list[str]) -> _Doc:
    """The Markdown run ``group`` (from doc line ``first``) dedented as extraction does."""
    lines = textwrap.dedent("\n".join(group)).split("\n")
    origin = []
    for index, (before, after) in enumerate(zip(group, lines, strict=True)):
        file_line, shift = doc.origin[first + index]
        origin.append((file_line, shift + (len(before) - len(after) if after else 0)))
    return _Doc(lines, origin)

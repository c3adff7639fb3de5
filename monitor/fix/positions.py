"""Where a URL seen by the parser is in the file: inline content and HTML text -> columns.

markdown-it gives an inline token's ``content``, not its place in the source. The content is
built from the token's source lines (CommonMark §4.8 paragraphs: each line with its indentation
and container markers cut, the whole trimmed), so each content line is a suffix of its source
line; an ATX heading's text (§4.2) is a substring of its line; a table cell is found after the
cells before it (GFM tables; ``\\|`` reads as ``|``). A position that cannot be mapped back
exactly is None, and the link is then reported without a span.
"""

from __future__ import annotations

import html
import re

from markdown_it.common.utils import MD_TRIM_CHARS
from markdown_it.token import Token

from monitor.fix.html import a_tags, href_attribute
from monitor.fix.markdown import Definition, Dest

__all__ = ["content_columns", "content_position", "definition_position", "greedy_columns",
           "same_text", "tag_value", "text_position"]


def content_columns(content: str, lines: list[str], first: int, last: int,
                    opener: Token) -> list[list[int] | None]:
    """For each line of an inline token's content, the doc column of each of its characters.

    Paragraph and setext heading lines are suffixes of their source lines (indentation and
    container markers cut, the whole trimmed); an ATX heading's text is a substring of its
    line. (Table cells are aligned by :meth:`_Walk._columns`.)
    """
    parts = content.split("\n")
    if opener.type == "heading_open" and opener.markup.startswith("#"):
        line = lines[first]
        marks = re.match(r"\s*#+", line)
        start = line.find(parts[0], marks.end() if marks else 0)
        return [list(range(start, start + len(parts[0]))) if start >= 0 else None]
    return [suffix_columns(lines[first + j], part, j == len(parts) - 1)
            if first + j < min(last, len(lines)) else None for j, part in enumerate(parts)]


def suffix_columns(line: str, part: str, last: bool) -> list[int] | None:
    candidates = (line, line.rstrip(MD_TRIM_CHARS)) if last else (line,)
    for text in candidates:
        for body in (part, part.lstrip(" ")):
            if text.endswith(body):
                start = len(text) - len(part)
                return list(range(start, start + len(part)))
    return greedy_columns(line, part, 0)


def greedy_columns(line: str, part: str, start: int) -> list[int] | None:
    columns: list[int] = []
    for char in part:
        start = line.find(char, start)
        if start < 0:
            return None
        columns.append(start)
        start += 1
    return columns


def content_position(content: str, first: int, columns: list[list[int] | None],
                     dest: Dest) -> tuple[int, int, int] | None:
    """(doc line, start column, end column) of ``content[dest.start:dest.end]``; the content
    starts on doc line ``first``."""
    line = content.count("\n", 0, dest.start)
    if content.find("\n", dest.start, dest.end) >= 0 or line >= len(columns):
        return None
    cols = columns[line]
    begin = dest.start - (content.rfind("\n", 0, dest.start) + 1)
    end = begin + dest.end - dest.start
    if cols is None or end > len(cols):
        return None
    if begin == end:
        column = cols[begin] if begin < len(cols) else (cols[-1] + 1 if cols else 0)
        return first + line, column, column
    return first + line, cols[begin], cols[end - 1] + 1


def definition_position(item: Definition | None) -> tuple[int, int, int] | None:
    return (item.line, item.start, item.end) if item else None


def same_text(written: str, parsed: str) -> bool:
    return written == parsed or written.replace("\\|", "|") == parsed


def tag_value(text: str, pos: int, href: str, used: set[int]) -> tuple[int, int, str] | None:
    """(start, end, quote) in ``text`` of the href value of the ``<a>`` tag at ``pos`` (or of
    the first unused ``<a>`` tag whose href reads ``href``)."""
    for start in [pos, *a_tags(text)]:
        found = href_attribute(text[start:]) if start not in used else None
        if found is not None and html.unescape(found.value) == href:
            used.add(start)
            return start + found.start, start + found.end, found.quote
    return None


def text_position(text: str, first: int, where: tuple[int, int, str]) -> tuple[int, int, int]:
    """(doc line, start column, end column) of ``text[where[0]:where[1]]``."""
    start, end, _ = where
    line_start = text.rfind("\n", 0, start) + 1
    return first + text.count("\n", 0, start), start - line_start, end - line_start

"""Insert an accepted paper into the sources as a list item (SPEC §12).

The item goes at the end of the resource list of the paper's chapter (a heading inside its
section): the last list under that heading, before the next heading, whose own items hold a
link. A chapter that is there but has no such list gets a new list of one item after its last
line (after a blank line): the paper belongs under the heading it matched, and extraction files
it there. Only when the chapter is not given or not found does it go at the end of the
section's last resource list; when the section has none at all, a new list starts after the
section's last line.

It copies the style of the list it joins: indentation, bullet (``-``, ``*``, ``+``) or number
(the next one, or the same one when the list repeats it) and the space after it, a link text
in quotes when every item's link text is quoted, a trailing text when every item ends the same
way (or ``by <authors>`` when every item has a ``by``), a blank line before it in a loose
list, and the line ending of the line it follows. A file without a final newline keeps none.

Titles and authors come from arXiv, so they are made inert: whitespace (newlines included)
collapses to one space, control and bidirectional-override characters go, Markdown punctuation
gets a backslash (CommonMark §2.4: any ASCII punctuation may be escaped, so the text reads the
same), and Liquid's ``{{`` / ``{%`` (Jekyll) are broken with a character reference.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from monitor.catalog import InvalidURL, canonical_url
from monitor.fix.edit import FixError
from monitor.fix.locate import Heading, Link, ListBlock, Outline, outline
from monitor.fix.plan import Change
from monitor.fix.source import NotUTF8, SourceText
from monitor.sites.arxiv import arxiv_id

__all__ = ["Insertion", "Placement", "arxiv_abs_url", "insert_item", "inline_text",
           "place_paper"]

_ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z\-]*(\.[A-Z]{2})?/\d{7})(v\d+)?")
_ITEM = re.compile(r"(?P<indent>[ \t>]*)(?P<marker>[-*+]|(?P<number>\d{1,9})[.)])"
                   r"(?P<gap>[ \t]+)(?P<rest>.*)")
_PUNCTUATION = re.compile(r"([\\`*_\[\]<>&!|~$#])")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_QUOTES = (('"', '"'), ("“", "”"))


@dataclass(frozen=True)
class Insertion:
    """The file's new bytes, the 1-based line of the new item, and where it went:
    ``"chapter"`` (the chapter's list), ``"section"`` (the section's last list) or
    ``"new-list"`` (a list of its own at the end of the chapter, or of the section)."""

    new: bytes
    line: int
    how: str


@dataclass(frozen=True)
class Placement:
    """An accepted paper placed in the sources: the change to write and the new row's
    ``source`` (``"file:line"``)."""

    change: Change
    line: int
    how: str

    @property
    def source(self) -> str:
        """The catalog ``source`` of the new item."""
        return f"{self.change.file}:{self.line}"


class _Row(Protocol):
    section: str
    chapter: str
    source: str


def arxiv_abs_url(arxiv_id: str) -> str:
    """``https://arxiv.org/abs/ID``; raises FixError for anything but an arXiv identifier."""
    if not _ARXIV_ID.fullmatch(arxiv_id.strip()):
        raise FixError(f"not an arXiv identifier: {arxiv_id[:40]!r}")
    return f"https://arxiv.org/abs/{arxiv_id.strip()}"


def inline_text(text: str) -> str:
    """``text`` safe inside a Markdown link text or list item (see the module docstring)."""
    text = "".join(c for c in text if unicodedata.category(c) != "Cc" or c.isspace())
    text = " ".join(_BIDI.sub("", text).split())
    text = _PUNCTUATION.sub(r"\\\1", text)
    return re.sub(r"\{(?=[{%])", "&#123;", text)


def place_paper(root: str | Path, rows: Iterable[_Row], section: str, chapter: str,
                title: str, arxiv_id: str, authors: Sequence[str] = ()) -> Placement:
    """Insert paper ``arxiv_id`` into the source file of ``section`` under ``root``.

    ``rows``: the extracted catalog rows (``section``, ``chapter``, ``source``); the file is
    the one holding ``chapter``'s links in that section, else the last file holding the
    section's links. Raises FixError when the section has no links in the sources, the file
    is not UTF-8, holds no list to join, or already links the paper.
    """
    rows = list(rows)
    in_section = [r for r in rows if r.section == section]
    if not in_section:
        raise FixError(f"section {section!r} has no links in the sources")
    chosen = [r for r in in_section if chapter and r.chapter == chapter] or in_section
    file = chosen[-1].source.rpartition(":")[0]
    path = Path(root) / file
    data = path.read_bytes()
    url = arxiv_abs_url(arxiv_id)
    done = insert_item(data, title, url, chapter=chapter, section=section, authors=authors)
    change = Change(Path(file).as_posix(), Path(os.path.abspath(path)), data, done.new)
    return Placement(change, done.line, done.how)


def insert_item(data: bytes, title: str, url: str, *, chapter: str = "", section: str = "",
                authors: Sequence[str] = ()) -> Insertion:
    """``data`` with a new item ``[title](url)`` at the end of the fitting list (module doc).

    ``section``: the h1 whose part of the file is searched (the whole file when no h1 has
    that text); ``chapter``: the heading whose list is preferred. Raises FixError when the
    file is not UTF-8, has no list with links there, or already links ``url``.
    """
    try:
        found = outline(SourceText.decode(data))
    except NotUTF8 as exc:
        raise FixError(f"line {exc}; cannot insert") from None
    _refuse_duplicate(found.links, url)
    start, end = _section_range(found, section)
    chapter_lines = _chapter_range(found, chapter, start, end) if chapter else (0, 0)
    target, how = _last_resource_list(found, *chapter_lines), "chapter"
    if target is None and not chapter_lines[0]:
        target, how = _last_resource_list(found, start, end), "section"
    if target is not None:
        item = _item_text(found, target, title, url, authors)
        return _insert_after(found.source, target.last, item, how, target.loose)
    return _new_list(found, *(chapter_lines if chapter_lines[0] else (start, end)), title, url,
                     (start, end))


def _refuse_duplicate(links: list[Link], url: str) -> None:
    key = _canonical(url)
    for link in links:
        if key and _canonical(link.href) == key:
            raise FixError(f"line {link.line}: already links {url}")


def _canonical(url: str) -> str | None:
    """The canonical URL, or the arXiv identifier without version for a paper."""
    paper = arxiv_id(url)
    if paper:
        return "arXiv:" + paper[0]
    try:
        return canonical_url(url)
    except InvalidURL:
        return None


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _section_range(found: Outline, section: str) -> tuple[int, int]:
    """1-based [start, end) lines of the part of the file under the h1 named ``section``."""
    total = len(found.source.lines) + 1
    h1 = [h.line for h in found.headings if h.level == 1]
    start = next((h.line for h in found.headings if h.level == 1 and _same(h.text, section)), 0)
    if not section or not start:
        return 1, total
    return start, next((line for line in h1 if line > start), total)


def _chapter_range(found: Outline, chapter: str, start: int, end: int) -> tuple[int, int]:
    headings = [h for h in found.headings if start <= h.line < end]
    match: Heading | None = next((h for h in headings if h.level > 1 and _same(h.text, chapter)),
                                 None)
    if match is None:
        return 0, 0
    return match.line, next((h.line for h in headings if h.line > match.line), end)


def _last_resource_list(found: Outline, start: int, end: int) -> ListBlock | None:
    """The list in lines [start, end) whose own items hold a link and that ends last
    (the outermost one when a nested list ends on the same line)."""
    inside = [b for b in found.lists if start <= b.first and b.last < end]
    lines = {link.url_line for link in found.links}
    candidates = [b for b in inside if _own_lines(b, inside) & lines]
    return max(candidates, key=lambda b: (b.last, -b.depth), default=None)


def _own_lines(block: ListBlock, lists: list[ListBlock]) -> set[int]:
    own = set(range(block.first, block.last + 1))
    for other in lists:
        if other.depth > block.depth and block.first <= other.first <= block.last:
            own -= set(range(other.first, other.last + 1))
    return own


def _item_text(found: Outline, block: ListBlock, title: str, url: str,
               authors: Sequence[str]) -> str:
    items = [m for m in (_ITEM.fullmatch(found.source.lines[n - 1]) for n in block.items) if m]
    if not items:
        raise FixError(f"line {block.first}: a list whose items cannot be read")
    last = items[-1]
    marker = last["marker"]
    if last["number"]:
        numbers = {int(m["number"]) for m in items}
        step = 0 if len(numbers) == 1 and len(items) > 1 else 1
        marker = f"{int(last['number']) + step}{marker[-1]}"
    rests = [m["rest"] for m in items]
    opening, closing = _quote_style(rests)
    link = f"[{opening}{inline_text(title)}{closing}]({url})"
    return f"{last['indent']}{marker}{last['gap']}{link}{_trailing(rests, authors)}"


def _quote_style(rests: list[str]) -> tuple[str, str]:
    for opening, closing in _QUOTES:
        if all(rest.startswith("[" + opening) for rest in rests):
            return opening, closing
    return "", ""


def _trailing(rests: list[str], authors: Sequence[str]) -> str:
    """The text after the link when every item has the same one (or a ``by`` + authors)."""
    tails = [_tail(rest) for rest in rests]
    if len(tails) > 1 and None not in tails and len(set(tails)) == 1:
        return tails[0] or ""
    if authors and tails and all(t and t.startswith(" by ") for t in tails):
        names = [inline_text(a) for a in authors if a.strip()]
        who = names[0] + " et al." if len(names) > 2 else " and ".join(names)
        return f" by {who}" if who else ""
    return ""


def _tail(rest: str) -> str | None:
    """What follows a leading ``[text](url)`` in an item, or None when it does not start so."""
    match = re.match(r"\[(?:\\.|[^\]\\])*\]\((?:\\.|[^)\\])*\)", rest)
    return rest[match.end():].rstrip() if match else None


def _new_list(found: Outline, start: int, end: int, title: str, url: str,
              style: tuple[int, int]) -> Insertion:
    """A list of one item after the last non-blank line of lines [start, end), with the
    bullet of the last bulleted list in lines ``style`` (the section), else ``-``."""
    lines = found.source.lines
    last = max((n for n in range(start, min(end, len(lines) + 1)) if lines[n - 1].strip()),
               default=0)
    if not last:
        raise FixError(f"line {start}: nothing to insert the paper after")
    bullets = [m["marker"] for b in found.lists if style[0] <= b.first < style[1]
               if (m := _ITEM.fullmatch(lines[b.items[-1] - 1])) and not m["number"]]
    item = f"{(bullets or ['-'])[-1]} [{inline_text(title)}]({url})"
    return _insert_after(found.source, last, item, "new-list", True)


def _insert_after(source: SourceText, last: int, item: str, how: str, blank: bool) -> Insertion:
    """Insert ``item`` as a line after 1-based line ``last`` (after a blank line if ``blank``)."""
    index = last - 1
    eol = source.line_break(index) or _first_break(source) or b"\n"
    gap = eol if blank else b""
    line = last + 1 + (1 if blank else 0)
    text = item.encode("utf-8")
    if not source.line_break(index):
        return Insertion(source.data + eol + gap + text, line, how)
    at = source.line_end(index) + len(source.line_break(index))
    return Insertion(source.data[:at] + gap + text + eol + source.data[at:], line, how)


def _first_break(source: SourceText) -> bytes:
    return next((b for i in range(len(source.lines)) if (b := source.line_break(i))), b"")

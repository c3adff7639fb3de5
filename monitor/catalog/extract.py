"""Extraction: build catalog rows from Markdown/HTML sources such as the handbook.

``index.md`` plus ``{% include %}``-d files are parsed with markdown-it-py (links from
``link_open`` tokens and from raw HTML ``<a href>``); each http(s) link becomes a
:class:`~monitor.catalog.CatalogRow`, one per canonical URL, with its section (the ``<h1>`` of
the block that includes the file), chapter (nearest heading), title and ``file:line`` source.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from markdown_it.token import Token

from monitor.catalog.csvfile import CatalogError, CatalogProblem, CatalogRow
from monitor.catalog.kinds import guess_kind
from monitor.sites import canonical_url
from monitor.urls import InvalidURL


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract_sources` found: ``rows`` (one per canonical URL), ``problems``
    (invalid URLs, missing includes, files that are not UTF-8), ``base`` (the folder every
    ``source`` is relative to: the first root file's) and ``skipped`` (the files left out,
    named as in ``source``)."""

    rows: list[CatalogRow]
    problems: list[CatalogProblem]
    base: Path
    skipped: tuple[str, ...] = ()


def extract(paths: Sequence[str | Path]) -> tuple[list[CatalogRow], list[CatalogProblem]]:
    """``(rows, problems)`` of :func:`extract_sources`."""
    found = extract_sources(paths)
    return found.rows, found.problems


def extract_sources(paths: Sequence[str | Path]) -> Extraction:
    """Extract one row per distinct canonical http(s) URL from Markdown files.

    Links come from Markdown links (markdown-it, CommonMark + HTML + tables) and raw HTML
    ``<a href>``; relative links, anchors and other schemes are skipped. ``{% include name %}``
    is followed (``_includes/`` beside the first root file or the including file, or a given
    path with that name). Files reached through an include are read once, in include order; a
    given file nobody includes is read on its own.

    Section: the ``<h1>`` of the HTML block holding the include, else the section of the
    including file when that file was itself included, else the included file's first h1,
    else its stem title-cased (``credits.md`` -> "Credits"). In a root file, the section is
    the latest h1 or include seen; links before the first of those take its section (so the
    handbook's top links get "Introduction", the section of ``intro.md`` included next).
    Chapter: nearest h2-h6 above the link in its file. Title: the link text, or the sentence
    around the link when the text is generic ("video", "blog post"...). Source: ``file:line``
    relative to the first root file's directory, the file named by the path it was given or
    included by (a symbolic link keeps its own name; links are resolved only to read each file
    once). An ``href`` is read without the whitespace around it (as browsers read it). Rows
    come in order of first occurrence (later spellings of the same canonical URL merge into
    it); output is deterministic.

    Invalid URLs, missing includes and files that are not UTF-8 (skipped, named in
    ``Extraction.skipped``) are problems. Raises CatalogError if a file cannot be read at all.
    """
    walk = _Walk([Path(p) for p in paths])
    walk.run()
    rows: dict[str, CatalogRow] = {}
    for link in walk.links:
        try:
            canonical = canonical_url(link.href)
        except InvalidURL as exc:
            walk.problems.append(CatalogProblem(link.file, link.line, str(exc)))
            continue
        if canonical not in rows:
            rows[canonical] = CatalogRow(
                url=link.href, canonical_url=canonical, title=link.title, section=link.section,
                chapter=link.chapter, kind=guess_kind(canonical, link.title),
                source=f"{link.file}:{link.line}",
            )
    return Extraction(list(rows.values()), walk.problems, walk.base, tuple(walk.skipped))


def headings(text: str) -> list[tuple[int, str, int]]:
    """``(level, text, line)`` of every heading of a Markdown document (Markdown and HTML
    ``<h1>``-``<h6>``, as extraction reads them; lines 1-based), in order."""
    return [(e.level, e.text, e.line) for e in _file_events(text) if isinstance(e, _Heading)]


def is_generic(text: str) -> bool:
    """Whether a link text says nothing of its own ("video", "this blog post", "here")."""
    return _is_generic(text)


# Events found in one Markdown file, in document order; ``line`` is 1-based in that file.
@dataclass(frozen=True)
class _Heading:
    level: int
    text: str
    line: int


@dataclass(frozen=True)
class _Include:
    name: str
    line: int
    section: str  # h1 of the HTML block holding the include, or ""


@dataclass(frozen=True)
class _Link:
    href: str
    title: str
    line: int


@dataclass(frozen=True)
class _Found:
    href: str
    title: str
    section: str
    chapter: str
    file: str
    line: int


_Event = _Heading | _Include | _Link
_MD = MarkdownIt("commonmark", {"html": True}).enable("table")
INCLUDE_RE = re.compile(r"\{%-?\s*include\s+([^\s%]+)[^%]*%\}")
HTML_TAG_RE = re.compile(r"<(?:h[1-6]|a)\b", re.I)
RAW_HTML_START = re.compile(r"\s*<(!|\?|pre|script|style|textarea)", re.I)
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bCh)(?<!\betc)[.!?](?=\s)")
_QUOTE_PAIRS = {'"': '"', "“": "”", "”": "”", "'": "'", "‘": "’", "«": "»", "(": ")"}
_GENERIC_WORDS = frozenset({
    "video", "videos", "blog", "post", "posts", "blogpost", "link", "links", "paper", "papers",
    "notes", "note", "course", "lecture", "lectures", "chapter", "chapters", "textbook",
    "book", "manuscript", "tutorial", "tutorials", "series", "thread", "talk", "article",
    "slides", "page", "overview", "writeup", "explainer", "code", "demo", "walkthrough",
    "repo", "website", "site", "survey", "guide", "playlist", "podcast", "interview", "part",
    "pdf", "source", "implementation", "read", "more", "here", "this", "that", "a", "an",
    "the", "my", "his", "her", "their", "its", "of", "and", "on", "in", "by", "from", "with",
    "full", "short", "nice", "great", "good", "excellent", "original", "i", "ii", "iii",
    "docs", "report", "one", "section", "animated", "episode", "technical", "see",
})


def _file_events(text: str) -> list[_Event]:
    """Headings, includes and links of a Markdown document, in order."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[0].strip() == "---" and "---" in (s.strip() for s in lines[1:]):
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        lines[: end + 1] = [""] * (end + 1)  # Jekyll front matter; keep line numbers
    return _markdown_events(lines, 0)


def _markdown_events(lines: list[str], offset: int) -> list[_Event]:
    events: list[_Event] = []
    tokens = _MD.parse("\n".join(lines))
    for i, tok in enumerate(tokens):
        start, end = tok.map or (0, 0)
        if tok.type == "html_block":
            events += _html_block_events(lines[start:end], offset + start)
        elif tok.type == "inline":
            if i and tokens[i - 1].type == "heading_open":
                level = int(tokens[i - 1].tag[1])
                events.append(_Heading(level, _plain_text(tok)[0].strip(), offset + start + 1))
            events += _inline_events(tok, lines[start:end], offset + start)
    return events


def _inline_events(tok: Token, lines: list[str], offset: int) -> list[_Event]:
    plain, spans = _plain_text(tok)
    finder = _LineFinder(lines, offset)
    events: list[_Event] = [
        _Link(href, _title(plain, s, e), finder.find(href)) for href, s, e in spans
    ]
    for index, line in enumerate(lines):
        events += [_Include(m[1], offset + index + 1, "") for m in INCLUDE_RE.finditer(line)]
    return sorted(events, key=lambda ev: ev.line)


def _plain_text(tok: Token) -> tuple[str, list[tuple[str, int, int]]]:
    """Text of an inline token without markup, and (href, start, end) of each link's text."""
    text = ""
    spans: list[tuple[str, int, int]] = []
    stack: list[tuple[str, int]] = []
    for child in tok.children or []:
        if child.type in ("text", "code_inline", "image"):
            text += child.content
        elif child.type in ("softbreak", "hardbreak"):
            text += " "
        elif child.type == "link_open":
            stack.append((str(child.attrGet("href") or ""), len(text)))
        elif child.type == "html_inline" and _html_href(child.content) is not None:
            stack.append((_html_href(child.content) or "", len(text)))
        elif stack and (child.type == "link_close" or re.match(r"</a\s*>", child.content, re.I)):
            href, start = stack.pop()
            spans.append((href, start, len(text)))
    return text, sorted(spans, key=lambda span: span[1])


def _html_href(tag: str) -> str | None:
    if not re.match(r"<a\b", tag, re.I):
        return None
    anchor = BeautifulSoup(tag, "html.parser").find("a")
    href = anchor.get("href") if anchor else None
    return href if isinstance(href, str) else None


def _html_block_events(lines: list[str], offset: int) -> list[_Event]:
    """Events of an HTML block; Markdown lines inside it (kramdown style) are parsed as such."""
    events: list[_Event] = []
    block_h1 = ""
    raw = bool(lines) and bool(RAW_HTML_START.match(lines[0]))
    for kind, start, group in line_groups(lines, raw):
        if kind == "include":
            name = INCLUDE_RE.search(group[0])
            if name:
                events.append(_Include(name[1], offset + start + 1, block_h1))
        elif kind == "html":
            for event in _html_events(group, offset + start):
                if isinstance(event, _Heading) and event.level == 1:
                    block_h1 = event.text
                events.append(event)
        else:
            text = textwrap.dedent("\n".join(group))  # indented text in a <div> is not code
            if len(group) == len(lines) and text.split("\n") == group:
                # parsed again it would be this same block (an HTML block in a list item,
                # ``- <br>``): read it as HTML instead of recursing without end
                events += _html_events(group, offset + start)
            else:
                events += _markdown_events(text.split("\n"), offset + start)
    return events


def line_groups(lines: list[str], raw: bool) -> Iterator[tuple[str, int, list[str]]]:
    """Split the lines of an HTML block into runs of ("html" | "markdown" | "include", first
    index, lines), kramdown style (``raw``: the block is raw HTML, e.g. ``<pre>``, all "html").
    Shared with :mod:`monitor.fix.locate`, so that fixes find links exactly where extraction
    does."""
    current: tuple[str, int, list[str]] | None = None
    for index, line in enumerate(lines):
        kind = _line_kind(line, raw, current[0] if current else "html")
        if current and current[0] == kind != "include":
            current[2].append(line)
            continue
        if current:
            yield current
        current = (kind, index, [line])
    if current:
        yield current


def _line_kind(line: str, raw: bool, previous: str) -> str:
    stripped = line.strip()
    if raw or stripped.startswith("<"):
        return "html"
    if not stripped:
        return "markdown" if previous == "markdown" else "html"
    return "include" if INCLUDE_RE.fullmatch(stripped) else "markdown"


def _html_events(lines: list[str], offset: int) -> list[_Event]:
    text = "\n".join(lines)
    starts = [m.start() for m in HTML_TAG_RE.finditer(text)]
    events: list[_Event] = []
    elements = BeautifulSoup(text, "html.parser").find_all(re.compile(r"^(h[1-6]|a)$"))
    for index, element in enumerate(elements):
        pos = starts[index] if index < len(starts) else 0
        line = offset + text.count("\n", 0, pos) + 1
        label = " ".join(element.get_text(" ").split())
        if element.name != "a":
            events.append(_Heading(int(element.name[1]), label, line))
        elif isinstance(element.get("href"), str):
            context = element.parent.get_text(" ") if element.parent else label
            context = " ".join(context.split())
            start = max(context.find(label), 0)
            events.append(_Link(element["href"], _title(context, start, start + len(label)), line))
    return events


class _LineFinder:
    """Finds the physical line of successive hrefs within a block's source lines."""

    def __init__(self, lines: list[str], offset: int) -> None:
        self.text = "\n".join(lines)
        self.offset = offset
        self.cursor = 0

    def find(self, href: str) -> int:
        for variant in (href, unquote(href), href.replace("&", "&amp;")):
            index = self.text.find(variant, self.cursor)
            if index >= 0:
                self.cursor = index + len(variant)
                return self.offset + self.text.count("\n", 0, index) + 1
        return self.offset + self.text.count("\n", 0, self.cursor) + 1


def _title(plain: str, start: int, end: int) -> str:
    """The link text, or the (trimmed) sentence around it when the text is generic."""
    text = _unquote_title(plain[start:end])
    if re.findall(r"[a-z]+", text.lower()) and not _is_generic(text):
        return text
    return _phrase(plain, start, end) or text


def _unquote_title(text: str) -> str:
    """Collapse whitespace; drop trailing ``:,;`` and quotes or parentheses around the text."""
    text = " ".join(text.split()).rstrip(":,; ")
    while len(text) > 1 and _QUOTE_PAIRS.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def _is_generic(text: str) -> bool:
    return all(word in _GENERIC_WORDS for word in re.findall(r"[a-z]+", text.lower()))


def _phrase(plain: str, start: int, end: int, width: int = 100) -> str:
    """The sentence of ``plain`` holding [start, end), trimmed to about ``width`` chars."""
    begin = max((m.end() for m in _SENTENCE_END.finditer(plain, 0, start)), default=0)
    stop = _SENTENCE_END.search(plain, end)
    finish = stop.end() if stop else len(plain)
    low = max(begin, start - width // 2)
    if low > begin:
        low = plain.rfind(" ", begin, low) + 1 or low
    high = min(finish, max(low + width, end))
    if high < finish:
        high = plain.rfind(" ", end, high) if plain.rfind(" ", end, high) > end else high
    text = _unquote_title(plain[low:high])
    return ("…" if low > begin else "") + text + ("…" if high < finish else "")


class _Walk:
    """Follows includes across files and assigns sections and chapters to links."""

    def __init__(self, paths: list[Path]) -> None:
        # files are keyed by their resolved path (read once), named by the path they were
        # given or included by (``shown``: absolute, symbolic links not followed)
        self.shown: dict[Path, Path] = {}
        for path in paths:
            self.shown.setdefault(path.resolve(), Path(os.path.abspath(path)))
        self.given = list(self.shown)
        self.events: dict[Path, list[_Event]] = {}
        self.done: set[Path] = set()
        self.links: list[_Found] = []
        self.problems: list[CatalogProblem] = []
        self.skipped: list[str] = []
        self.base = self.shown[self.given[0]].parent if self.given else Path(".")

    def run(self) -> None:
        reached: set[Path] = set()
        todo = list(self.given)
        while todo:
            path = todo.pop()
            for event in self._events(path):
                child = self._resolve(path, event) if isinstance(event, _Include) else None
                if child and child not in reached:
                    reached.add(child)
                    todo.append(child)
        roots = [p for p in self.given if p not in reached] + self.given
        if roots and roots[0] not in reached:
            self.base = self.shown[roots[0]].parent
        for path in roots:
            if path not in self.done:
                self._process(path, None)

    def _events(self, path: Path) -> list[_Event]:
        if path not in self.events:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise CatalogError(f"{path}: cannot read: {exc.strerror or exc}") from None
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                self._not_utf8(path, data, exc.start)
                text = ""
            self.events[path] = _file_events(text)
        return self.events[path]

    def _not_utf8(self, path: Path, data: bytes, at: int) -> None:
        """A file that is not UTF-8 is a problem at the line of its first bad byte; it is left
        out (the other files are read)."""
        before = data[:at]
        line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
        self.skipped.append(self._rel(path))
        self.problems.append(CatalogProblem(self._rel(path), line,
                                            f"not UTF-8 (byte {at}); file skipped"))

    def _resolve(self, includer: Path, event: _Include, report: bool = False) -> Path | None:
        name = event.name
        folder = self.shown.get(includer, includer).parent
        candidates = [self.base / "_includes" / name, folder / "_includes" / name,
                      folder / name,
                      *(self.shown[p] for p in self.given if self.shown[p].name == name)]
        found = next((c for c in candidates if c.is_file()), None)
        if found is not None:
            self.shown.setdefault(found.resolve(), Path(os.path.abspath(found)))
            return found.resolve()
        if report:
            self.problems.append(
                CatalogProblem(self._rel(includer), event.line, f"include not found: {name}")
            )
        return None

    def _own_section(self, path: Path) -> str:
        h1 = (e.text for e in self._events(path) if isinstance(e, _Heading) and e.level == 1)
        return next(h1, "") or path.stem.replace("_", " ").replace("-", " ").title()

    def _rel(self, path: Path) -> str:
        return Path(os.path.relpath(self.shown.get(path, path), self.base)).as_posix()

    def _process(self, path: Path, hint: str | None) -> None:
        self.done.add(path)
        section, chapter = hint, ""
        pending: list[tuple[_Link, str]] = []
        for event in self._events(path):
            if isinstance(event, _Link):
                pending.append((event, chapter))
            elif isinstance(event, _Heading) and event.level > 1:
                chapter = event.text
            elif isinstance(event, _Heading):
                chapter, section = "", hint or event.text
            else:
                child = self._resolve(path, event, report=True)
                if child is None:
                    continue
                child_section = event.section or hint or self._own_section(child)
                section = hint or child_section
                self._flush(path, pending, section)
                if child not in self.done:
                    self._process(child, child_section)
            if section is not None:
                self._flush(path, pending, section)
        self._flush(path, pending, section or self._own_section(path))

    def _flush(self, path: Path, pending: list[tuple[_Link, str]], section: str) -> None:
        for link, chapter in pending:
            href = link.href.strip()
            if re.match(r"https?://", href, re.I):
                self.links.append(
                    _Found(href, link.title, section, chapter, self._rel(path), link.line)
                )
        pending.clear()

"""markdown-it-py, configured as extraction configures it, that also says where each URL is.

The parser is the one :mod:`monitor.catalog.extract` uses (CommonMark + raw HTML + tables), so
what is a link, what is inside a code span (CommonMark §6.1) or a code block (§4.4, §4.5), and
which reference definition a link uses (§4.7, §6.3) are decided by the same code. Three inline
rules are wrapped: after ``link``, ``autolink`` or ``html_inline`` succeeds, the ``link_open``
(or ``html_inline``) token gets ``meta["fix"]``, a :class:`Dest` saying where the URL's
characters are in the inline token's ``content``. The rules themselves are untouched.

Reference definitions emit no token; their lines come from ``env["references"][label]["map"]``
and :func:`definitions` finds the destination on those lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from monitor.fix.html import href_attribute

__all__ = ["MD", "Dest", "definitions", "parse_blocks", "parse_inline"]

_KEY = "fix"
_SRC = "fix_src"
_SPACE = " \t\n"


@dataclass(frozen=True)
class Dest:
    """Where a URL is written.

    ``form``: ``inline`` (``[t](url)``; ``[t](<url>)`` has ``angle``), ``autolink``
    (``<url>``), ``html`` (``<a href=url>``; ``quote`` is ``"``, ``'`` or ``""``) or
    ``reference`` (``[t][x]``, ``[x]``: ``label`` is the normalized label, the URL is in the
    definition). ``start``/``end`` are character offsets in the inline token's content.
    """

    form: str
    start: int = -1
    end: int = -1
    label: str = ""
    quote: str = ""
    angle: bool = False


def parse_blocks(text: str) -> tuple[list[Token], dict]:
    """Block tokens of ``text`` (inline tokens not yet parsed) and the env (references)."""
    env: dict = {}
    return MD.parse(text, env), env


def parse_inline(token: Token, env: dict) -> list[Token]:
    """Parse one ``inline`` token's content into its children; links carry ``meta["fix"]``."""
    env[_SRC] = token.content
    token.children = []
    MD.inline.parse(token.content, MD, env, token.children)
    return token.children


def dest_of(token: Token) -> Dest | None:
    """The :class:`Dest` recorded on a ``link_open`` or ``html_inline`` token, if any."""
    dest = token.meta.get(_KEY)
    return dest if isinstance(dest, Dest) else None


Rule = Callable[[StateInline, bool], bool]


def _recording(rule: Rule, kind: str, where: Callable[[StateInline, int], Dest | None]) -> Rule:
    """Wrap inline ``rule``: when it succeeds, put ``where(state, start)`` on its token."""

    def wrapped(state: StateInline, silent: bool) -> bool:
        start, before = state.pos, len(state.tokens)
        if not rule(state, silent):
            return False
        if not silent and state.env.get(_SRC) is state.src:
            token = next((t for t in state.tokens[before:] if t.type == kind), None)
            dest = where(state, start) if token is not None else None
            if token is not None and dest is not None:
                token.meta[_KEY] = dest
        return True

    return wrapped


def _link_dest(state: StateInline, start: int) -> Dest:
    """Where the URL of the link that starts at ``start`` (its ``[``) is (CommonMark §6.3)."""
    end, src, maximum = state.pos, state.src, state.posMax
    state.pos = start
    label_end = state.md.helpers.parseLinkLabel(state, start, True)
    pos = label_end + 1
    dest = _inline_dest(state.md, src, pos + 1, maximum) if src[pos:pos + 1] == "(" else None
    label = ""
    if dest is None and src[pos:pos + 1] == "[":
        close = state.md.helpers.parseLinkLabel(state, pos)
        label = src[pos + 1:close] if close >= 0 else ""
    state.pos = end
    if dest is not None:
        return dest
    return Dest("reference", label=normalizeReference(label or src[start + 1:label_end]))


def _skip_space(src: str, pos: int, maximum: int) -> int:
    while pos < maximum and src[pos] in _SPACE:
        pos += 1
    return pos


def _inline_dest(md: MarkdownIt, src: str, pos: int, maximum: int) -> Dest | None:
    """Destination of ``(dest "title")`` from just after ``(``, or None if not an inline link.

    Mirrors markdown-it's ``link`` rule: an invalid destination leaves ``pos`` where it was, and
    anything but ``)`` at the end makes the link a reference link (§6.3).
    """
    pos = _skip_space(src, pos, maximum)
    if pos >= maximum:
        return None
    dest = Dest("inline", pos, pos)
    found = md.helpers.parseLinkDestination(src, pos, maximum)
    if found.ok and md.validateLink(md.normalizeLink(found.str)):
        angle = src[pos] == "<"
        dest = Dest("inline", pos + angle, found.pos - angle, angle=angle)
        pos = found.pos
    if found.ok:
        after = _skip_space(src, pos, maximum)
        title = md.helpers.parseLinkTitle(src, after, maximum)
        titled = after < maximum and after != pos and title.ok
        pos = _skip_space(src, title.pos, maximum) if titled else after
    return dest if pos < maximum and src[pos] == ")" else None


def _autolink_dest(state: StateInline, start: int) -> Dest:
    return Dest("autolink", start + 1, state.pos - 1)


def _html_dest(state: StateInline, start: int) -> Dest | None:
    found = href_attribute(state.src[start:state.pos])
    if found is None:
        return None
    return Dest("html", start + found.start, start + found.end, quote=found.quote)


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.disable("inline")  # the core rule: parse_inline is called per token instead
    wraps = {"link": ("link_open", _link_dest), "autolink": ("link_open", _autolink_dest),
             "html_inline": ("html_inline", _html_dest)}
    for rule in md.inline.ruler.__rules__:
        if rule.name in wraps:
            kind, where = wraps[rule.name]
            md.inline.ruler.at(rule.name, _recording(rule.fn, kind, where))
    return md


MD = _build()


# ---------------------------------------------------------------- definitions (§4.7)


@dataclass(frozen=True)
class Definition:
    """A reference definition's URL: 0-based ``line`` of the parsed text, columns, form."""

    label: str
    href: str
    line: int
    start: int
    end: int
    angle: bool


def definitions(lines: list[str], env: dict) -> dict[str, Definition]:
    """Where each reference definition in ``env`` writes its destination, by label.

    A definition is ``[label]:`` then optional spaces and at most one line ending, then the
    destination (CommonMark §4.7); container prefixes (``>``, indentation) come before the
    ``[``. Definitions whose destination cannot be found again are left out.
    """
    found: dict[str, Definition] = {}
    for label, ref in (env.get("references") or {}).items():
        first, last = ref.get("map") or (0, 0)
        place = _definition_place(lines, first, last)
        if place is not None:
            found[label] = Definition(label, ref.get("href", ""), *place)
    return found


def _definition_place(lines: list[str], first: int, last: int) -> tuple[int, int, int, bool] | None:
    """(line, start, end, angle) of the destination of the definition on lines [first, last)."""
    pieces: list[tuple[int, int]] = []  # (line, column where its text starts in the string)
    text = ""
    for index in range(first, min(last, len(lines))):
        line = lines[index]
        column = line.find("[") if index == first else len(line) - len(_strip_prefix(line))
        if column < 0:
            return None
        pieces.append((index, column))
        text += line[column:] + "\n"
    label_end = _label_end(text)
    if label_end < 0 or text[label_end + 1:label_end + 2] != ":":
        return None
    pos = _skip_space(text, label_end + 2, len(text))
    found = MD.helpers.parseLinkDestination(text, pos, len(text))
    if not found.ok:
        return None
    angle = text[pos] == "<"
    return (*_locate(pieces, text, pos + angle, found.pos - angle), angle)


def _strip_prefix(line: str) -> str:
    stripped = line.lstrip(" \t")
    while stripped.startswith(">"):
        stripped = stripped[1:].lstrip(" \t")
    return stripped


def _label_end(text: str) -> int:
    """Index of the ``]`` closing the label that starts at ``text[0] == "["``, or -1."""
    pos = 1
    while pos < len(text):
        if text[pos] == "[":
            return -1
        if text[pos] == "]":
            return pos
        pos += 2 if text[pos] == "\\" else 1
    return -1


def _locate(pieces: list[tuple[int, int]], text: str, start: int, end: int) -> tuple[int, int, int]:
    """Map ``text[start:end]`` (one line) back to (line, start column, end column)."""
    offset = 0
    for line, column in pieces:
        length = text.index("\n", offset) - offset
        if start <= offset + length:
            return line, column + start - offset, column + end - offset
        offset += length + 1
    raise ValueError("position outside the definition")

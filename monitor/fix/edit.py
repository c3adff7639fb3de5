"""Edits of a source file that change a URL's bytes and nothing else.

An :class:`Edit` names a line (as the catalog's ``source`` does) and the URL found there. It
applies to every link attributed to that line whose URL reads ``old_url`` (a URL given twice
on one line changes twice). :func:`apply_edits` splices the new URLs (escaped for their place,
:mod:`monitor.fix.escape`) into the bytes, then parses the result again and checks that every
edited link now reads its new URL and every other link reads as before.

Errors (exit 3, :data:`monitor.errors.EXIT_CONFIG`)::

    FixError           an edit cannot be made safely (the message names file:line)
    └── StaleSource    the line no longer holds the URL: the file changed since extraction
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.errors import EXIT_CONFIG, MonitorError
from monitor.fix.escape import MARKDOWN_FORMS, read_as, written_form
from monitor.fix.locate import Link, outline
from monitor.fix.markdown import MD
from monitor.fix.source import SourceText

__all__ = ["REASONS", "Edit", "FixError", "StaleSource", "apply_edits", "holds"]

REASONS = ("moved", "dead", "anchor")


class FixError(MonitorError):
    """An edit of the sources that cannot be made safely; the message names ``file:line``."""

    exit_code = EXIT_CONFIG


class StaleSource(FixError):
    """Lines that no longer hold the URL the catalog says they hold.

    ``places`` lists each ``"file:line"``; the message has one line per edit.
    """

    def __init__(self, edits: Sequence[Edit]) -> None:
        self.places = tuple(edit.source for edit in edits)
        lines = [f"{edit.source}: no longer holds {edit.old_url} (the file changed since the "
                 "catalog was extracted; run the check again)" for edit in edits]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Edit:
    """Change ``old_url`` into ``new_url`` at ``file:line`` for ``reason``.

    ``file`` is a POSIX path relative to the sources' folder, ``line`` 1-based, both as in the
    catalog's ``source``; ``reason`` is one of :data:`REASONS`.
    """

    file: str
    line: int
    old_url: str
    new_url: str
    reason: str

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}, not {self.reason!r}")
        if self.line < 1 or not self.old_url.strip() or not self.new_url.strip():
            raise ValueError(f"an edit needs a line >= 1 and two URLs: {self!r}")

    @property
    def source(self) -> str:
        """``"file:line"``."""
        return f"{self.file}:{self.line}"

    @classmethod
    def at(cls, source: str, old_url: str, new_url: str, reason: str) -> Edit:
        """An edit at a catalog ``source`` (``"file:line"``). Raises ValueError if malformed."""
        file, _, line = source.rpartition(":")
        if not file or not line.isdigit():
            raise ValueError(f"not a file:line source: {source!r}")
        return cls(file, int(line), old_url, new_url, reason)

    def to_json(self) -> dict[str, object]:
        """``{file, line, old_url, new_url, reason}`` (SPEC §12)."""
        return {"file": self.file, "line": self.line, "old_url": self.old_url,
                "new_url": self.new_url, "reason": self.reason}


def holds(link: Link, url: str) -> bool:
    """Whether ``link`` reads ``url``: as extraction reads it, as written, or as markdown-it
    normalizes it (percent-encoding), surrounding whitespace aside."""
    want = url.strip()
    if not want:
        return False
    written = {link.href.strip(), link.raw.strip(), html.unescape(link.raw).strip()}
    return want in written or (link.form in MARKDOWN_FORMS and MD.normalizeLink(want) == link.href)


def apply_edits(source: SourceText, edits: Iterable[Edit],
                links: list[Link] | None = None) -> bytes:
    """``source``'s bytes with every edit made; only the URLs' bytes change.

    ``links``: ``outline(source).links`` when the caller has them already.

    Raises StaleSource when an edit's line holds no link reading its ``old_url`` (all such
    edits in one error), FixError when a URL's bytes cannot be found, two edits disagree
    about one URL, or the file would not read back as intended.
    """
    links = outline(source).links if links is None else links
    replacements: dict[tuple[int, int], tuple[str, Edit, Link]] = {}
    stale: list[Edit] = []
    for edit in edits:
        hits = [link for link in links
                if edit.line in (link.line, link.url_line) and holds(link, edit.old_url)]
        if not hits:
            stale.append(edit)
        for link in hits:
            _add_replacement(replacements, edit, link)
    if stale:
        raise StaleSource(stale)
    new = _splice(source.data, replacements)
    _verify(source, new, links, replacements)
    return new


def _add_replacement(replacements: dict[tuple[int, int], tuple[str, Edit, Link]],
                     edit: Edit, link: Link) -> None:
    if link.span is None:
        raise FixError(f"{edit.source}: {edit.old_url} is a link here but its bytes cannot be "
                       "told apart; edit it by hand")
    try:
        text = written_form(edit.new_url, link)
    except ValueError as exc:
        raise FixError(f"{edit.source}: {exc}") from None
    earlier = replacements.get(link.span)
    if earlier is not None and earlier[0] != text:
        raise FixError(f"{edit.source}: two edits change {edit.old_url}: into "
                       f"{earlier[1].new_url} and into {edit.new_url}")
    replacements[link.span] = (text, edit, link)


def _splice(data: bytes, replacements: dict[tuple[int, int], tuple[str, Edit, Link]]) -> bytes:
    out, cursor = [], 0
    for (start, end), (text, _, _) in sorted(replacements.items()):
        out += [data[cursor:start], text.encode("utf-8")]
        cursor = end
    out.append(data[cursor:])
    return b"".join(out)


def _verify(source: SourceText, new: bytes, links: list[Link],
            replacements: dict[tuple[int, int], tuple[str, Edit, Link]]) -> None:
    """Parse ``new`` again: the same links in the same order of their URLs' bytes, edited
    ones reading their new URL, the others as before. (The lines extraction gives may move:
    it finds a link's line by searching its href in the text.) Raises FixError naming the
    first edit that does not read back."""
    after = _in_byte_order(outline(SourceText.decode(new)).links)
    first = next(iter(replacements.values()))[1]
    if len(after) != len(links):
        raise FixError(f"{first.source}: the new URLs would change the file's links "
                       f"({len(links)} before, {len(after)} after); edit by hand")
    for old, new_link in zip(_in_byte_order(links), after, strict=True):
        change = replacements.get(old.span) if old.span else None
        expected = read_as(change[1].new_url, old.form) if change else old.href
        if new_link.href.strip() != expected.strip() or new_link.form != old.form:
            edit = change[1] if change else first
            raise FixError(f"{edit.source}: {edit.new_url} would read back as "
                           f"{new_link.href!r} there; edit by hand")


def _in_byte_order(links: list[Link]) -> list[Link]:
    """Links by the offset of their URL (a stable sort: links sharing one URL stay in order)."""
    return sorted(links, key=lambda link: link.span[0] if link.span else -1)

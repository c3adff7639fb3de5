"""From the edits the monitor wants to the new content of every source file.

:func:`plan_fixes` checks each requested edit at its ``file:line`` (refusing the whole plan when
a line no longer holds its URL), then finds every other place the same resource is linked in
the sources (any spelling with the same canonical URL, SPEC §5: extraction keeps only the first
place in the catalog, and a fix that left the others would leave the old URL in the catalog),
and computes each changed file's bytes. Nothing is written: :meth:`Plan.apply` writes,
:meth:`Plan.diff` shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from monitor.catalog import InvalidURL, canonical_url
from monitor.fix.diff import unified_diff
from monitor.fix.edit import Edit, FixError, StaleSource, apply_edits, holds
from monitor.fix.locate import Link, outline
from monitor.fix.source import NotUTF8, SourceText
from monitor.fix.write import write_changes

__all__ = ["Change", "Plan", "Skipped", "plan_fixes"]


@dataclass(frozen=True)
class Skipped:
    """A source file left alone: ``str()`` is ``"file:line: reason"``."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Change:
    """One file's new bytes: ``file`` relative to the sources' folder, ``path`` where it is
    (possibly a symbolic link), ``old`` the bytes read, ``new`` the bytes to write."""

    file: str
    path: Path
    old: bytes
    new: bytes
    edits: tuple[Edit, ...] = ()


@dataclass
class Plan:
    """Every file to change, and the files skipped (not UTF-8, unreadable)."""

    root: Path
    changes: list[Change] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def edits(self) -> list[Edit]:
        """Every edit made, by file then line."""
        return [edit for change in self.changes for edit in change.edits]

    def to_json(self) -> list[dict[str, object]]:
        """The ``--json`` list: ``{file, line, old_url, new_url, reason}`` per edit."""
        return [edit.to_json() for edit in self.edits]

    def diff(self) -> bytes:
        """A unified diff of every change, paths relative to :attr:`root` (``git apply``)."""
        return unified_diff(self.changes)

    def apply(self) -> None:
        """Write every changed file, all or none (:func:`monitor.fix.write.write_changes`)."""
        write_changes(self.changes)


def plan_fixes(root: str | Path, edits: Iterable[Edit], files: Iterable[str | Path] = (),
               *, every_occurrence: bool = True) -> Plan:
    """Plan ``edits`` of the sources under ``root`` (the folder catalog sources are relative to).

    ``files``: the source files to search for other places of the same resources (paths, or
    names relative to ``root``); the edits' own files are always read. With
    ``every_occurrence``, each edit also changes every link in those files whose canonical URL
    is the edit's (for reason ``anchor``: whose URL is the same, fragment included); a
    ``moved`` or ``dead`` edit keeps each place's own ``#fragment`` when the new URL has none
    (RFC 9110 §10.2.2: a redirect inherits the fragment).

    A file that is not UTF-8 or cannot be read is skipped and reported in ``Plan.skipped``
    (its edits dropped); the others proceed. Raises StaleSource when an edit's line no longer
    holds its URL (nothing is planned), FixError for an edit outside ``root`` or one that cannot
    be made safely.
    """
    root = Path(os.path.abspath(root))
    edits = list(edits)
    plan = Plan(root)
    names = list(dict.fromkeys([*(_name(root, f) for f in files), *(e.file for e in edits)]))
    texts = _read_all(root, names, plan)
    outlines = {name: outline(text).links for name, text in texts.items()}
    concrete, stale = _concrete_edits(edits, outlines, every_occurrence)
    if stale:
        raise StaleSource(stale)
    for name in names:
        mine = tuple(e for e in concrete if e.file == name)
        if mine:
            new = apply_edits(texts[name], mine, outlines[name])
            if new != texts[name].data:
                plan.changes.append(Change(name, root / name, texts[name].data, new, mine))
    return plan


def _name(root: Path, path: str | Path) -> str:
    """``path`` relative to ``root``, POSIX style; refuses a path outside ``root``."""
    absolute = os.path.normpath(os.path.join(root, path))
    relative = os.path.relpath(absolute, root)
    if relative == ".." or relative.startswith(".." + os.sep) or os.path.isabs(relative):
        raise FixError(f"{path}: not inside the sources' folder {root}")
    return Path(relative).as_posix()


def _read_all(root: Path, names: list[str], plan: Plan) -> dict[str, SourceText]:
    texts: dict[str, SourceText] = {}
    for name in names:
        _name(root, name)
        try:
            texts[name] = SourceText.decode((root / name).read_bytes())
        except NotUTF8 as exc:
            plan.skipped.append(Skipped(name, exc.line, f"not UTF-8 (byte {exc.offset}); "
                                        "left alone"))
        except OSError as exc:
            plan.skipped.append(Skipped(name, 0, f"cannot read: {exc.strerror or exc}"))
    return texts


def _concrete_edits(edits: list[Edit], outlines: dict[str, list[Link]],
                    every_occurrence: bool) -> tuple[list[Edit], list[Edit]]:
    """(one edit per place to change, the requested edits whose line no longer holds the URL)."""
    concrete: dict[tuple[str, int, str], Edit] = {}
    stale: list[Edit] = []
    for edit in edits:
        links = outlines.get(edit.file)
        if links is None:
            continue  # skipped file, already reported
        here = [link for link in links
                if edit.line in (link.line, link.url_line) and holds(link, edit.old_url)]
        if not here:
            stale.append(edit)
            continue
        places = [(edit.file, link) for link in here]
        if every_occurrence:
            places += _same_resource(edit, outlines)
        for file, link in places:
            new_url = _new_url(edit, link.href)
            if new_url.strip() == link.href.strip():
                continue
            concrete.setdefault((file, link.line, link.href),
                                Edit(file, link.line, link.href, new_url, edit.reason))
    return sorted(concrete.values(), key=lambda e: (e.file, e.line)), stale


def _same_resource(edit: Edit, outlines: dict[str, list[Link]]) -> list[tuple[str, Link]]:
    key = _key(edit.old_url, edit.reason)
    if key is None:
        return []
    return [(file, link) for file, links in outlines.items() for link in links
            if _key(link.href, edit.reason) == key]


def _key(url: str, reason: str) -> str | None:
    """What makes two links the same resource for an edit: the canonical URL (SPEC §5), plus
    the fragment for an ``anchor`` edit. None for a URL that is not http(s)."""
    try:
        canonical = canonical_url(url)
    except InvalidURL:
        return None
    fragment = urlsplit(url.strip()).fragment
    return canonical + ("#" + fragment if reason == "anchor" and fragment else "")


def _new_url(edit: Edit, href: str) -> str:
    """``edit.new_url`` for the link reading ``href``: a moved or dead link keeps its fragment."""
    if edit.reason == "anchor":
        return edit.new_url
    new = edit.new_url
    requested = urlsplit(edit.old_url.strip()).fragment
    if requested and new.endswith("#" + requested):
        new = new[: -len(requested) - 1]  # the caller carried the fragment of the first place
    fragment = urlsplit(href.strip()).fragment
    return f"{new}#{fragment}" if fragment and "#" not in new else new

"""Accepting a paper into the handbook itself (SPEC §12): with ``catalog.sources`` set,
``monitor suggestions accept`` (and the web UI's Accept) inserts the paper as a list item in the
source file, then adds the catalog row.

Where it goes (:func:`monitor.fix.insert.place_paper`): the section is the one chosen (the
suggested one by default); the chapter is the suggestion's (the heading inside the section the
paper matches best), or for another section the best chapter of that one
(:meth:`monitor.watch.score.Scorer.chapter`). The item joins the end of the chapter's resource
list in that list's style. A chapter that exists but has no resource list gets a new one-item
list at its end (the paper belongs under the heading it matched: the section's last list may be
several chapters away, and extraction would then file the paper under that other chapter); only
when no chapter fits (none suggested, or not found in the sources) does it join the section's
last resource list.

Without sources, accepting appends to the catalog CSV as before
(:func:`monitor.watch.triage.accept`).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.catalog import CatalogRow
from monitor.catalog.extract import extract_sources
from monitor.catalog.sources import Sources, sources_of
from monitor.config import Settings
from monitor.fix.diff import unified_diff
from monitor.fix.insert import Placement, place_paper
from monitor.fix.write import write_changes
from monitor.store import suggestions as store
from monitor.store.db import Database
from monitor.store.models import Suggestion
from monitor.watch import triage

__all__ = ["Accepted", "accept_paper"]


@dataclass(frozen=True)
class Accepted:
    """An accepted (or, for a dry run, placed only) suggestion: the suggestion, where the paper
    went in the sources (None without sources), for a dry run the diff, and the ``chapter`` it
    went under ("" when it joined a list outside any chapter)."""

    suggestion: Suggestion
    placement: Placement | None = None
    diff: bytes = b""
    chapter: str = ""


def accept_paper(db: Database, settings: Settings, ident: str | int,
                 section: str | None = None, *, dry_run: bool = False) -> Accepted:
    """Accept suggestion ``ident`` into ``section`` (None: the suggested one): into the
    catalog sources and the catalog CSV with ``catalog.sources`` set, else into the CSV only.
    ``dry_run``: compute where it would go and the diff, decide nothing, write nothing.

    Raises UnknownSuggestion, AlreadyDecided, SuggestionError (already in the catalog),
    FixError (exit 3: the section has no links in the sources, the paper is already linked
    there, the file is not UTF-8), CatalogError, ConfigError (a source pattern that matches
    nothing).
    """
    sources = sources_of(settings)
    catalog = settings["catalog.path"]
    if sources is None:
        if dry_run:
            return Accepted(store.open_suggestion(db, ident))
        return Accepted(triage.accept(db, ident, catalog, section))
    if dry_run:
        s = store.open_suggestion(db, ident)
        placed, chapter = _place(sources, s, section if section is not None else s.section)
        return Accepted(s, placed, unified_diff([placed.change]), chapter)
    done: list[tuple[Placement, str]] = []

    def place(s: Suggestion, chosen: str) -> dict[str, str]:
        placed, chapter = _place(sources, s, chosen)
        write_changes([placed.change])
        done.append((placed, chapter))
        return {"source": placed.source, "chapter": chapter}

    accepted = triage.accept(db, ident, catalog, section, place=place)
    return Accepted(accepted, done[0][0], b"", done[0][1])


def _place(sources: Sources, s: Suggestion, section: str) -> tuple[Placement, str]:
    """Where paper ``s`` goes in ``section`` of the sources, and the chapter it is under."""
    chapter = s.chapter if section == s.section else _chapter_in(s, section)
    rows = extract_sources(sources.paths).rows
    placed = place_paper(sources.root, rows, section, chapter, s.title, s.arxiv_id,
                         list(s.authors or []))
    found = chapter if placed.how != "section" else _chapter_at(rows, placed, section)
    return placed, found


def _chapter_in(s: Suggestion, section: str) -> str:
    """The best chapter of another ``section`` for the paper (the scorer's choice)."""
    from monitor.watch.score import Scorer

    return Scorer.default().chapter(s.title, s.abstract or "", section)


def _chapter_at(rows: list[CatalogRow], placed: Placement, section: str) -> str:
    """The chapter of the section's last list, where the paper went: that of the row nearest
    above the new line in its file."""
    file, line = placed.change.file, placed.line
    above = [r for r in rows if r.section == section and r.source.rpartition(":")[0] == file
             and int(r.source.rpartition(":")[2]) < line]
    return max(above, key=lambda r: int(r.source.rpartition(":")[2])).chapter if above else ""

"""Triage of the suggested papers (SPEC §8): the dedupe rules, accept and reject.

Dedupe rules: the versionless arXiv id is the key. A paper is never suggested when it is already
in the catalog (any arXiv link form, any version: ``/abs/``, ``/pdf/``, ``.pdf``, ``vN``), when it
already has a suggestion row (any status: new, accepted or rejected), or twice in one run (a
paper cross-listed in several watched categories is one suggestion).

Triage errors raise :class:`~monitor.errors.SuggestionError` subclasses (``MonitorError``, CLI
exit 1): an unknown id is exit 1 too, like any failed job, rather than 3 (reserved for bad
configuration).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

from monitor.catalog import append_row, load_catalog
from monitor.errors import SuggestionError
from monitor.sites.arxiv import abs_url, arxiv_id
from monitor.store import suggestions as store
from monitor.store.db import Database
from monitor.store.models import Suggestion

__all__ = ["accept", "catalog_urls", "cataloged_ids", "reject"]


def cataloged_ids(catalog_urls: Iterable[str]) -> set[str]:
    """Versionless arXiv ids of every arXiv abs/pdf link among ``catalog_urls``."""
    ids = set()
    for url in catalog_urls:
        parsed = arxiv_id(url)
        if parsed:
            ids.add(parsed[0])
    return ids


def catalog_urls(db: Database, catalog_path: str | Path | None) -> list[str]:
    """URLs of the catalog file (if it exists) and of every resource ever synced to the database.

    Raises ``CatalogError`` when the file exists but cannot be read as a catalog.
    """
    urls: list[str] = []
    if catalog_path and Path(catalog_path).is_file():
        rows, _problems = load_catalog(catalog_path)
        urls += [u for row in rows for u in (row.url, row.canonical_url)]
    return urls + store.resource_urls(db)


Place = Callable[[Suggestion, str], dict[str, str]]
"""Puts an accepted paper somewhere else first (the catalog sources: :mod:`monitor.fix.accept`)
and returns more catalog fields for its row (``chapter``, ``source``)."""


def accept(db: Database, ident: str | int, catalog_path: str | Path, section: str | None = None,
           today: date | None = None, place: Place | None = None) -> Suggestion:
    """Append the paper to the catalog CSV and mark the suggestion accepted.

    The row: ``url`` ``https://arxiv.org/abs/<id>``, ``title``, ``section`` (``section`` or the
    suggested one), ``kind`` ``paper``, ``added`` today (ISO date); only columns the file's header
    has are written, and every other byte of the file stays as it was
    (:func:`monitor.catalog.append_row`). With ``place`` (the catalog sources), it is called
    first with the suggestion and the section, its fields join the row, and a catalog file that
    does not exist yet is left for the next run to write. Raises UnknownSuggestion,
    AlreadyDecided, SuggestionError when the paper is already in the catalog, CatalogError for
    an unusable file, and what ``place`` raises (nothing is decided then).
    """
    def add_to_catalog(s: Suggestion) -> str:
        exists = Path(catalog_path).is_file()
        if exists and s.arxiv_id in cataloged_ids(
                row.url for row in load_catalog(catalog_path)[0]):
            raise SuggestionError(f"arXiv {s.arxiv_id} is already in {catalog_path}")
        chosen = section if section is not None else s.section
        fields = {"url": abs_url(s.arxiv_id), "title": s.title, "section": chosen,
                  "kind": "paper", "added": (today or date.today()).isoformat()}
        if place is not None:
            fields |= place(s, chosen)
        if exists or place is None:
            append_row(catalog_path, _known_columns(catalog_path, fields))
        return chosen

    return store.decide(db, ident, "accepted", act=add_to_catalog)


def _known_columns(catalog_path: str | Path, fields: dict[str, str]) -> dict[str, str]:
    """``fields`` limited to the columns of the catalog's header (``url`` always kept)."""
    try:
        first = Path(catalog_path).read_text(encoding="utf-8-sig").splitlines()[:1]
    except (OSError, UnicodeDecodeError):
        return fields  # append_row reports the problem
    header = {h.strip().lower() for h in next(csv.reader(io.StringIO(first[0] if first else "")),
                                              [])}
    return {k: v for k, v in fields.items() if k == "url" or k in header}


def reject(db: Database, ident: str | int, reason: str = "") -> Suggestion:
    """Mark the suggestion rejected with ``reason``; it is never suggested again.

    Raises UnknownSuggestion or AlreadyDecided.
    """
    return store.decide(db, ident, "rejected", reason=reason)

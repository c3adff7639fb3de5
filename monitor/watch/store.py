"""Suggestions in the database: dedupe, storage, JSON shape and triage (SPEC §8, §10).

Dedupe rules: the versionless arXiv id is the key. A paper is never suggested when it is already
in the catalog (any arXiv link form, any version: ``/abs/``, ``/pdf/``, ``.pdf``, ``vN``), when it
already has a suggestion row (any status: new, accepted or rejected), or twice in one run (a
paper cross-listed in several watched categories is one suggestion).

Triage errors raise :class:`SuggestionError` subclasses (``MonitorError``, CLI exit 1): an
unknown id is exit 1 too, like any failed job, rather than 3 (reserved for bad configuration).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.catalog import append_row, load_catalog
from monitor.errors import MonitorError
from monitor.store.db import Database
from monitor.store.models import Resource, Suggestion, utcnow
from monitor.urls import arxiv_id as url_arxiv_id
from monitor.watch.identity import abs_url, parse_arxiv_id

__all__ = [
    "STATUSES", "AlreadyDecided", "SuggestionError", "UnknownSuggestion", "accept",
    "cataloged_ids", "find_suggestion", "list_suggestions", "reject", "suggested_ids",
    "suggestion_object",
]

STATUSES = ("new", "accepted", "rejected")


class SuggestionError(MonitorError):
    """A triage request that cannot be done; the message says why (exit 1)."""


class UnknownSuggestion(SuggestionError):
    """No suggestion has this database id or arXiv identifier."""


class AlreadyDecided(SuggestionError):
    """The suggestion was already accepted or rejected."""


def cataloged_ids(catalog_urls: Iterable[str]) -> set[str]:
    """Versionless arXiv ids of every arXiv abs/pdf link among ``catalog_urls``."""
    ids = set()
    for url in catalog_urls:
        parsed = url_arxiv_id(url)
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
    with db.session() as session:
        for url, canonical in session.execute(select(Resource.url, Resource.canonical_url)):
            urls += [url, canonical]
    return urls


def suggested_ids(session: Session) -> set[str]:
    """Versionless ids of every suggestion ever stored, whatever its status."""
    return set(session.scalars(select(Suggestion.arxiv_id)))


def list_suggestions(db: Database, status: str | None = None) -> list[Suggestion]:
    """Suggestions, best score first (then newest); only ``status`` when given.

    Raises SuggestionError for a status outside :data:`STATUSES`.
    """
    if status is not None and status not in STATUSES:
        raise SuggestionError(f"unknown status {status!r}; choose from {', '.join(STATUSES)}")
    query = select(Suggestion).order_by(Suggestion.score.desc(), Suggestion.published.desc(),
                                        Suggestion.id)
    if status is not None:
        query = query.where(Suggestion.status == status)
    with db.session() as session:
        return list(session.scalars(query))


def suggestion_object(s: Suggestion) -> dict[str, Any]:
    """The SPEC §10 JSON object of a suggestion, plus ``abstract``, ``explanation``, ``reason``.

    Text (title, abstract) is kept raw: escaping is the renderer's job. ``published`` is ISO 8601
    with offset (or null); ``score`` is a float in [0, 1].
    """
    return {
        "id": s.id,
        "arxiv_id": s.arxiv_id,
        "version": s.version,
        "title": s.title,
        "authors": list(s.authors or []),
        "published": s.published.isoformat() if s.published else None,
        "categories": list(s.categories or []),
        "score": s.score,
        "section": s.section,
        "matched_terms": list(s.matched_terms or []),
        "status": s.status,
        "url": abs_url(s.arxiv_id),
        "abstract": s.abstract,
        "explanation": explanation(s),
        "reason": s.reason,
    }


def explanation(s: Suggestion) -> str:
    """E.g. ``"matches Section IV: Finetuning Methods for LLMs: LoRA, adapters"``."""
    if not s.section:
        return "matches no section"
    terms = ", ".join(s.matched_terms or [])
    return f"matches {s.section}: {terms}" if terms else f"matches {s.section}"


def find_suggestion(session: Session, ident: str | int) -> Suggestion:
    """The suggestion with database id ``ident`` (digits) or arXiv id (any version, URL ok).

    Raises UnknownSuggestion.
    """
    text = str(ident).strip()
    found: Suggestion | None = None
    if text.isdigit() and len(text) < 16:  # larger numbers are no database id
        found = session.get(Suggestion, int(text))
    else:
        parsed = parse_arxiv_id(text)
        if parsed:
            found = session.scalars(
                select(Suggestion).where(Suggestion.arxiv_id == parsed[0])).first()
    if found is None:
        raise UnknownSuggestion(f"no suggestion {text!r} (give its id or its arXiv identifier; "
                                "see `monitor suggestions list`)")
    return found


def _undecided(s: Suggestion) -> None:
    if s.status != "new":
        when = f" on {s.decided_at.date().isoformat()}" if s.decided_at else ""
        raise AlreadyDecided(f"suggestion {s.id} (arXiv {s.arxiv_id}) was already {s.status}{when}")


def accept(db: Database, ident: str | int, catalog_path: str | Path, section: str | None = None,
           today: date | None = None) -> Suggestion:
    """Append the paper to the catalog CSV and mark the suggestion accepted.

    The row: ``url`` ``https://arxiv.org/abs/<id>``, ``title``, ``section`` (``section`` or the
    suggested one), ``kind`` ``paper``, ``added`` today (ISO date); only columns the file's header
    has are written, and every other byte of the file stays as it was
    (:func:`monitor.catalog.append_row`). Raises UnknownSuggestion, AlreadyDecided,
    SuggestionError when the paper is already in the catalog, CatalogError for an unusable file.
    """
    with db.session() as session:
        s = find_suggestion(session, ident)
        _undecided(s)
        if Path(catalog_path).is_file() and s.arxiv_id in cataloged_ids(
                row.url for row in load_catalog(catalog_path)[0]):
            raise SuggestionError(f"arXiv {s.arxiv_id} is already in {catalog_path}")
        chosen = section if section is not None else s.section
        fields = {"url": abs_url(s.arxiv_id), "title": s.title, "section": chosen,
                  "kind": "paper", "added": (today or date.today()).isoformat()}
        append_row(catalog_path, _known_columns(catalog_path, fields))
        s.status, s.section, s.decided_at = "accepted", chosen, utcnow()
        return s


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
    with db.session() as session:
        s = find_suggestion(session, ident)
        _undecided(s)
        s.status, s.reason, s.decided_at = "rejected", reason, utcnow()
        return s

"""The arXiv watch in the database (SPEC §8): suggestions, the triage queue, category cursors.

The versionless arXiv id is the key of a suggestion (unique); a row of any status (new,
accepted, rejected) keeps a paper from being suggested again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.errors import AlreadyDecided, SuggestionError, UnknownSuggestion
from monitor.sites.arxiv import parse_arxiv_id
from monitor.store.db import Database
from monitor.store.models import ArxivCursor, Resource, Suggestion, utcnow
from monitor.vocabulary import SUGGESTION_STATUSES

__all__ = ["DecidedPaper", "add_suggestions", "cursors", "decide", "decided_papers",
           "list_suggestions", "open_suggestion", "resource_urls", "set_embeddings",
           "suggested_ids"]


def cursors(db: Database) -> dict[str, datetime]:
    """The newest submission seen per watched category (aware UTC)."""
    with db.session() as s:
        return {c.category: c.last_published for c in s.scalars(select(ArxivCursor))}


def resource_urls(db: Database) -> list[str]:
    """The catalog URL and canonical URL of every resource ever synced (active or not)."""
    with db.session() as s:
        return [u for url, canonical in s.execute(select(Resource.url, Resource.canonical_url))
                for u in (url, canonical)]


def suggested_ids(db: Database) -> set[str]:
    """Versionless ids of every suggestion ever stored, whatever its status."""
    with db.session() as s:
        return set(s.scalars(select(Suggestion.arxiv_id)))


def add_suggestions(db: Database, rows: Iterable[Mapping[str, Any]],
                    newest: Mapping[str, datetime]) -> int:
    """Store new suggestions (dicts of :class:`Suggestion` columns; a paper already stored is
    skipped) and move each category's cursor to ``newest[category]`` (never backwards), in one
    transaction. Returns the number stored."""
    with db.session() as s:
        present = set(s.scalars(select(Suggestion.arxiv_id)))
        fresh = [Suggestion(**row) for row in rows if row["arxiv_id"] not in present]
        s.add_all(fresh)
        for category, when in newest.items():
            cursor = s.get(ArxivCursor, category)
            if cursor is None:
                s.add(ArxivCursor(category=category, last_published=when))
            elif when > cursor.last_published:
                cursor.last_published, cursor.updated_at = when, utcnow()
    return len(fresh)


@dataclass(frozen=True)
class DecidedPaper:
    """An accepted or rejected suggestion, for the ranker to learn from: ``embedding`` is the
    stored vector (float32 little-endian bytes) made by ``embedding_model``, or None."""

    arxiv_id: str
    title: str
    abstract: str
    accepted: bool
    section: str
    embedding: bytes | None
    embedding_model: str


def decided_papers(db: Database) -> list[DecidedPaper]:
    """Every accepted or rejected suggestion, in the order they were decided (then by id)."""
    query = (select(Suggestion.arxiv_id, Suggestion.title, Suggestion.abstract,
                    Suggestion.status, Suggestion.section, Suggestion.embedding,
                    Suggestion.embedding_model)
             .where(Suggestion.status.in_(("accepted", "rejected")))
             .order_by(Suggestion.decided_at, Suggestion.id))
    with db.session() as s:
        return [DecidedPaper(aid, title, abstract or "", status == "accepted", section or "",
                             vector, model or "")
                for aid, title, abstract, status, section, vector, model in s.execute(query)]


def set_embeddings(db: Database, model: str, vectors: Mapping[str, bytes]) -> int:
    """Store each suggestion's vector (``arxiv_id -> float32 bytes``) made by ``model``, so it is
    not embedded again; returns the number of rows updated."""
    if not vectors:
        return 0
    with db.session() as s:
        rows = [{"id": sid, "embedding": vectors[aid], "embedding_model": model}
                for sid, aid in s.execute(select(Suggestion.id, Suggestion.arxiv_id)
                                          .where(Suggestion.arxiv_id.in_(list(vectors))))]
        if rows:
            s.execute(update(Suggestion), rows)
    return len(rows)


def list_suggestions(db: Database, status: str | None = None,
                     run_id: int | None = None) -> list[Suggestion]:
    """Suggestions, best score first (then newest); only ``status`` when given, only those
    first suggested by run ``run_id`` when given.

    Raises SuggestionError for a status outside :data:`~monitor.vocabulary.SUGGESTION_STATUSES`.
    """
    if status is not None and status not in SUGGESTION_STATUSES:
        raise SuggestionError(f"unknown status {status!r}; choose from "
                              f"{', '.join(SUGGESTION_STATUSES)}")
    query = select(Suggestion).order_by(Suggestion.score.desc(), Suggestion.published.desc(),
                                        Suggestion.id)
    if status is not None:
        query = query.where(Suggestion.status == status)
    if run_id is not None:
        query = query.where(Suggestion.run_id == run_id)
    with db.session() as session:
        return list(session.scalars(query))


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


def open_suggestion(db: Database, ident: str | int) -> Suggestion:
    """The undecided suggestion ``ident`` (id or arXiv id), read without deciding it (a dry
    run). Raises UnknownSuggestion, AlreadyDecided."""
    with db.session() as session:
        s = find_suggestion(session, ident)
        _refuse_decided(s)
        return s


def _refuse_decided(s: Suggestion) -> None:
    if s.status != "new":
        when = f" on {s.decided_at.date().isoformat()}" if s.decided_at else ""
        raise AlreadyDecided(f"suggestion {s.id} (arXiv {s.arxiv_id}) was already "
                             f"{s.status}{when}")


def decide(db: Database, ident: str | int, status: str, *, reason: str = "",
           act: Callable[[Suggestion], str | None] | None = None) -> Suggestion:
    """Mark suggestion ``ident`` accepted or rejected (``status``), with ``reason``.

    ``act`` runs first, in the same transaction (accept: the catalog edit); it may return the
    section to store, and anything it raises leaves the suggestion undecided. Raises
    UnknownSuggestion, AlreadyDecided.
    """
    with db.session() as session:
        s = find_suggestion(session, ident)
        _refuse_decided(s)
        section = act(s) if act is not None else None
        s.status, s.decided_at = status, utcnow()
        if reason:
            s.reason = reason
        if section is not None:
            s.section = section
        return s

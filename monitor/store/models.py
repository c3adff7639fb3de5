"""SQLAlchemy 2.0 typed models: the only module that declares tables.

Tables (created only by the Alembic migrations in ``migrations/``):

- ``resources``: one row per canonical URL ever seen in the catalog (inactive rows keep history).
- ``resource_states``: the current state of each resource (one row per resource).
- ``runs``: one row per ``check``/``run`` invocation, with its status and counts.
- ``check_results``: one row per resource per run, with the whole redirect chain (JSON).
- ``events``: state changes per run (``went_failing``, ``went_dead``, ``recovered``, ...).
- ``fingerprints``: content fingerprints per check (text fingerprint, raw hash, extractor version).
- ``suggestions`` and ``arxiv_cursors``: the arXiv watch and its triage queue.
- ``locks``: the database-level run lock.
- ``notifications``: what each notification channel answered, per run (SPEC §13).
- ``embedding_cache``: the handbook chunks' embeddings for the semantic ranker (issue 14).

All times are stored as UTC and returned as timezone-aware ``datetime`` objects
(:class:`UTCDateTime`), so SQLite and PostgreSQL behave the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """A ``DateTime`` stored naive in UTC and returned aware (``tzinfo=UTC``).

    Raises ``ValueError`` when given a naive datetime: every time in the project is aware.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware UTC time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Resource(Base):
    """A catalog entry, keyed by its canonical URL (SPEC §5)."""

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    section: Mapped[str] = mapped_column(Text, default="")
    chapter: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="other")
    source: Mapped[str] = mapped_column(Text, default="")
    added: Mapped[str] = mapped_column(String(32), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResourceState(Base):
    """The current health of one resource, updated at the end of each non-aborted run.

    ``anchor_missing``: the catalog URL's ``#fragment`` when the page no longer has that
    anchor (SPEC §6), else None; ``page_title``: the page's own title (``<title>`` or a probe's
    title), None until one is seen."""

    __tablename__ = "resource_states"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    final_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    suggested_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    etag: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_modified: Mapped[str | None] = mapped_column(Text, nullable=True)
    state_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    probe: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    anchor_missing: Mapped[str | None] = mapped_column(Text, nullable=True)
    page_title: Mapped[str | None] = mapped_column(Text, nullable=True)


class Run(Base):
    """One invocation of ``check`` or ``run``. Status: running, complete, degraded, aborted."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    command: Mapped[str] = mapped_column(String(16), default="check")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    checked: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[int] = mapped_column(Integer, default=0)
    moved: Mapped[int] = mapped_column(Integer, default=0)
    failing: Mapped[int] = mapped_column(Integer, default=0)
    dead: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[int] = mapped_column(Integer, default=0)
    hosts: Mapped[int] = mapped_column(Integer, default=0)
    hosts_unreachable: Mapped[int] = mapped_column(Integer, default=0)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class CheckResult(Base):
    """One resource checked in one run: the outcome and the whole redirect chain.

    At most one row per (run, resource) (a unique index: a retried batch of a distributed run
    writes nothing twice). ``final_url``: the last URL of the chain (None without a redirect);
    ``outcome_url``: the outcome's ``final_url`` (a moved resource's replacement); ``content``:
    what the fingerprint said (``new``, ``first``, ``same`` or None); ``anchor``: what the page
    said of the URL's ``#fragment`` (``found``, ``missing``, ``unknown`` or None); ``page_title``:
    the page's own title seen by this check. The last four are None in rows written before
    migration 0004.
    """

    __tablename__ = "check_results"
    __table_args__ = (Index("ix_check_results_resource_run", "resource_id", "run_id"),
                      Index("ux_check_results_run_resource", "run_id", "resource_id",
                            unique=True))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    redirect_chain: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    bytes_received: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str | None] = mapped_column(Text, nullable=True)
    etag: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_modified: Mapped[str | None] = mapped_column(Text, nullable=True)
    probe: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content: Mapped[str | None] = mapped_column(String(8), nullable=True)
    outcome_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    anchor: Mapped[str | None] = mapped_column(String(8), nullable=True)
    page_title: Mapped[str | None] = mapped_column(Text, nullable=True)


class Event(Base):
    """A state change of one resource in one run (SPEC §6 event kinds)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Fingerprint(Base):
    """A content fingerprint of one resource at one check (SPEC §7)."""

    __tablename__ = "fingerprints"
    __table_args__ = (Index("ix_fingerprints_resource", "resource_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), nullable=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    extractor_version: Mapped[str] = mapped_column(String(32))
    raw_hash: Mapped[str] = mapped_column(String(64))
    text_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signature: Mapped[list[int]] = mapped_column(JSON, default=list)
    text_excerpt: Mapped[str] = mapped_column(Text, default="")
    page_title: Mapped[str | None] = mapped_column(Text, nullable=True)
    content_type: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_baseline: Mapped[bool] = mapped_column(Boolean, default=False)


class Suggestion(Base):
    """A candidate arXiv paper for the catalog (SPEC §8). Status: new, accepted, rejected.

    ``chapter``: the best-matching heading inside ``section`` ("" when none); ``explanation``:
    why it ranks where it does; ``ranking``: how the watch that stored it ranked ("semantic
    (<model>)" or "lexical (<why>)"); ``embedding``: its vector (float32 little-endian bytes,
    ``dim * 4`` of them) made by ``embedding_model`` (an encoder cache id), or None.
    """

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    abstract: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    section: Mapped[str] = mapped_column(Text, default="")
    chapter: Mapped[str] = mapped_column(Text, default="")
    matched_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="new")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    explanation: Mapped[str] = mapped_column(Text, default="")
    ranking: Mapped[str] = mapped_column(Text, default="")
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    embedding_model: Mapped[str] = mapped_column(Text, default="")


class EmbeddingCache(Base):
    """Cached embeddings of the handbook chunks: ``vectors`` holds float32 little-endian rows of
    ``dim`` values (``n * dim * 4`` bytes) for the chunk texts and model hashed in ``key``."""

    __tablename__ = "embedding_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(Text)
    dim: Mapped[int] = mapped_column(Integer)
    vectors: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArxivCursor(Base):
    """The newest submission seen per watched category, so the next watch is incremental."""

    __tablename__ = "arxiv_cursors"

    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_published: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lock(Base):
    """A named database-level lock (the run lock): one row while held."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """What one notification channel answered for one run (or a test message, ``run_id``
    None). ``channel`` is what may be shown of it (scheme and host, or ``github:owner/name``:
    never a credential); ``detail`` what was done (``sent``, ``updated issue #7``, ``failed``);
    ``error`` why it failed, without any secret."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_channel", "channel", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(Text)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=1)

"""The semantic ranker's chunk-embedding cache (issue 14): bytes by key, in ``embedding_cache``.

A key is :func:`monitor.watch.semantic.chunk_key` (sha256 hex of the chunk texts and the
model), so the vectors are recomputed exactly when the handbook chunks or the model change. The
store keeps the :data:`KEEP` newest keys and forgets older ones.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from monitor.store.db import Database
from monitor.store.models import EmbeddingCache, utcnow

__all__ = ["KEEP", "DatabaseVectorCache", "cached_vectors", "store_vectors"]

KEEP = 4
"""Cache rows kept (a few models or handbook versions side by side; each is ~330 KB)."""


def cached_vectors(db: Database, key: str) -> bytes | None:
    """The vectors stored under ``key`` (float32 little-endian bytes), or None."""
    with db.session() as s:
        return s.scalar(select(EmbeddingCache.vectors).where(EmbeddingCache.key == key))


def store_vectors(db: Database, key: str, model: str, dim: int, blob: bytes) -> None:
    """Store ``blob`` (float32 rows of ``dim`` values) under ``key`` (replacing a row of the same
    key), made by ``model`` (an encoder cache id, informative); keep the :data:`KEEP` newest."""
    with db.session() as s:
        s.execute(delete(EmbeddingCache).where(EmbeddingCache.key == key))
        s.add(EmbeddingCache(key=key, model=model, dim=dim, vectors=blob, created_at=utcnow()))
        s.flush()
        old = s.scalars(select(EmbeddingCache.key)
                        .order_by(EmbeddingCache.created_at.desc(), EmbeddingCache.key)
                        .offset(KEEP)).all()
        if old:
            s.execute(delete(EmbeddingCache).where(EmbeddingCache.key.in_(old)))


class DatabaseVectorCache:
    """The ranker's ``VectorCache`` (``get``/``put``) over :func:`cached_vectors` and
    :func:`store_vectors` of ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or None."""
        return cached_vectors(self.db, key)

    def put(self, key: str, model: str, dim: int, blob: bytes) -> None:
        """Store ``blob`` under ``key``."""
        store_vectors(self.db, key, model, dim, blob)

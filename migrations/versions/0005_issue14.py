"""issue 14: the semantic ranker's cache and what it says about each suggestion

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10

- ``embedding_cache``: the handbook chunks' embeddings, one row per cache key (a sha256 of the
  chunk texts and the model: :func:`monitor.watch.semantic.chunk_key`); ``vectors`` are float32
  little-endian rows of ``dim`` values;
- ``suggestions.chapter`` (SPEC §10; issue 12 adds the same column in its own migration, so it
  is added here only when missing), ``explanation`` ("close to: <section> / <chapter>" or
  "matches <section>: <terms>"), ``ranking`` (how the watch that stored it ranked: "semantic
  (<model>)" or "lexical (<why>)"), ``embedding`` (the paper's vector, float32 little-endian,
  so triage decisions are never embedded again) and ``embedding_model`` (the encoder's cache id
  that made it; a vector of another model is recomputed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    op.create_table(
        "embedding_cache",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vectors", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    present = _columns("suggestions")
    with op.batch_alter_table("suggestions") as batch:
        if "chapter" not in present:  # issue 12's migration may have added it already
            batch.add_column(sa.Column("chapter", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("explanation", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("ranking", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("embedding", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("embedding_model", sa.Text(), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        for name in ("embedding_model", "embedding", "ranking", "explanation"):
            batch.drop_column(name)
    op.drop_table("embedding_cache")

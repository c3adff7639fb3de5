"""check_results: one row per (run, resource), and what a stored result needs to be replayed
as the crawl's ``Check`` (issue 17, distributed runs)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

A retried host batch may check a resource twice in one run; the unique index lets
``INSERT ... ON CONFLICT (run_id, resource_id) DO NOTHING`` keep the first result (PostgreSQL
and SQLite alike). Duplicates already there (local runs never wrote any) keep their lowest id.
The unique index starts with ``run_id``, so it replaces ``ix_check_results_run_id``.

Four columns let the health stage rebuild a run's checks from the store (a distributed run's
coordinator never sees them in memory): ``content`` (what the fingerprint said: ``new``,
``first``, ``same`` or NULL), ``outcome_url`` (the outcome's ``final_url``: the replacement of
a moved resource, which may differ from ``final_url``, the last URL of the redirect chain),
``anchor`` (what the page said of the URL's ``#fragment``: ``found``, ``missing``, ``unknown``
or NULL) and ``page_title`` (the page's own title seen by this check, or NULL). Older rows keep
NULL in all four.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM check_results WHERE id NOT IN "
               "(SELECT min(id) FROM check_results GROUP BY run_id, resource_id)")
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("outcome_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("anchor", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("page_title", sa.Text(), nullable=True))
        batch_op.create_index("ux_check_results_run_resource", ["run_id", "resource_id"],
                              unique=True)
        batch_op.drop_index("ix_check_results_run_id")


def downgrade() -> None:
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.create_index("ix_check_results_run_id", ["run_id"], unique=False)
        batch_op.drop_index("ux_check_results_run_resource")
        batch_op.drop_column("page_title")
        batch_op.drop_column("anchor")
        batch_op.drop_column("outcome_url")
        batch_op.drop_column("content")

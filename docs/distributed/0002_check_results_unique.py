"""check_results: one row per (run, resource) (proposed; copy into migrations/versions/ and set
SCHEMA_HEAD = "0002" in monitor/store/db.py when distributed runs land).

Revision ID: 0002
Revises: 0001

A retried host batch may check a resource twice in one run; the unique index lets
``INSERT ... ON CONFLICT (run_id, resource_id) DO NOTHING`` keep the first result (PostgreSQL
and SQLite alike). Any duplicates already there (none are written by local runs) keep their
lowest id. The unique index starts with run_id, so it replaces ix_check_results_run_id.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM check_results WHERE id NOT IN "
               "(SELECT min(id) FROM check_results GROUP BY run_id, resource_id)")
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.create_index("ux_check_results_run_resource", ["run_id", "resource_id"],
                              unique=True)
        batch_op.drop_index("ix_check_results_run_id")


def downgrade() -> None:
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.create_index("ix_check_results_run_id", ["run_id"], unique=False)
        batch_op.drop_index("ux_check_results_run_resource")

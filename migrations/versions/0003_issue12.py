"""issue 12: a suggestion's chapter; a resource's missing anchor and its page's own title

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10

- ``suggestions.chapter``: the best-matching heading inside the suggested section (SPEC §10);
- ``resource_states.anchor_missing``: the ``#fragment`` of the catalog URL that the page no
  longer has (SPEC §6 ``anchor_missing``), null while it has it or it cannot be told;
- ``resource_states.page_title``: the page's own title (its ``<title>``, or the title a probe
  found: oEmbed, arXiv, GitHub), filled here from each resource's newest counted fingerprint.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("chapter", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("resource_states") as batch:
        batch.add_column(sa.Column("anchor_missing", sa.Text(), nullable=True))
        batch.add_column(sa.Column("page_title", sa.Text(), nullable=True))
    op.execute(
        "UPDATE resource_states SET page_title = ("
        " SELECT f.page_title FROM fingerprints f JOIN runs r ON r.id = f.run_id"
        " WHERE f.resource_id = resource_states.resource_id AND r.status = 'complete'"
        " AND f.page_title IS NOT NULL ORDER BY f.id DESC LIMIT 1)")


def downgrade() -> None:
    with op.batch_alter_table("resource_states") as batch:
        batch.drop_column("page_title")
        batch.drop_column("anchor_missing")
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_column("chapter")

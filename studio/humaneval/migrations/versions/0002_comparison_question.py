"""Which question a pairwise vote answers: "samples" (Which is better?) or "completion" (Which completion is
better?). Votes stored before this revision answered "Which is better?", so they keep "samples".

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server default fills the rows already there, and any writer that does not name the question.
    op.add_column("comparisons", sa.Column("question", sa.String(16), nullable=False, server_default="samples"))
    op.create_index("comparisons_by_question", "comparisons", ["modality", "question"])


def downgrade() -> None:
    op.drop_index("comparisons_by_question", "comparisons")
    with op.batch_alter_table("comparisons") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("question")

"""Tickets (what the server showed a page) and the two kinds of vote.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(64), primary_key=True),  # opaque, random
        sa.Column("session", sa.String(64), nullable=False),  # sha256 of the page's session id
        sa.Column("kind", sa.String(16), nullable=False),  # "judge" or "compare"
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("item", sa.Text, nullable=False),  # JSON: what was shown (a source, or a left/right pair)
        sa.Column("issued_at", sa.Float, nullable=False),  # unix seconds
        sa.Column("used_at", sa.Float, nullable=True),
    )
    op.create_index("tickets_by_session", "tickets", ["session", "issued_at"])
    op.create_table(
        "judgements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket", sa.String(64), sa.ForeignKey("tickets.id"), nullable=False, unique=True),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),  # "real" or the model id
        sa.Column("said_real", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("judgements_by_modality", "judgements", ["modality"])
    op.create_table(
        "comparisons",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket", sa.String(64), sa.ForeignKey("tickets.id"), nullable=False, unique=True),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("left_model", sa.String(64), nullable=False),
        sa.Column("right_model", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),  # "left", "right" or "tie"
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("comparisons_by_modality", "comparisons", ["modality"])


def downgrade() -> None:
    op.drop_table("comparisons")
    op.drop_table("judgements")
    op.drop_table("tickets")

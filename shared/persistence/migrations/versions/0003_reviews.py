"""Reviews (复查) and final reviews (复核) held by the reviewing node.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Text, primary_key=True),  # {reviewer}-RV-{year}-{seq} / -FR-
        sa.Column("level", sa.Text, nullable=False),  # REVIEW or FINAL_REVIEW
        sa.Column("case_id", sa.Text, nullable=False),  # the petition, at its owner
        sa.Column("case_node", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),  # REQUESTED, OPEN, REFUSED, DECIDED
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("opened_at", TS),
        sa.Column("due", TS),
        sa.Column("hearing_days", sa.Integer, nullable=False, server_default="0"),
        sa.Column("decided_at", TS),
        sa.Column("outcome", sa.Text),
        sa.Column("decision_text", sa.Text),
        sa.Column("refusal", sa.Text),
        sa.Column("case_snapshot", JSONB),  # what the owner sent: the matter and its reply
        sa.Column("request_message_id", sa.Text, nullable=False, unique=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("reviews_case", "reviews", ["case_id"])
    op.create_index("reviews_status_due", "reviews", ["status", "due"])
    op.create_table(
        "review_counters",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("review_counters")
    op.drop_table("reviews")

"""Messages between nodes (outbox, inbox) and a case's links to records at other nodes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Text, primary_key=True),  # {sender code}-M-{uuid}: the message id
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("trace_context", JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("delivered_at", TS),
        sa.Column("last_error", sa.Text),
    )
    op.create_index(
        "outbox_pending",
        "outbox",
        ["next_attempt_at"],
        postgresql_where=sa.text("delivered_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),  # APPLIED or REJECTED
        sa.Column("detail", sa.Text),
    )
    op.create_table(
        "case_links",
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("remote_node", sa.Text, nullable=False),
        sa.Column("remote_id", sa.Text),  # filled when the other node tells its record id
        sa.Column("at", TS, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq"),
    )
    op.create_index("case_links_message", "case_links", ["message_id"])


def downgrade() -> None:
    op.drop_table("case_links")
    op.drop_table("inbox")
    op.drop_table("outbox")

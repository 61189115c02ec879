"""Supervision orders: those a node issued, and those it received about its own cases.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _order_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.Text, primary_key=True),  # {issuer}-SO-{year}-{seq}
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("due", TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reply_text", sa.Text),
        sa.Column("replied_at", TS),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]


def upgrade() -> None:
    op.create_table(
        "supervision_orders",
        *_order_columns(),
        sa.Column("case_node", sa.Text, nullable=False),
        sa.Column("issued_by", sa.Text, nullable=False),
    )
    op.create_index("supervision_orders_status_due", "supervision_orders", ["status", "due"])
    op.create_table(
        "supervision_received",
        *_order_columns(),
        sa.Column("issuer", sa.Text, nullable=False),
    )
    op.create_index("supervision_received_case", "supervision_received", ["case_id"])
    op.create_table(
        "supervision_counters",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("supervision_counters")
    op.drop_table("supervision_received")
    op.drop_table("supervision_orders")

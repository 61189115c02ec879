"""Alerts (预警, docs/adr/0016): the alerts this node raised over its own data and the copies
its descendants reported up by ALERT messages, one table, newest version wins.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Text, primary_key=True),  # {origin}-A-{digest of the key}
        sa.Column("origin", sa.Text, nullable=False),  # the node that raised it (its owner)
        sa.Column("key", sa.Text, nullable=False),  # shared.alerts: what it is about
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sa.Column("severity_rank", sa.SmallInteger, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("case_id", sa.Text),
        sa.Column("category", sa.Text),
        sa.Column("locality", sa.Text),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("due", TS),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("acknowledged_by", sa.Text),
        sa.Column("acknowledged_at", TS),
        sa.Column("resolved_by", sa.Text),
        sa.Column("resolved_at", TS),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("origin", "key", name="alerts_origin_key"),
    )
    op.create_index("alerts_raised", "alerts", [sa.text("raised_at DESC"), sa.text("id DESC")])
    op.create_index("alerts_state_rank", "alerts", ["state", "severity_rank"])


def downgrade() -> None:
    op.drop_index("alerts_state_rank", "alerts")
    op.drop_index("alerts_raised", "alerts")
    op.drop_table("alerts")

"""Daily figures reported up hop by hop (docs/adr/0013): this node's subtree figures per day
(counts, categories, escalation flows), each child's latest report, and the report versions.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

# Frozen here (a migration does not follow later code): shared.figures.FIGURE_COUNTS of 0009.
COUNTS = (
    "event_count",
    "person_count",
    "received_count",
    "acceptance_due",
    "acceptance_on_time",
    "reply_due",
    "reply_on_time",
    "rated",
    "satisfied",
    "backlog",
    "backlog_ledger",
    "backlog_resolved",
    "overdue",
    "skip_level_visits",
    "skip_level_visits_received",
    "repeat_petitions",
    "first_petition_replies",
    "first_petition_reply_days_sum",
    "supervision_orders_open",
    "supervision_orders_overdue",
)


def _counts() -> list[sa.Column[object]]:
    return [
        sa.Column(n, sa.Float if n.endswith("_sum") else sa.BigInteger, nullable=False)
        for n in COUNTS
    ]


def upgrade() -> None:
    op.create_table(
        "figures_subtree",  # this node's subtree figures per day, as last computed
        sa.Column("day", sa.Date, primary_key=True),
        *_counts(),
    )
    op.create_table(
        "figures_subtree_categories",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("cases", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "category"),
    )
    op.create_table(
        "figures_subtree_flows",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("from_tier", sa.Text, nullable=False),
        sa.Column("to_tier", sa.Text, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "from_tier", "to_tier"),
    )
    op.create_table(
        "figures_reports",  # one row: the last report computed (and sent up, if any)
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("computed_at", TS, nullable=False),
    )
    op.create_table(
        "figures_children",  # each child's subtree figures per day, as last reported here
        sa.Column("child", sa.Text, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *_counts(),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("child", "day"),
    )
    op.create_table(
        "figures_children_categories",
        sa.Column("child", sa.Text, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("cases", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("child", "day", "category"),
    )
    op.create_table(
        "figures_children_flows",
        sa.Column("child", sa.Text, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("from_tier", sa.Text, nullable=False),
        sa.Column("to_tier", sa.Text, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("child", "day", "kind", "from_tier", "to_tier"),
    )
    op.create_table(
        "figures_senders",  # each child's newest report applied here
        sa.Column("child", sa.Text, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("reported_at", TS, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "figures_senders",
        "figures_children_flows",
        "figures_children_categories",
        "figures_children",
        "figures_reports",
        "figures_subtree_flows",
        "figures_subtree_categories",
        "figures_subtree",
    ):
        op.drop_table(table)

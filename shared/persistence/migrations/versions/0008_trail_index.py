"""The escalation trail (docs/adr/0014): the chain root of a case a message created, and the
province's trail index (its steps, and which chain each case belongs to).

Revision ID: 0008
Revises: 0006 (0007 is another branch's; the lead renumbers at merge)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _schema() -> str:
    # ALTER TABLE is not mapped by schema_translate_map: name the node's schema (see env.py).
    schema: str = context.config.attributes["schema"]
    return schema


def upgrade() -> None:
    op.add_column("cases", sa.Column("trail_root", sa.Text), schema=_schema())
    op.create_table(
        "trail_steps",
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("step_key", sa.Text, primary_key=True),
        sa.Column("case_id", sa.Text, nullable=False),
        sa.Column("root", sa.Text),
        sa.Column("node", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("review_id", sa.Text),
        sa.Column("order_id", sa.Text),
        sa.Column("deadline_kind", sa.Text),
        sa.Column("deadline_due", TS),
        sa.Column("deadline_met_at", TS),
        sa.Column("note", sa.Text),
        sa.Column("message_id", sa.Text),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("trail_steps_case", "trail_steps", ["case_id"])
    op.create_table(
        "trail_chains",
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("root", sa.Text, nullable=False),
    )
    op.create_index("trail_chains_root", "trail_chains", ["root"])


def downgrade() -> None:
    op.drop_table("trail_chains")
    op.drop_table("trail_steps")
    op.drop_column("cases", "trail_root", schema=_schema())

"""12345 hotline tickets kept as their own source type (docs/hotline.md, docs/adr/0017): the
tickets of this node's division, their callers' personal data apart (as petitioners', ADR 3),
and two more daily counts in the figures tables (unconverted tickets received, and petitions
converted from tickets).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
# Frozen here: the counts shared.figures.FIGURE_COUNTS gained in 0011.
COUNTS = ("hotline_tickets", "hotline_converted")
FIGURES_TABLES = ("figures_subtree", "figures_children")


def _schema() -> str:
    # ALTER TABLE is not mapped by schema_translate_map: name the node's schema (see env.py).
    schema: str = context.config.attributes["schema"]
    return schema


def upgrade() -> None:
    op.create_table(
        "hotline_tickets",
        sa.Column("ticket_number", sa.Text, primary_key=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("division_code", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("is_petition", sa.Boolean, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("imported_by", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), unique=True),
        sa.Column("converted_at", TS),
        sa.Column("converted_by", sa.Text),
    )
    op.create_index("hotline_tickets_received", "hotline_tickets", ["received_at", "ticket_number"])
    op.create_table(
        "hotline_callers",
        sa.Column(
            "ticket_number",
            sa.Text,
            sa.ForeignKey("hotline_tickets.ticket_number"),
            primary_key=True,
        ),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("phone", sa.Text),
    )
    for table in FIGURES_TABLES:
        for name in COUNTS:
            op.add_column(
                table,
                sa.Column(name, sa.BigInteger, nullable=False, server_default=sa.text("0")),
                schema=_schema(),
            )


def downgrade() -> None:
    for table in FIGURES_TABLES:
        for name in COUNTS:
            op.drop_column(table, name, schema=_schema())
    op.drop_table("hotline_callers")
    op.drop_table("hotline_tickets")

"""Cross-node rules: refusal codes, skip-level visits, representatives, the matter index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _schema() -> str:
    # ALTER TABLE is not mapped by schema_translate_map: name the node's schema (see env.py).
    schema: str = context.config.attributes["schema"]
    return schema


def upgrade() -> None:
    for name in ("refusal_code", "skip_level_from", "matter_check"):
        op.add_column("cases", sa.Column(name, sa.Text), schema=_schema())
    op.create_table(
        "representatives",
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("id_number", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("person_key", sa.Text),
        sa.PrimaryKeyConstraint("case_id", "seq"),
    )
    op.create_table(
        "matter_index",
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("matter_key", sa.Text, nullable=False),
        sa.Column("node", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("final_at", TS),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("matter_index_matter_key", "matter_index", ["matter_key"])
    op.create_table(
        "skip_level_visits",
        sa.Column("visit_case_id", sa.Text, primary_key=True),
        sa.Column("visited_node", sa.Text, nullable=False),
        sa.Column("issue_locality_code", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("case_id", sa.Text),
        sa.Column("message_id", sa.Text, nullable=False),
    )
    op.create_index("skip_level_visits_at", "skip_level_visits", ["at"])


def downgrade() -> None:
    op.drop_table("skip_level_visits")
    op.drop_table("matter_index")
    op.drop_table("representatives")
    for name in ("matter_check", "skip_level_from", "refusal_code"):
        op.drop_column("cases", name, schema=_schema())

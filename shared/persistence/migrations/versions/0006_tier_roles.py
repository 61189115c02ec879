"""Each tier's own records: intake desks, mediation outcomes, grid reports, leader-owned cases,
joint-meeting decisions on competence, statistics reports received, flagged supervision's leader.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "intake_records",  # which desk received a petition (governance centre, bureau)
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("receiver", sa.Text, nullable=False),
        sa.Column("receiving_window", sa.Text),
        sa.Column("received_by", sa.Text, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_table(
        "mediations",  # 调解 outcome records
        sa.Column("id", sa.Text, primary_key=True),  # {node}-MD-{year}-{seq}
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("mediator", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("parties_consent", sa.Boolean, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
    )
    op.create_index("mediations_case", "mediations", ["case_id"])
    op.create_table(
        "grid_reports",  # 网格员 reports of disputes
        sa.Column("id", sa.Text, primary_key=True),  # {node}-GR-{year}-{seq}
        sa.Column("grid_worker", sa.Text, nullable=False),
        sa.Column("grid", sa.Text, nullable=False),
        sa.Column("locality_code", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("person_count", sa.Integer, nullable=False),
        sa.Column("reported_at", TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), unique=True),
        sa.Column("registered_at", TS),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "leader_ownerships",  # 领导包案: who owns a hard case, and every handover
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("leader", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("assigned_by", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("until", TS),
        sa.PrimaryKeyConstraint("case_id", "seq"),
    )
    op.create_index(
        "leader_ownerships_current",
        "leader_ownerships",
        ["case_id"],
        unique=True,
        postgresql_where=sa.text("until IS NULL"),
    )
    op.create_table(
        "competence_disputes",  # Art. 24: decided by the joint meeting
        sa.Column("id", sa.Text, primary_key=True),  # {node}-JM-{year}-{seq}
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("bodies", JSONB, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("raised_by", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("competent_body", sa.Text),
        sa.Column("decision_text", sa.Text),
        sa.Column("decided_at", TS),
        sa.Column("decided_by", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("competence_disputes_case", "competence_disputes", ["case_id"])
    op.create_table(
        "statistics_reports",  # Art. 41: figures nodes below reported here
        sa.Column("reporter", sa.Text, nullable=False),
        sa.Column("period_from", sa.Date, nullable=False),
        sa.Column("period_to", sa.Date, nullable=False),
        sa.Column("counts", JSONB, nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("reporter", "period_from", "period_to"),
    )
    op.create_table(
        "role_counters",
        sa.Column("mark", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("mark", "year"),
    )
    # ALTER TABLE is not mapped by schema_translate_map: name the node's schema.
    schema = context.config.attributes["schema"]
    for table in ("supervision_orders", "supervision_received"):
        op.add_column(table, sa.Column("leader", sa.Text), schema=schema)  # 挂牌督办: the leader


def downgrade() -> None:
    schema = context.config.attributes["schema"]
    for table in ("supervision_received", "supervision_orders"):
        op.drop_column(table, "leader", schema=schema)
    for table in (
        "role_counters",
        "statistics_reports",
        "competence_disputes",
        "leader_ownerships",
        "grid_reports",
        "mediations",
        "intake_records",
    ):
        op.drop_table(table)

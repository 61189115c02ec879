"""A node's case tables: cases, petitioners, deadlines, the append-only event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.create_table(
        "cases",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner_code", sa.Text, nullable=False),
        sa.Column("issue_locality_code", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("person_count", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("received_from", sa.Text),
        sa.Column("routed_to", sa.Text),
        sa.Column("outcome", sa.Text),
        sa.Column("rating", sa.Text),
        sa.Column("review_outcome", sa.Text),
        sa.Column("handling_extended", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("notified_on_spot", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("counselled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("final", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("skip_level", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("repeat_of", sa.Text),
        sa.Column("matter_key", sa.Text),
        sa.Column("idempotency_key", sa.Text, unique=True),
        sa.Column("request_hash", sa.Text),
        sa.CheckConstraint("person_count between 1 and 10000", name="cases_person_count"),
        sa.CheckConstraint("version >= 1", name="cases_version"),
    )
    op.create_index("cases_registered_at_id", "cases", ["registered_at", "id"])
    op.create_index("cases_status", "cases", ["status"])
    op.create_index("cases_category", "cases", ["category"])
    op.create_index("cases_matter_key", "cases", ["matter_key"])

    op.create_table(
        "petitioners",
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("id_number", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("address", sa.Text),
        sa.Column("person_key", sa.Text),
    )
    op.create_index("petitioners_person_key", "petitioners", ["person_key"])

    op.create_table(
        "case_deadlines",
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("due", TS, nullable=False),
        sa.Column("met_at", TS),
        sa.Column("extra_days", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("case_id", "kind"),
    )
    op.create_index(
        "case_deadlines_open_due",
        "case_deadlines",
        ["due"],
        postgresql_where=sa.text("met_at IS NULL"),
    )

    op.create_table(
        "case_events",
        sa.Column("case_id", sa.Text, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("from_status", sa.Text),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq"),
    )
    op.execute(
        f"""
        CREATE FUNCTION "{schema}".refuse_event_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION USING
                MESSAGE = 'case_events is append-only (' || TG_OP || ' refused)',
                ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER case_events_append_only
            BEFORE UPDATE OR DELETE ON "{schema}".case_events
            FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse_event_change()
        """
    )

    op.create_table(
        "case_counters",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    schema = context.config.attributes["schema"]
    op.drop_table("case_counters")
    op.drop_table("case_events")
    op.execute(f'DROP FUNCTION "{schema}".refuse_event_change()')
    op.drop_table("case_deadlines")
    op.drop_table("petitioners")
    op.drop_table("cases")

"""The tables of one node. Every node has its own PostgreSQL schema holding these tables; the
tables are declared without a schema and each connection maps them to its node's schema
(``schema_translate_map``), so statements are always schema-qualified.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.figures import FIGURE_COUNTS, HOTLINE_COUNTS, REPLY_DAYS_SUM

metadata = MetaData()

cases = Table(
    "cases",
    metadata,
    Column("id", Text, primary_key=True),  # {owner code}-{year}-{sequence:06d}
    Column("owner_code", Text, nullable=False),
    Column("issue_locality_code", Text, nullable=False),  # 属地: where the matter arose
    Column("channel", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("person_count", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("received_from", Text),
    Column("routed_to", Text),
    Column("outcome", Text),
    Column("rating", Text),
    Column("review_outcome", Text),
    Column("handling_extended", Boolean, nullable=False, server_default=text("false")),
    Column("notified_on_spot", Boolean, nullable=False, server_default=text("false")),
    Column("counselled", Boolean, nullable=False, server_default=text("false")),
    Column("final", Boolean, nullable=False, server_default=text("false")),
    Column("skip_level", Boolean, nullable=False, server_default=text("false")),
    Column("repeat_of", Text),  # an earlier case of the same person on the same matter
    Column("matter_key", Text),  # keyed hash: person + category + locality
    Column("idempotency_key", Text, unique=True),
    Column("request_hash", Text),
    Column("refusal_code", Text),  # NO_REACCEPTANCE, PENDING_BELOW, SKIP_LEVEL (shared.matters)
    Column("skip_level_from", Text),  # a skip-level visit received there, sent down here
    Column("matter_check", Text),  # the province matter index: CHECKED, PENDING, CONFLICT
    # The escalation trail's chain (docs/adr/0014): the case where the petition first entered,
    # for a case a message created here; NULL when the petition entered here.
    Column("trail_root", Text),
    # 检举控告: the unit (division code) an accusation accuses; its content is never shown to
    # callers at that unit or inside it (shared.privacy). NULL: not an accusation.
    Column("accused_unit", Text),
)
Index("cases_registered_at_id", cases.c.registered_at, cases.c.id)
Index("cases_status", cases.c.status)
Index("cases_category", cases.c.category)
Index("cases_matter_key", cases.c.matter_key)

# Personal data lives apart from the case, so it can be masked, encrypted and audited alone.
petitioners = Table(
    "petitioners",
    metadata,
    Column("case_id", Text, ForeignKey("cases.id"), primary_key=True),
    Column("name", Text, nullable=False),
    # Sealed with AES-256-GCM under the province's key (shared.privacy.IdCipher), never clear.
    Column("id_number", Text),
    Column("phone", Text),
    Column("address", Text),
    Column("person_key", Text),  # HMAC of the normalised ID number, never the number
)
Index("petitioners_person_key", petitioners.c.person_key)

# A collective visit's representatives (at most five, Art. 20): personal data, like petitioners.
representatives = Table(
    "representatives",
    metadata,
    Column("case_id", Text, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("id_number", Text),  # sealed, like petitioners'.
    Column("phone", Text),
    Column("person_key", Text),
    PrimaryKeyConstraint("case_id", "seq"),
)

# Every clear read of personal data at this node (ADR 0018): who, what, when, why. Written
# before the values leave the resolver; read by auditors only.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("subject", Text, nullable=False),
    Column("roles", ARRAY(Text), nullable=False),
    Column("jurisdiction", Text, nullable=False),
    Column("case_id", Text, nullable=False),
    Column("record", Text, nullable=False),  # petitioner, representatives
    Column("fields", ARRAY(Text), nullable=False),
    Column("purpose", Text, nullable=False),
)
Index("audit_log_case", audit_log.c.case_id)

case_deadlines = Table(
    "case_deadlines",
    metadata,
    Column("case_id", Text, ForeignKey("cases.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("due", DateTime(timezone=True), nullable=False),
    Column("met_at", DateTime(timezone=True)),
    Column("extra_days", Integer, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("case_id", "kind"),
)
Index(
    "case_deadlines_open_due",
    case_deadlines.c.due,
    postgresql_where=case_deadlines.c.met_at.is_(None),
)

# Append-only: a trigger refuses UPDATE and DELETE (see the initial migration).
case_events = Table(
    "case_events",
    metadata,
    Column("case_id", Text, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    PrimaryKeyConstraint("case_id", "seq"),
)

case_counters = Table(
    "case_counters",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
)

# -- messages between nodes (DESIGN.md "Nodes and ownership") ---------------------------------

outbox = Table(
    "outbox",
    metadata,
    Column("id", Text, primary_key=True),
    Column("recipient", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("trace_context", JSONB, nullable=False, server_default=text("'{}'")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", Text),
)

inbox = Table(
    "inbox",
    metadata,
    Column("message_id", Text, primary_key=True),
    Column("sender", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),
    Column("detail", Text),
)

case_links = Table(
    "case_links",
    metadata,
    Column("case_id", Text, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("remote_node", Text, nullable=False),
    Column("remote_id", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("message_id", Text, nullable=False),
    PrimaryKeyConstraint("case_id", "seq"),
)

# -- reviews held by the reviewing node ------------------------------------------------------

reviews = Table(
    "reviews",
    metadata,
    Column("id", Text, primary_key=True),
    Column("level", Text, nullable=False),
    Column("case_id", Text, nullable=False),
    Column("case_node", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True)),
    Column("due", DateTime(timezone=True)),
    Column("hearing_days", Integer, nullable=False, server_default=text("0")),
    Column("decided_at", DateTime(timezone=True)),
    Column("outcome", Text),
    Column("decision_text", Text),
    Column("refusal", Text),
    Column("case_snapshot", JSONB),
    Column("request_message_id", Text, nullable=False, unique=True),
    Column("version", Integer, nullable=False, server_default=text("1")),
)

review_counters = Table(
    "review_counters",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
)

# -- supervision orders ------------------------------------------------------------------------


def _order_columns() -> list[Column[object]]:
    return [
        Column("id", Text, primary_key=True),
        Column("case_id", Text, nullable=False),
        Column("severity", Text, nullable=False),
        Column("flagged", Boolean, nullable=False, server_default=text("false")),
        Column("text", Text, nullable=False),
        Column("issued_at", DateTime(timezone=True), nullable=False),
        Column("due", DateTime(timezone=True), nullable=False),
        Column("status", Text, nullable=False),
        Column("reply_text", Text),
        Column("replied_at", DateTime(timezone=True)),
        Column("version", Integer, nullable=False, server_default=text("1")),
    ]


supervision_orders = Table(  # issued by this node
    "supervision_orders",
    metadata,
    *_order_columns(),
    Column("case_node", Text, nullable=False),
    Column("issued_by", Text, nullable=False),
    Column("leader", Text),  # 挂牌督办: the leader named (migration 0006)
)

supervision_received = Table(  # received by this node about its own cases
    "supervision_received",
    metadata,
    *_order_columns(),
    Column("issuer", Text, nullable=False),
    Column("leader", Text),
)

supervision_counters = Table(
    "supervision_counters",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
)

# -- the province's matter index and skip-level visits (docs/adr/0009) ------------------------

matter_index = Table(  # filled at the province node only, from every node's notices
    "matter_index",
    metadata,
    Column("case_id", Text, primary_key=True),
    Column("matter_key", Text, nullable=False),
    Column("node", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("final", Boolean, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("final_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("matter_index_matter_key", matter_index.c.matter_key)

# -- the province's trail index (docs/adr/0014) -------------------------------------------------

trail_steps = Table(  # filled at the province node only, from every node's TRAIL_NOTICEs
    "trail_steps",
    metadata,
    Column("seq", BigInteger, Identity(), nullable=False),  # arrival order: ties of ``at``
    Column("step_key", Text, primary_key=True),
    Column("case_id", Text, nullable=False),
    Column("root", Text),
    Column("node", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("review_id", Text),
    Column("order_id", Text),
    Column("deadline_kind", Text),
    Column("deadline_due", DateTime(timezone=True)),
    Column("deadline_met_at", DateTime(timezone=True)),
    Column("note", Text),
    Column("message_id", Text),  # NULL: the province's own step, written by its act
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
Index("trail_steps_case", trail_steps.c.case_id)

trail_chains = Table(  # which chain each case belongs to, as its steps said
    "trail_chains",
    metadata,
    Column("case_id", Text, primary_key=True),
    Column("root", Text, nullable=False),
)
Index("trail_chains_root", trail_chains.c.root)

skip_level_visits = Table(  # at the competent node: visits about its territory made elsewhere
    "skip_level_visits",
    metadata,
    Column("visit_case_id", Text, primary_key=True),
    Column("visited_node", Text, nullable=False),
    Column("issue_locality_code", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("case_id", Text),  # the case it was sent down as, when it was
    Column("message_id", Text, nullable=False),
)
Index("skip_level_visits_at", skip_level_visits.c.at)
# -- each tier's own records (migration 0006) ---------------------------------------------------

intake_records = Table(  # which desk received a petition
    "intake_records",
    metadata,
    Column("case_id", Text, ForeignKey("cases.id"), primary_key=True),
    Column("receiver", Text, nullable=False),
    Column("receiving_window", Text),
    Column("received_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

mediations = Table(  # 调解 outcome records
    "mediations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("case_id", Text, ForeignKey("cases.id"), nullable=False),
    Column("mediator", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("parties_consent", Boolean, nullable=False),
    Column("text", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", Text, nullable=False),
)
Index("mediations_case", mediations.c.case_id)

grid_reports = Table(  # 网格员 reports of disputes
    "grid_reports",
    metadata,
    Column("id", Text, primary_key=True),
    Column("grid_worker", Text, nullable=False),
    Column("grid", Text, nullable=False),
    Column("locality_code", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("person_count", Integer, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("case_id", Text, ForeignKey("cases.id"), unique=True),
    Column("registered_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False, server_default=text("1")),
)

leader_ownerships = Table(  # 领导包案, one row per leader; the current one has no ``until``
    "leader_ownerships",
    metadata,
    Column("case_id", Text, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("leader", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("assigned_by", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("until", DateTime(timezone=True)),
    PrimaryKeyConstraint("case_id", "seq"),
)
Index(
    "leader_ownerships_current",
    leader_ownerships.c.case_id,
    unique=True,
    postgresql_where=leader_ownerships.c.until.is_(None),
)

competence_disputes = Table(  # Art. 24: decided by the joint meeting
    "competence_disputes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("case_id", Text, ForeignKey("cases.id"), nullable=False),
    Column("bodies", JSONB, nullable=False),
    Column("text", Text, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("raised_by", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("competent_body", Text),
    Column("decision_text", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", Text),
    Column("version", Integer, nullable=False, server_default=text("1")),
)
Index("competence_disputes_case", competence_disputes.c.case_id)

statistics_reports = Table(  # Art. 41: figures reported here by nodes below
    "statistics_reports",
    metadata,
    Column("reporter", Text, nullable=False),
    Column("period_from", Date, nullable=False),
    Column("period_to", Date, nullable=False),
    Column("counts", JSONB, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("message_id", Text, nullable=False),
    PrimaryKeyConstraint("reporter", "period_from", "period_to"),
)

role_counters = Table(
    "role_counters",
    metadata,
    Column("mark", Text, nullable=False),
    Column("year", Integer, nullable=False, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("mark", "year"),
)

# -- daily figures and the subtree figures reported up (migration 0009, docs/adr/0013) -------


def _count_columns() -> list[Column[object]]:
    """One day's additive counts (shared.figures.FIGURE_COUNTS), in that order (the counts
    added by a later migration have a server default of zero)."""
    return [
        Column(
            name,
            Float if name == REPLY_DAYS_SUM else BigInteger,
            nullable=False,
            server_default=text("0") if name in HOTLINE_COUNTS else None,
        )
        for name in FIGURE_COUNTS
    ]


figures_subtree = Table(  # this node's subtree figures per day, as last computed and reported
    "figures_subtree",
    metadata,
    Column("day", Date, primary_key=True),
    *_count_columns(),
)

figures_subtree_categories = Table(  # new petitions by category per registration day
    "figures_subtree_categories",
    metadata,
    Column("day", Date, nullable=False),
    Column("category", Text, nullable=False),
    Column("cases", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "category"),
)

figures_subtree_flows = Table(  # escalation flows per day of the act
    "figures_subtree_flows",
    metadata,
    Column("day", Date, nullable=False),
    Column("kind", Text, nullable=False),
    Column("from_tier", Text, nullable=False),
    Column("to_tier", Text, nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "kind", "from_tier", "to_tier"),
)

figures_reports = Table(  # one row: the last report this node computed (and sent, if any)
    "figures_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("version", BigInteger, nullable=False),  # of the last report sent up
    Column("as_of", DateTime(timezone=True), nullable=False),  # oldest contribution
    Column("computed_at", DateTime(timezone=True), nullable=False),
)

figures_children = Table(  # each child's subtree figures per day, as last reported here
    "figures_children",
    metadata,
    Column("child", Text, nullable=False),
    Column("day", Date, nullable=False),
    *_count_columns(),
    Column("version", BigInteger, nullable=False),
    PrimaryKeyConstraint("child", "day"),
)

figures_children_categories = Table(
    "figures_children_categories",
    metadata,
    Column("child", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("category", Text, nullable=False),
    Column("cases", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
    PrimaryKeyConstraint("child", "day", "category"),
)

figures_children_flows = Table(
    "figures_children_flows",
    metadata,
    Column("child", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("kind", Text, nullable=False),
    Column("from_tier", Text, nullable=False),
    Column("to_tier", Text, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
    PrimaryKeyConstraint("child", "day", "kind", "from_tier", "to_tier"),
)

figures_senders = Table(  # each child's newest report applied here
    "figures_senders",
    metadata,
    Column("child", Text, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
    Column("message_id", Text, nullable=False),
)

# -- alerts (migration 0010, docs/adr/0016) ---------------------------------------------------

alerts = Table(  # raised here (origin = this node) and reported up from the subtree
    "alerts",
    metadata,
    Column("id", Text, primary_key=True),  # {origin}-A-{digest of the key}: routed to its owner
    Column("origin", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("severity_rank", SmallInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("case_id", Text),
    Column("category", Text),
    Column("locality", Text),
    Column("detail", Text, nullable=False),
    Column("due", DateTime(timezone=True)),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_by", Text),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("resolved_by", Text),
    Column("resolved_at", DateTime(timezone=True)),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("origin", "key", name="alerts_origin_key"),
)
Index("alerts_raised", alerts.c.raised_at.desc(), alerts.c.id.desc())
Index("alerts_state_rank", alerts.c.state, alerts.c.severity_rank)
# -- 12345 hotline tickets, their own source type (migration 0011, docs/hotline.md) -----------

hotline_tickets = Table(  # tickets of the 12345 platform naming this node's division
    "hotline_tickets",
    metadata,
    Column("ticket_number", Text, primary_key=True),  # unique on the platform: idempotent import
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("division_code", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("is_petition", Boolean, nullable=False),  # in substance a petition (信访事项)
    Column("state", Text, nullable=False),  # the 12345 handling state (shared.hotline)
    Column("content_hash", Text, nullable=False),  # of every field but the state
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("imported_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("case_id", Text, ForeignKey("cases.id"), unique=True),  # the petition it became
    Column("converted_at", DateTime(timezone=True)),
    Column("converted_by", Text),
)
Index("hotline_tickets_received", hotline_tickets.c.received_at, hotline_tickets.c.ticket_number)

# The caller's personal data lives apart from the ticket, as a petitioner's does (ADR 3).
hotline_callers = Table(
    "hotline_callers",
    metadata,
    Column(
        "ticket_number",
        Text,
        ForeignKey("hotline_tickets.ticket_number"),
        primary_key=True,
    ),
    Column("name", Text, nullable=False),
    Column("phone", Text),
)

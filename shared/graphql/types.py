"""The public GraphQL types every tier shares (names from the domain glossary)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import strawberry
from strawberry import Info
from strawberry.types.nodes import SelectedField

from shared import figures
from shared.alerts import AlertKind, AlertState, Severity
from shared.deadlines import LIMITS, Bound, DeadlineKind
from shared.divisions import Division, Tier, division_tree
from shared.errors import DomainError, ErrorCode, bad_input
from shared.figures import FlowKind
from shared.graphql.alerts import AlertConnection, AlertCounts, alert_counts_of, alerts_of
from shared.graphql.audit import AuditLogPage, audit_log_page, disclosed_view
from shared.graphql.context import NodeContext
from shared.graphql.node_owned import NodeOwned
from shared.lifecycle import (
    CaseStatus,
    Channel,
    Event,
    LegalChannel,
    ReplyOutcome,
    ReviewOutcome,
    Satisfaction,
)
from shared.lifecycle import Deadline as EngineDeadline
from shared.matters import MatterCheck, Refusal
from shared.metrics import Stats as EngineStats
from shared.metrics import stats_from_counts
from shared.persistence import daily_figures, figures_records, repository
from shared.persistence.links import CaseLink, LinkKind
from shared.persistence.repository import CaseFilter as EngineCaseFilter
from shared.persistence.repository import CaseRecord
from shared.privacy import (
    View,
    accusation_withheld,
    content_refusal,
    mask_address,
    withheld_error,
)
from shared.trail import Step as EngineStep
from shared.trail import TrailRole
from shared.validation import mask_id_number, mask_name, mask_phone

if TYPE_CHECKING:
    from shared.graphql.hotline import (
        HotlineTicket,
        HotlineTicketConnection,
        HotlineTicketFilter,
    )
    from shared.graphql.reviews import Review
    from shared.graphql.supervision import SupervisionOrder

TierEnum = strawberry.enum(Tier, name="Tier")
CaseStatusEnum = strawberry.enum(CaseStatus, name="CaseStatus")
ChannelEnum = strawberry.enum(Channel, name="Channel")
DeadlineKindEnum = strawberry.enum(DeadlineKind, name="DeadlineKind")
LegalChannelEnum = strawberry.enum(LegalChannel, name="LegalChannel")
ReplyOutcomeEnum = strawberry.enum(ReplyOutcome, name="ReplyOutcome")
ReviewOutcomeEnum = strawberry.enum(ReviewOutcome, name="ReviewOutcome")
SatisfactionEnum = strawberry.enum(Satisfaction, name="Satisfaction")
RefusalEnum = strawberry.enum(Refusal, name="RefusalCode")
MatterCheckEnum = strawberry.enum(MatterCheck, name="MatterCheck")
FlowKindEnum = strawberry.enum(FlowKind, name="EscalationFlowKind")

MAX_PAGE = 500
EARLIEST_DAY = date(1949, 10, 1)
LATEST_DAY = date(2199, 12, 31)
MAX_CATEGORIES = 100

NodeInfo = Info[NodeContext, None]


@strawberry.input(description="A span of days in China time, both ends included.")
class Period:
    from_: date = strawberry.field(name="from")
    to: date

    def checked(self) -> Period:
        # Days this system can hold: petition work began in 1951; day arithmetic around the
        # ends of the calendar (0001-01-01 minus a day) must not overflow inside a query.
        for day in (self.from_, self.to):
            if not EARLIEST_DAY <= day <= LATEST_DAY:
                raise bad_input(f"a period lies between {EARLIEST_DAY} and {LATEST_DAY}", "period")
        if self.to < self.from_:
            raise bad_input("a period ends on or after the day it starts", "period")
        if (self.to - self.from_).days > 3660:
            raise bad_input("a period is at most ten years", "period")
        return self


@strawberry.input
class CaseFilter:
    status: list[CaseStatus] | None = None
    category: str | None = None
    overdue: bool | None = None
    channel: Channel | None = None
    period: Period | None = strawberry.field(
        default=None, description="Registration date between these days."
    )

    def to_engine(self) -> EngineCaseFilter:
        period = self.period.checked() if self.period else None
        return EngineCaseFilter(
            statuses=tuple(self.status or ()),
            category=self.category.strip() if self.category else None,
            channel=self.channel.value if self.channel else None,
            overdue=self.overdue,
            registered_from=period.from_ if period else None,
            registered_to=period.to if period else None,
        )


@strawberry.type(
    description="A petitioner's personal data: clear only for handlers of the owning node "
    "(with a purpose, audited), masked for everyone else (docs/adr/0018)."
)
class Petitioner:
    name: str
    id_number: str | None
    phone: str | None
    address: str | None
    masked: bool

    @classmethod
    def shown(
        cls,
        view: View,
        name: str,
        id_number: str | None,
        phone: str | None,
        address: str | None,
    ) -> Petitioner:
        if view is View.CLEAR:
            return cls(name=name, id_number=id_number, phone=phone, address=address, masked=False)
        return cls(
            name=mask_name(name),
            id_number=mask_id_number(id_number) if id_number else None,
            phone=mask_phone(phone) if phone else None,
            address=mask_address(address) if address else None,
            masked=True,
        )


@strawberry.type
class Deadline:
    kind: DeadlineKind
    started_at: datetime
    due: datetime
    met_at: datetime | None
    extra_days: int
    binds: str = strawberry.field(
        description="BODY: an obligation; PETITIONER or OPTION: a window that lapses."
    )
    overdue: bool
    met_on_time: bool | None

    @classmethod
    def of(cls, deadline: EngineDeadline, now: datetime) -> Deadline:
        bound = LIMITS[deadline.kind].bound if deadline.kind in LIMITS else Bound.BODY
        return cls(
            kind=deadline.kind,
            started_at=deadline.started_at,
            due=deadline.due,
            met_at=deadline.met_at,
            extra_days=deadline.extra_days,
            binds=bound.value,
            overdue=deadline.is_overdue(now),
            met_on_time=deadline.was_met_on_time() if deadline.met_at else None,
        )


@strawberry.type(description="One line of a case's append-only log.")
class CaseEvent:
    seq: int
    at: datetime
    action: str
    from_status: CaseStatus | None
    to_status: CaseStatus
    actor: str
    reason: str | None
    text: str | None

    @classmethod
    def of(cls, event: Event) -> CaseEvent:
        command = event.command
        return cls(
            seq=event.seq,
            at=command.at,
            action=command.action.value,
            from_status=event.from_status,
            to_status=event.to_status,
            actor=command.actor,
            reason=command.reason,
            text=command.text,
        )


@strawberry.type
class Stats:
    event_count: int = strawberry.field(
        description="件次: new petitions registered (not matters received from another node)"
    )
    person_count: int = strawberry.field(description="人次: persons involved in those")
    received_count: int = strawberry.field(
        description="Matters transferred or assigned here by another node (the same matter as "
        "the sender's case: not counted in eventCount, so a subtree's volume adds up)"
    )
    timely_acceptance_rate: float | None = strawberry.field(description="及时受理率")
    on_time_reply_rate: float | None = strawberry.field(description="按期答复率")
    satisfaction_rate: float | None = strawberry.field(description="群众满意率")
    backlog: int = strawberry.field(description="积案: open cases past their handling deadline")
    backlog_resolution_rate: float | None
    overdue: int
    skip_level_visits: int = strawberry.field(
        description="越级走访 about this node's territory, made at higher nodes (by issue locality)"
    )
    skip_level_visits_received: int = strawberry.field(
        description="Visits made here that skipped the competent level and the level above it"
    )
    repeat_petitions: int
    repeat_petition_rate: float | None
    first_petition_reply_days: float | None = strawberry.field(
        description="初信初访: average days from registration to reply"
    )
    supervision_orders_open: int = strawberry.field(
        description="督办: orders received about cases here, issued in the period, not replied"
    )
    supervision_orders_overdue: int = strawberry.field(
        description="Of those, past the date the reply was due"
    )
    hotline_tickets: int = strawberry.field(
        description="12345 hotline tickets received in the period and not converted to a "
        "petition: their own figure, never in eventCount (docs/hotline.md)"
    )
    hotline_converted: int = strawberry.field(
        description="Petitions registered in the period by converting a 12345 ticket: a part "
        "of eventCount (the ticket is then no longer counted in hotlineTickets)"
    )
    as_of: datetime = strawberry.field(
        description="When the figures were counted (subtree figures: the oldest contribution)"
    )

    @classmethod
    def of(cls, stats: EngineStats) -> Stats:
        return cls(**stats.__dict__)


@strawberry.federation.type(keys=["code"], shareable=True)
class Jurisdiction:
    """A node's figures and cases are nullable: a gateway asks the owner node for them, and a
    node that is down then nulls its own figures, not a whole province's dashboard."""

    code: strawberry.ID
    name: str
    tier: Tier

    @classmethod
    def of(cls, division: Division) -> Jurisdiction:
        return cls(code=strawberry.ID(division.code), name=division.name, tier=division.tier)

    @classmethod
    def find(cls, code: str) -> Jurisdiction | None:
        division = division_tree().get(code.strip())
        return cls.of(division) if division else None

    @classmethod
    def resolve_reference(cls, code: strawberry.ID) -> Jurisdiction | None:
        if not isinstance(code, str):
            raise bad_input("a Jurisdiction representation's code is a string", "representations")
        return cls.find(code)

    @strawberry.field
    def parent(self) -> Jurisdiction | None:
        division = division_tree().get(self.code)
        if division is None or division.parent_code is None:
            return None
        return Jurisdiction.find(division.parent_code)

    @strawberry.field
    def children(self) -> list[Jurisdiction]:
        return [Jurisdiction.of(d) for d in division_tree().children(self.code)]

    @strawberry.field(
        description="This node's own figures, for cases registered in the period.",
        directives=[NodeOwned()],
    )
    async def stats(self, info: NodeInfo, period: Period | None = None) -> Stats | None:
        ctx = _own_node(info, self.code)
        checked = period.checked() if period else None
        async with ctx.db.connect() as conn:
            counts = await daily_figures.node_stats(
                conn,
                registered_from=checked.from_ if checked else None,
                registered_to=checked.to if checked else None,
                now=ctx.work.clock.now(),
            )
        return Stats.of(stats_from_counts(counts, ctx.work.clock.now()))

    @strawberry.field(
        description="The figures of this node's whole subtree (itself and every node below), "
        "for the period: its own daily figures plus each child's latest report, reported up "
        "hop by hop (docs/adr/0013). asOf is the oldest contribution's time.",
        directives=[NodeOwned()],
    )
    async def subtree_stats(self, info: NodeInfo, period: Period | None = None) -> Stats | None:
        ctx = _own_node(info, self.code)
        day_from, day_to = _days(period)
        async with ctx.db.connect() as conn:
            counts = await figures_records.subtree_counts(conn, day_from, day_to)
            state = await figures_records.report_state(conn)
        as_of = state.as_of if state is not None else ctx.work.clock.now()
        return Stats.of(stats_from_counts(figures.stats_counts(counts), as_of))

    @strawberry.field(
        description="Each direct child's subtree figures for the period, as last reported to "
        "this node (the drill-down table, from this one node).",
        directives=[NodeOwned()],
    )
    async def child_stats(
        self, info: NodeInfo, period: Period | None = None
    ) -> list[ChildStats] | None:
        ctx = _own_node(info, self.code)
        day_from, day_to = _days(period)
        async with ctx.db.connect() as conn:
            by_child = await figures_records.child_counts(conn, day_from, day_to)
            senders = await figures_records.senders(conn)
        found: list[ChildStats] = []
        for division in division_tree().children(self.code):
            sender = senders.get(division.code)
            if sender is None:
                found.append(
                    ChildStats(
                        jurisdiction=Jurisdiction.of(division),
                        stats=None,
                        reported_at=None,
                        missing=True,
                    )
                )
                continue
            counts = figures.stats_counts(by_child.get(division.code, figures.zero_counts()))
            stats = Stats.of(stats_from_counts(counts, sender.as_of))
            found.append(
                ChildStats(
                    jurisdiction=Jurisdiction.of(division),
                    stats=stats,
                    reported_at=sender.reported_at,
                    missing=False,
                )
            )
        return found

    @strawberry.field(
        description="Matters moved between tiers in this subtree in the period, by kind and "
        "direction (each act counted once, at the node that acted), most first.",
        directives=[NodeOwned()],
    )
    async def escalation_flows(
        self, info: NodeInfo, period: Period | None = None
    ) -> list[EscalationFlow] | None:
        ctx = _own_node(info, self.code)
        day_from, day_to = _days(period)
        async with ctx.db.connect() as conn:
            rows = await figures_records.subtree_flows(conn, day_from, day_to)
        return [
            EscalationFlow(kind=FlowKind(k), from_tier=Tier(f), to_tier=Tier(t), count=n)
            for k, f, t, n in rows
        ]

    @strawberry.field(
        description="The categories with the most new petitions registered in this subtree in "
        "the period, most first (ties by name).",
        directives=[NodeOwned()],
    )
    async def top_categories(
        self, info: NodeInfo, period: Period | None = None, first: int = 10
    ) -> list[CategoryCount] | None:
        ctx = _own_node(info, self.code)
        if not 1 <= first <= MAX_CATEGORIES:
            raise bad_input(f"first is 1 to {MAX_CATEGORIES}", "first")
        day_from, day_to = _days(period)
        async with ctx.db.connect() as conn:
            rows = await figures_records.top_categories(conn, day_from, day_to, first)
        return [CategoryCount(category=c, count=n) for c, n in rows]

    @strawberry.field(
        description="The alerts of this node's whole subtree (its own and those reported up to "
        "it by every node below: docs/adr/0016), newest first; open and acknowledged ones "
        "unless states says otherwise.",
        directives=[NodeOwned()],
    )
    async def alerts(
        self,
        info: NodeInfo,
        kinds: list[AlertKind] | None = None,
        min_severity: Severity | None = None,
        states: list[AlertState] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AlertConnection | None:
        ctx = _own_node(info, self.code)
        return await alerts_of(ctx, kinds, min_severity, states, first, after)

    @strawberry.field(
        description="The subtree's alerts counted by severity and kind, and rolled up by "
        "child jurisdiction (open and acknowledged ones unless states says otherwise).",
        directives=[NodeOwned()],
    )
    async def alert_counts(
        self,
        info: NodeInfo,
        kinds: list[AlertKind] | None = None,
        min_severity: Severity | None = None,
        states: list[AlertState] | None = None,
    ) -> AlertCounts | None:
        ctx = _own_node(info, self.code)
        return await alert_counts_of(ctx, kinds, min_severity, states)

    @strawberry.field(
        description="Every clear read of personal data at this node, oldest first: who, what, "
        "when, why (auditors only: AUDITORS_ONLY otherwise).",
        directives=[NodeOwned()],
    )
    async def audit_log(
        self,
        info: NodeInfo,
        first: int = 50,
        after: str | None = None,
        case_id: strawberry.ID | None = None,
        subject: str | None = None,
    ) -> AuditLogPage | None:
        ctx = _own_node(info, self.code)
        return await audit_log_page(
            ctx,
            first=first,
            after=after,
            case_id=str(case_id) if case_id is not None else None,
            subject=subject,
        )

    @strawberry.field(description="This node's cases, newest first.", directives=[NodeOwned()])
    async def cases(
        self,
        info: NodeInfo,
        filter: CaseFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> CaseConnection | None:
        ctx = _own_node(info, self.code)
        if not 1 <= first <= MAX_PAGE:
            raise bad_input(f"first is 1 to {MAX_PAGE}", "first")
        engine_filter = filter.to_engine() if filter else EngineCaseFilter()
        async with ctx.db.connect() as conn:
            page = await repository.list_cases(
                conn, engine_filter, first=first, after=after, now=ctx.work.clock.now()
            )
        edges = [
            CaseEdge(cursor=repository.encode_cursor(r), node=Case.of(r)) for r in page.records
        ]
        return CaseConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=page.total_count,
        )

    @strawberry.field(
        description="The 12345 hotline tickets kept at this node (its division's), newest "
        "received first (docs/hotline.md).",
        directives=[NodeOwned()],
    )
    async def hotline_tickets(
        self,
        info: NodeInfo,
        filter: Annotated[HotlineTicketFilter, strawberry.lazy("shared.graphql.hotline")]
        | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Annotated[HotlineTicketConnection, strawberry.lazy("shared.graphql.hotline")] | None:
        from shared.graphql import hotline

        _own_node(info, self.code)
        return await hotline.ticket_page(info, filter, first, after)


def _days(period: Period | None) -> tuple[date | None, date | None]:
    checked = period.checked() if period else None
    return (checked.from_, checked.to) if checked else (None, None)


@strawberry.type(description="A direct child's subtree figures, as last reported to its parent.")
class ChildStats:
    jurisdiction: Jurisdiction
    stats: Stats | None = strawberry.field(description="null when the child never reported")
    reported_at: datetime | None = strawberry.field(
        description="When the child's latest report was applied here"
    )
    missing: bool = strawberry.field(description="The child has never reported")


@strawberry.type(description="Matters moved between tiers: a flow diagram's edge.")
class EscalationFlow:
    kind: FlowKind
    from_tier: Tier
    to_tier: Tier
    count: int


@strawberry.type(description="New petitions of one category.")
class CategoryCount:
    category: str
    count: int


def _own_node(info: NodeInfo, code: str) -> NodeContext:
    ctx = info.context
    if code != ctx.node.code:
        raise DomainError(
            ErrorCode.NOT_FOUND,
            f"node {ctx.node.code} holds only its own cases and figures; ask node {code}",
            field="code",
        )
    return ctx


@strawberry.federation.type(keys=["id"], directives=[NodeOwned()])
class Case:
    id: strawberry.ID
    channel: Channel
    category: str
    status: CaseStatus
    person_count: int
    registered_at: datetime
    last_event_at: datetime
    version: int = strawberry.field(description="Number of events in the log.")
    outcome: ReplyOutcome | None
    rating: Satisfaction | None
    review_outcome: ReviewOutcome | None
    final: bool = strawberry.field(description="三级终结: no re-acceptance of this matter")
    skip_level: bool = strawberry.field(
        description="越级走访: a visit made here, more than one tier above the competent node"
    )
    refusal_code: Refusal | None = strawberry.field(
        description="Why a cross-node rule did not accept it: NO_REACCEPTANCE (Art. 36), "
        "PENDING_BELOW (Art. 19), SKIP_LEVEL (Art. 20); the written reason is the "
        "NOT_ACCEPT event's."
    )
    repeat: bool = strawberry.field(description="重复访: same person, same matter as before")
    repeat_of_id: strawberry.ID | None = strawberry.field(
        description="The earliest earlier case of the matter, at whichever node holds it."
    )
    matter_check: MatterCheck | None = strawberry.field(
        description="The province matter index's check: CHECKED, PENDING (it could not be "
        "reached; it answers later) or CONFLICT (it answered after the case was accepted)."
    )
    _record: strawberry.Private[CaseRecord]

    @classmethod
    def of(cls, record: CaseRecord) -> Case:
        return cls(
            id=strawberry.ID(record.id),
            channel=Channel(record.channel),
            category=record.category,
            status=CaseStatus(record.status),
            person_count=record.person_count,
            registered_at=record.registered_at,
            last_event_at=record.last_at,
            version=record.version,
            outcome=ReplyOutcome(record.outcome) if record.outcome else None,
            rating=Satisfaction(record.rating) if record.rating else None,
            review_outcome=ReviewOutcome(record.review_outcome) if record.review_outcome else None,
            final=record.final,
            skip_level=record.skip_level,
            refusal_code=Refusal(record.refusal_code) if record.refusal_code else None,
            repeat=record.repeat_of is not None,
            repeat_of_id=strawberry.ID(record.repeat_of) if record.repeat_of else None,
            matter_check=MatterCheck(record.matter_check) if record.matter_check else None,
            _record=record,
        )

    @classmethod
    async def resolve_reference(cls, info: NodeInfo, id: strawberry.ID) -> Case | None:
        if not isinstance(id, str):  # a representation's key arrives as untyped JSON
            raise bad_input("a Case representation's id is a string", "representations")
        return await load_case(info, id)

    @strawberry.field
    def owner(self) -> Jurisdiction:
        return jurisdiction_of(self._record.owner_code)

    @strawberry.field(
        description="The 12345 ticket this petition was converted from (channel HOTLINE_12345)."
    )
    async def hotline_ticket(
        self, info: NodeInfo
    ) -> Annotated[HotlineTicket, strawberry.lazy("shared.graphql.hotline")] | None:
        from shared.graphql.hotline import HotlineTicket
        from shared.persistence import hotline_records

        if self._record.channel != Channel.HOTLINE_12345.value:
            return None
        async with info.context.db.connect() as conn:
            numbers = await hotline_records.ticket_numbers_of_cases(conn, [self._record.id])
            number = numbers.get(self._record.id)
            record = await hotline_records.ticket(conn, number) if number else None
        return HotlineTicket.of(record) if record else None

    @strawberry.field(description="属地: where the matter arose")
    def issue_locality(self) -> Jurisdiction:
        return jurisdiction_of(self._record.issue_locality_code)

    @strawberry.field(description="The node a transferred or assigned matter came from.")
    def received_from(self) -> Jurisdiction | None:
        code = self._record.received_from
        return jurisdiction_of(code) if code else None

    @strawberry.field(description="The node this case was transferred or assigned to.")
    def routed_to(self) -> Jurisdiction | None:
        code = self._record.routed_to
        return jurisdiction_of(code) if code else None

    @strawberry.field(
        description="An earlier case of the same person on the same matter, when this node "
        "holds it (else see repeatOfId and the trail)."
    )
    async def repeat_of(self, info: NodeInfo) -> Case | None:
        return await load_case(info, self._record.repeat_of) if self._record.repeat_of else None

    @strawberry.field(description="The higher node where this matter was a skip-level visit.")
    def skip_level_from(self) -> Jurisdiction | None:
        code = self._record.skip_level_from
        return jurisdiction_of(code) if code else None

    def _check_content(self, info: NodeInfo) -> None:
        """Analysts get no case content; an accusation's never reaches the unit it accuses."""
        principal = info.context.principal
        refused = content_refusal(principal)
        if refused is not None:
            raise refused
        accused = self._record.accused_unit
        if accused is not None and accusation_withheld(principal, accused):
            raise withheld_error(accused)

    @strawberry.field(
        description="The petition's content. Withheld (ACCUSATION_WITHHELD) from the unit an "
        "accusation accuses; refused to analysts (AGGREGATES_ONLY)."
    )
    def summary(self, info: NodeInfo) -> str | None:
        self._check_content(info)
        return self._record.summary

    @strawberry.field(
        description="检举控告: the unit this accusation accuses (null: not an accusation). Its "
        "content and petitioner are never shown to that unit or anyone inside it."
    )
    def accused_unit(self) -> Jurisdiction | None:
        code = self._record.accused_unit
        return jurisdiction_of(code) if code else None

    @strawberry.field(
        description="A collective visit's representatives: as petitioner (clear for the owning "
        "node's handlers with a purpose, audited; masked otherwise)."
    )
    async def representatives(
        self, info: NodeInfo, purpose: str | None = None
    ) -> list[Petitioner] | None:
        self._check_content(info)
        found: list[dict[str, str | None]] = await info.context.loaders.representatives.load(
            self._record.id
        )
        if not found:
            return []
        view = await disclosed_view(info, self._record.id, "representatives", purpose)
        cipher = info.context.work.cipher
        return [
            Petitioner.shown(view, str(r["name"]), cipher.open(r["id_number"]), r["phone"], None)
            for r in found
        ]

    @strawberry.field(
        description="The petitioner: clear only for handlers of the owning node, who must state "
        "a purpose (PURPOSE_REQUIRED otherwise) and whose read is written to the node's audit "
        "log; masked for everyone else (name 张**, ID 5301**********1234, phone "
        "+86138****5678, address 云南省昆明市****); refused to analysts (AGGREGATES_ONLY) and "
        "to the unit an accusation accuses (ACCUSATION_WITHHELD)."
    )
    async def petitioner(self, info: NodeInfo, purpose: str | None = None) -> Petitioner | None:
        self._check_content(info)
        record = self._record
        view = await disclosed_view(info, record.id, "petitioner", purpose)
        return Petitioner.shown(
            view,
            record.petitioner_name,
            info.context.work.cipher.open(record.petitioner_id_number),
            record.petitioner_phone,
            record.petitioner_address,
        )

    @strawberry.field
    async def deadlines(self, info: NodeInfo) -> list[Deadline]:
        found: list[EngineDeadline] = await info.context.loaders.deadlines.load(self._record.id)
        now = info.context.work.clock.now()
        return [Deadline.of(d, now) for d in found]

    @strawberry.field(description="Whether any obligation of the handling body is past due.")
    async def overdue(self, info: NodeInfo) -> bool:
        if self.status in (
            CaseStatus.TRANSFERRED,
            CaseStatus.NOT_ACCEPTED,
            CaseStatus.REDIRECTED,
            CaseStatus.CLOSED,
        ):
            return False
        found: list[EngineDeadline] = await info.context.loaders.deadlines.load(self._record.id)
        now = info.context.work.clock.now()
        return any(d.is_open() and d.is_overdue(now) for d in found)

    @strawberry.field(
        description="Links to the records this case has at other nodes: where it "
        "was transferred or assigned, reviewed, reported; oldest first."
    )
    async def trail(self, info: NodeInfo) -> list[TrailStep]:
        found: list[CaseLink] = await info.context.loaders.links.load(self._record.id)
        return [TrailStep.of_link(link) for link in found]

    @strawberry.field(
        description="The append-only log, oldest first (content: withheld like summary)."
    )
    async def events(self, info: NodeInfo) -> list[CaseEvent] | None:
        self._check_content(info)
        found: list[Event] = await info.context.loaders.events.load(self._record.id)
        return [CaseEvent.of(e) for e in found]


def jurisdiction_of(code: str) -> Jurisdiction:
    found = Jurisdiction.find(code)
    if found is None:  # codes are validated on the way in; a retired code still shows
        return Jurisdiction(
            code=strawberry.ID(code), name=code, tier=Tier.from_code_length(len(code))
        )
    return found


async def load_case(info: NodeInfo, case_id: str) -> Case | None:
    record: CaseRecord | None = await info.context.loaders.case.load(case_id)
    return Case.of(record) if record else None


KEY_FIELDS = frozenset(("id", "__typename"))
R = TypeVar("R")


def asks_only_keys(info: NodeInfo) -> bool:
    """Whether the field being resolved selects nothing but its object's key (what a gateway
    asks of an entity reference before it reads the rest from the owner)."""
    for selected in info.selected_fields:
        for child in selected.selections:
            if not isinstance(child, SelectedField) or child.name not in KEY_FIELDS:
                return False
    return True


def reference(cls: type[R], key: str) -> R:
    """An entity reference: an object of ``cls`` holding only its key ``id``. Given out only
    when nothing else of it is asked (``asks_only_keys``): its owner resolves the rest."""
    found = object.__new__(cls)
    found.id = strawberry.ID(key)  # type: ignore[attr-defined]
    return found


async def case_or_reference(info: NodeInfo, case_id: str | None) -> Case | None:
    """The case when this node holds it; else a reference the gateway resolves at its owner
    (null when asked for more than its id directly at a node that does not hold it)."""
    if case_id is None:
        return None
    found = await load_case(info, case_id)
    if found is not None:
        return found
    return reference(Case, case_id) if asks_only_keys(info) else None


TrailRoleEnum = strawberry.enum(TrailRole, name="TrailRole")
REVIEW_LINKS = frozenset((LinkKind.REVIEWED_AT, LinkKind.FINAL_REVIEWED_AT))


@strawberry.type(description="A deadline a trail step met: held when met before it was due.")
class TrailDeadline:
    kind: str = strawberry.field(
        description="A DeadlineKind (ACCEPTANCE, HANDLING, ASSIGNMENT, REVIEW_DECISION, ...) "
        "or SUPERVISION_REPLY."
    )
    due: datetime
    met_at: datetime
    held: bool


@strawberry.type(
    description="One step of a petition's path: a link of a case to a record at another node "
    "(Case.trail), or an act at some node (escalationTrail)."
)
class TrailStep:
    at: datetime
    action: str = strawberry.field(
        description="Case.trail: the link (TRANSFERRED_TO, ASSIGNED_BY, REVIEWED_AT, ...); "
        "escalationTrail: the act (REGISTERED, TRANSFERRED, REPLIED, REVIEW_DECIDED, ...)."
    )
    node: Jurisdiction = strawberry.field(
        description="Case.trail: the node holding the linked record; escalationTrail: the node "
        "where the step happened."
    )
    role: TrailRole | None = strawberry.field(
        description="The tier role that acted (escalationTrail; null on Case.trail's links)."
    )
    deadline: TrailDeadline | None = strawberry.field(
        description="The deadline this step met, and whether it held."
    )
    note: str | None = strawberry.field(
        description="Codes and division names only (e.g. the receiving node); never "
        "personal data or petition content."
    )
    remote_id: strawberry.ID | None = strawberry.field(
        description="Case.trail: the record's id at that node (a Case, Review or "
        "SupervisionOrder); null until it answers. Kept for compatibility: see case, review, "
        "supervisionOrder."
    )
    _case_id: strawberry.Private[str | None]
    _review_id: strawberry.Private[str | None]
    _order_id: strawberry.Private[str | None]

    @classmethod
    def of_link(cls, link: CaseLink) -> TrailStep:
        remote = link.remote_id
        return cls(
            at=link.at,
            action=link.kind.value,
            node=jurisdiction_of(link.remote_node),
            role=None,
            deadline=None,
            note=None,
            remote_id=strawberry.ID(remote) if remote else None,
            _case_id=remote if link.kind not in REVIEW_LINKS | {LinkKind.SUPERVISED_BY} else None,
            _review_id=remote if link.kind in REVIEW_LINKS else None,
            _order_id=remote if link.kind is LinkKind.SUPERVISED_BY else None,
        )

    @classmethod
    def of_step(cls, step: EngineStep) -> TrailStep:
        d = step.deadline
        return cls(
            at=step.at,
            action=step.action.value,
            node=jurisdiction_of(step.node),
            role=step.role,
            deadline=None
            if d is None
            else TrailDeadline(kind=d.kind, due=d.due, met_at=d.met_at, held=d.held),
            note=step.note,
            remote_id=None,
            _case_id=step.case_id,
            _review_id=step.review_id,
            _order_id=step.order_id,
        )

    @strawberry.field(
        description="The case (Case.trail: the linked case at the other node; escalationTrail: "
        "the case the step concerns), read from its owner."
    )
    async def case(self, info: NodeInfo) -> Case | None:
        return await case_or_reference(info, self._case_id)

    @strawberry.field(description="The review or final review the step concerns.")
    async def review(
        self, info: NodeInfo
    ) -> Annotated[Review, strawberry.lazy("shared.graphql.reviews")] | None:
        from shared.graphql.reviews import Review, load_review

        if self._review_id is None:
            return None
        found = await load_review(info, self._review_id)
        if found is not None:
            return found
        return reference(Review, self._review_id) if asks_only_keys(info) else None

    @strawberry.field(description="The supervision order the step concerns.")
    async def supervision_order(
        self, info: NodeInfo
    ) -> Annotated[SupervisionOrder, strawberry.lazy("shared.graphql.supervision")] | None:
        from shared.graphql.supervision import SupervisionOrder, load_order

        order_id = self._order_id
        if order_id is None:
            return None
        issued = order_id.startswith(f"{info.context.node.code}-SO-")
        found = await load_order(info, order_id, issued=issued)
        if found is not None:
            return found
        return reference(SupervisionOrder, order_id) if asks_only_keys(info) else None


@strawberry.type
class CaseEdge:
    cursor: str
    node: Case


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class CaseConnection:
    edges: list[CaseEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class RegisterPetitionInput:
    channel: Channel
    category: str
    summary: str
    issue_locality: strawberry.ID = strawberry.field(description="Division code where it arose.")
    petitioner_name: str
    petitioner_id_number: str | None = None
    petitioner_id_is_foreign: bool = strawberry.field(
        default=False, description="The ID number is a foreign document (Art. 48)."
    )
    petitioner_phone: str | None = None
    petitioner_address: str | None = None
    person_count: int = 1
    received_from: strawberry.ID | None = strawberry.field(
        default=None, description="For a matter transferred here: the sending node."
    )
    received_at: datetime | None = strawberry.field(
        default=None, description="When the petition arrived, if registered later (letters)."
    )
    representatives: list[RepresentativeInput] | None = strawberry.field(
        default=None, description="集体访: a collective visit's representatives, at most 5."
    )
    accused_unit: strawberry.ID | None = strawberry.field(
        default=None,
        description="检举控告: for an accusation, the unit (division code of this province) it "
        "accuses; its content is then never shown to that unit or anyone inside it.",
    )


@strawberry.input(description="One representative of a collective visit.")
class RepresentativeInput:
    name: str
    id_number: str | None = None
    phone: str | None = None


CaseId = Annotated[strawberry.ID, strawberry.argument(description="The case's id.")]

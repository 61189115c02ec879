"""Alerts in GraphQL (docs/adr/0016): ``Jurisdiction.alerts`` and ``alertCounts`` answered by
the node holding the jurisdiction from its own table (its own alerts and its subtree's, copied
up by ALERT messages), ``acknowledgeAlert`` / ``resolveAlert`` at the owning node, and
``Subscription.alertRaised`` streaming a node's new and risen alerts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from graphql import GraphQLError

from shared.access import FORBIDDEN, read_refusal
from shared.alerts import AlertKind, AlertState, Severity
from shared.divisions import Tier, division_tree
from shared.errors import DomainError, ErrorCode, bad_input
from shared.graphql.context import NodeContext
from shared.messaging import alert_flows
from shared.ownership import node_of_key
from shared.persistence import alert_records
from shared.persistence.alert_records import AlertQuery, AlertRecord

if TYPE_CHECKING:
    from shared.graphql.types import Case, Jurisdiction

log = logging.getLogger("xinfang.alerts")

AlertKindEnum = strawberry.enum(AlertKind, name="AlertKind")
AlertSeverityEnum = strawberry.enum(Severity, name="AlertSeverity")
AlertStateEnum = strawberry.enum(AlertState, name="AlertState")

MAX_PAGE = 500
NodeInfo = strawberry.Info[NodeContext, None]
JurisdictionRef = Annotated["Jurisdiction", strawberry.lazy("shared.graphql.types")]
CaseRef = Annotated["Case", strawberry.lazy("shared.graphql.types")]


@strawberry.type(
    description="An early warning (预警) raised at a node over its own data; the nodes above "
    "keep a copy of each (newest version wins)."
)
class Alert:
    id: strawberry.ID = strawberry.field(description="Starts with the owning node's code.")
    key: str = strawberry.field(description="What it is about: the same key when evaluated again")
    kind: AlertKind
    severity: Severity
    state: AlertState
    case_id: str | None = strawberry.field(description="The case it concerns, if any")
    category: str | None
    locality: str | None = strawberry.field(description="The place it concerns (a surge), if any")
    detail: str
    due: datetime | None = strawberry.field(description="The deadline it warns of, if any")
    raised_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None = strawberry.field(description="'system' when the condition cleared")
    resolved_at: datetime | None
    version: int = strawberry.field(description="Each change at the owner adds one")
    origin: strawberry.Private[str]

    @strawberry.field(description="The node that raised it (its owner).")
    def jurisdiction(self) -> JurisdictionRef:
        from shared.graphql.types import jurisdiction_of

        return jurisdiction_of(self.origin)

    @classmethod
    def of(cls, record: AlertRecord) -> Alert:
        return cls(
            id=strawberry.ID(record.id),
            key=record.key,
            kind=record.kind,
            severity=record.severity,
            state=record.state,
            case_id=record.case_id,
            category=record.category,
            locality=record.locality,
            detail=record.detail,
            due=record.due,
            raised_at=record.raised_at,
            acknowledged_by=record.acknowledged_by,
            acknowledged_at=record.acknowledged_at,
            resolved_by=record.resolved_by,
            resolved_at=record.resolved_at,
            version=record.version,
            origin=record.origin,
        )


@strawberry.type
class AlertEdge:
    cursor: str
    node: Alert


@strawberry.type
class AlertPageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class AlertConnection:
    edges: list[AlertEdge]
    page_info: AlertPageInfo
    total_count: int


@strawberry.type
class SeverityCount:
    severity: Severity
    count: int


@strawberry.type
class KindCount:
    kind: AlertKind
    count: int


@strawberry.type(description="Alerts counted by severity and by kind.")
class AlertTally:
    total: int
    by_severity: list[SeverityCount] = strawberry.field(description="Every severity, zeros too")
    by_kind: list[KindCount] = strawberry.field(description="Every kind, zeros too")


@strawberry.type(description="A direct child's subtree alerts, as reported to this node.")
class ChildAlertCounts:
    jurisdiction: JurisdictionRef
    counts: AlertTally


@strawberry.type(description="A subtree's alerts counted, and rolled up by child jurisdiction.")
class AlertCounts:
    subtree: AlertTally = strawberry.field(description="This node and every node below it")
    own: AlertTally = strawberry.field(description="Raised at this node itself")
    by_child: list[ChildAlertCounts] = strawberry.field(
        description="Each direct child's subtree (every child, zeros too)"
    )


@dataclass
class _Tally:
    by_severity: dict[Severity, int]
    by_kind: dict[AlertKind, int]

    @classmethod
    def empty(cls) -> _Tally:
        return cls(dict.fromkeys(Severity, 0), dict.fromkeys(AlertKind, 0))

    def add(self, severity: Severity, kind: AlertKind, n: int) -> None:
        self.by_severity[severity] += n
        self.by_kind[kind] += n

    def out(self) -> AlertTally:
        return AlertTally(
            total=sum(self.by_severity.values()),
            by_severity=[SeverityCount(severity=s, count=n) for s, n in self.by_severity.items()],
            by_kind=[KindCount(kind=k, count=n) for k, n in self.by_kind.items()],
        )


def alert_query(
    kinds: list[AlertKind] | None, min_severity: Severity | None, states: list[AlertState] | None
) -> AlertQuery:
    if states is not None and not states:
        raise bad_input(
            "name at least one state, or leave states out (open and acknowledged)", "states"
        )
    if kinds is not None and not kinds:
        raise bad_input("name at least one kind, or leave kinds out (every kind)", "kinds")
    return AlertQuery(
        kinds=tuple(kinds or ()),
        min_severity=min_severity,
        states=tuple(states) if states is not None else alert_records.OPEN_STATES,
    )


async def alerts_of(
    ctx: NodeContext,
    kinds: list[AlertKind] | None,
    min_severity: Severity | None,
    states: list[AlertState] | None,
    first: int,
    after: str | None,
) -> AlertConnection:
    if not 1 <= first <= MAX_PAGE:
        raise bad_input(f"first is 1 to {MAX_PAGE}", "first")
    query = alert_query(kinds, min_severity, states)
    if after is not None:
        try:
            alert_records.decode_cursor(after)
        except ValueError as error:
            raise bad_input("after is not a cursor of this list", "after") from error
    async with ctx.db.connect() as conn:
        page = await alert_records.list_alerts(conn, query, first=first, after=after)
    edges = [
        AlertEdge(cursor=alert_records.encode_cursor(r), node=Alert.of(r)) for r in page.records
    ]
    return AlertConnection(
        edges=edges,
        page_info=AlertPageInfo(
            has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=page.total_count,
    )


def _child_length(code: str) -> int | None:
    tier = Tier.from_code_length(len(code))
    order = list(Tier)
    index = order.index(tier)
    return order[index + 1].code_length if index + 1 < len(order) else None


async def alert_counts_of(
    ctx: NodeContext,
    kinds: list[AlertKind] | None,
    min_severity: Severity | None,
    states: list[AlertState] | None,
) -> AlertCounts:
    from shared.graphql.types import Jurisdiction

    query = alert_query(kinds, min_severity, states)
    code = ctx.node.code
    async with ctx.db.connect() as conn:
        rows = await alert_records.counts(conn, query, _child_length(code))
    subtree, own = _Tally.empty(), _Tally.empty()
    children = {d.code: (d, _Tally.empty()) for d in division_tree().children(code)}
    for child, severity, kind, n in rows:
        s, k = Severity(severity), AlertKind(kind)
        subtree.add(s, k, n)
        if child is None:
            own.add(s, k, n)
        elif child in children:
            children[child][1].add(s, k, n)
    return AlertCounts(
        subtree=subtree.out(),
        own=own.out(),
        by_child=[
            ChildAlertCounts(jurisdiction=Jurisdiction.of(d), counts=t.out())
            for d, t in children.values()
        ],
    )


def _alert_id(id: str) -> str:
    cleaned = id.strip()
    if node_of_key(cleaned) is None or "-A-" not in cleaned:
        raise bad_input("an alert id is {node code}-A-{digest}", "id")
    return cleaned


@strawberry.type
class AlertMutations:
    @strawberry.mutation(
        description="Acknowledge an alert of this node: a person has seen it and owns it. "
        "Only the owning node's handlers; expectedVersion guards against a lost update."
    )
    async def acknowledge_alert(
        self, info: NodeInfo, id: strawberry.ID, expected_version: int | None = None
    ) -> Alert:
        ctx = info.context
        record = await alert_flows.transition(
            ctx.work,
            _alert_id(id),
            AlertState.ACKNOWLEDGED,
            ctx.actor,
            expected_version=expected_version,
        )
        return Alert.of(record)

    @strawberry.mutation(
        description="Resolve an alert of this node (open or acknowledged). Only the owning "
        "node's handlers."
    )
    async def resolve_alert(
        self, info: NodeInfo, id: strawberry.ID, expected_version: int | None = None
    ) -> Alert:
        ctx = info.context
        record = await alert_flows.transition(
            ctx.work,
            _alert_id(id),
            AlertState.RESOLVED,
            ctx.actor,
            expected_version=expected_version,
        )
        return Alert.of(record)


def _refused(code: ErrorCode | str, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": str(code)})


@strawberry.type
class AlertSubscriptions:
    @strawberry.subscription(
        description="New alerts of the jurisdiction's subtree, and alerts whose severity rose, "
        "as the node holding the jurisdiction stores them (at least minSeverity)."
    )
    async def alert_raised(
        self,
        info: NodeInfo,
        jurisdiction: strawberry.ID,
        min_severity: Severity = Severity.INFO,
    ) -> AsyncGenerator[Alert]:
        ctx = info.context
        code = str(jurisdiction).strip()
        principal = ctx.principal
        if principal is None:
            raise _refused(ErrorCode.UNAUTHENTICATED, "sign in: connection_init carries the token")
        if code != ctx.node.code:
            if division_tree().get(code) is None:
                raise _refused(ErrorCode.BAD_USER_INPUT, f"no jurisdiction {code}")
            if read_refusal(principal, code) is not None:
                raise _refused(FORBIDDEN, f"alertRaised: {read_refusal(principal, code)}")
            raise _refused(
                ErrorCode.NOT_FOUND,
                f"node {ctx.node.code} streams its own subtree's alerts; ask node {code}",
            )
        refused = read_refusal(principal, code)
        if refused is not None:
            raise _refused(FORBIDDEN, f"alertRaised: {refused}")
        listener = ctx.alerts
        if listener is None:
            raise _refused("INTERNAL_SERVER_ERROR", "this service streams no alerts")
        queue = await listener.subscribe(code)
        try:
            while True:
                alert, rank = await queue.get()
                if rank < min_severity.rank:
                    continue
                async with ctx.db.connect() as conn:
                    record = await alert_records.load(conn, alert)
                if record is None or record.state is AlertState.RESOLVED:
                    continue
                yield Alert.of(record)
        finally:
            listener.unsubscribe(code, queue)


__all__ = [
    "Alert",
    "AlertConnection",
    "AlertCounts",
    "AlertMutations",
    "AlertSubscriptions",
    "DomainError",
    "alert_counts_of",
    "alerts_of",
]

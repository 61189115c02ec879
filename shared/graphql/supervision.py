"""Supervision orders in GraphQL: issued by a higher node, received and answered by the owner."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from shared.errors import bad_input
from shared.graphql.node_owned import NodeOwned
from shared.graphql.types import Jurisdiction, NodeInfo, jurisdiction_of
from shared.messaging import supervision_flows
from shared.persistence import supervision_records as records
from shared.persistence.supervision_records import OrderRecord
from shared.supervision import OrderStatus, default_levels

OrderStatusEnum = strawberry.enum(OrderStatus, name="SupervisionOrderStatus")


@strawberry.type(description="A configured severity level (the three-colour notices).")
class SupervisionLevel:
    code: str
    name: str
    reply_days: int
    rank: int


@strawberry.federation.type(
    keys=["id"],
    description="督办: an order to act and reply in writing.",
    directives=[NodeOwned()],  # issued and kept by the node whose code starts the id
)
class SupervisionOrder:
    id: strawberry.ID
    case_id: strawberry.ID
    severity: str
    flagged: bool = strawberry.field(description="挂牌督办: flagged supervision")
    leader: str | None = strawberry.field(
        description="The leader placed under flagged supervision."
    )
    text: str
    issued_at: datetime
    due: datetime
    status: OrderStatus
    reply_text: str | None
    replied_at: datetime | None
    _record: strawberry.Private[OrderRecord]
    _issued_here: strawberry.Private[bool]

    @classmethod
    def of(cls, record: OrderRecord, issued_here: bool) -> SupervisionOrder:
        return cls(
            id=strawberry.ID(record.id),
            case_id=strawberry.ID(record.case_id),
            severity=record.severity,
            flagged=record.flagged,
            leader=record.leader,
            text=record.text,
            issued_at=record.issued_at,
            due=record.due,
            status=record.status,
            reply_text=record.reply_text,
            replied_at=record.replied_at,
            _record=record,
            _issued_here=issued_here,
        )

    @classmethod
    async def resolve_reference(cls, info: NodeInfo, id: strawberry.ID) -> SupervisionOrder | None:
        if not isinstance(id, str):
            raise bad_input("a SupervisionOrder representation's id is a string", "representations")
        return await load_order(info, id, issued=id.startswith(f"{info.context.node.code}-SO-"))

    @strawberry.field(description="The node that issued the order.")
    def issuer(self, info: NodeInfo) -> Jurisdiction:
        code = info.context.node.code if self._issued_here else self._record.counterpart
        return jurisdiction_of(code)

    @strawberry.field(description="The node that owns the case and must reply.")
    def case_owner(self, info: NodeInfo) -> Jurisdiction:
        code = self._record.counterpart if self._issued_here else info.context.node.code
        return jurisdiction_of(code)

    @strawberry.field
    def overdue(self, info: NodeInfo) -> bool:
        if self._record.status is OrderStatus.REPLIED:
            return self._record.replied_at is not None and self._record.replied_at >= self.due
        return info.context.work.clock.now() >= self.due


async def load_order(info: NodeInfo, order_id: str, *, issued: bool) -> SupervisionOrder | None:
    async with info.context.db.connect() as conn:
        found = await records.load_orders(conn, [order_id], issued=issued)
    record = found.get(order_id)
    return SupervisionOrder.of(record, issued) if record else None


def _page(first: int) -> int:
    if not 1 <= first <= 500:
        raise bad_input("first is 1 to 500", "first")
    return first


@strawberry.type
class ReceivedSupervisionQueries:
    @strawberry.field(description="Supervision orders this node received about its cases.")
    async def supervision_orders_received(
        self, info: NodeInfo, status: OrderStatus | None = None, first: int = 50
    ) -> list[SupervisionOrder]:
        async with info.context.db.connect() as conn:
            found = await records.list_orders(conn, issued=False, status=status, limit=_page(first))
        return [SupervisionOrder.of(r, False) for r in found]

    @strawberry.field(description="The severity levels in force.")
    def supervision_levels(self) -> list[SupervisionLevel]:
        return [
            SupervisionLevel(code=lv.code, name=lv.name, reply_days=lv.reply_days, rank=lv.rank)
            for lv in default_levels().levels
        ]


@strawberry.type
class ReceivedSupervisionMutations:
    @strawberry.mutation(description="The owner's written reply to a supervision order (Art. 40).")
    async def reply_supervision_order(
        self, info: NodeInfo, id: strawberry.ID, text: str
    ) -> SupervisionOrder:
        await supervision_flows.reply_to_order(info.context.work, id.strip(), text)
        order = await load_order(info, id.strip(), issued=False)
        assert order is not None
        return order


@strawberry.type
class IssuedSupervisionQueries:
    @strawberry.field(description="Supervision orders this node issued to nodes below it.")
    async def supervision_orders_issued(
        self, info: NodeInfo, status: OrderStatus | None = None, first: int = 50
    ) -> list[SupervisionOrder]:
        async with info.context.db.connect() as conn:
            found = await records.list_orders(conn, issued=True, status=status, limit=_page(first))
        return [SupervisionOrder.of(r, True) for r in found]


@strawberry.type
class IssuedSupervisionMutations:
    @strawberry.mutation(
        description="督办: order a node below to act on its case and reply in "
        "writing by a date (the level's default period when none is given)."
    )
    async def issue_supervision_order(
        self,
        info: NodeInfo,
        case_id: strawberry.ID,
        severity: str,
        text: str,
        due: date | None = None,
        flagged: bool = False,
    ) -> SupervisionOrder:
        order_id = await supervision_flows.issue_order(
            info.context.work,
            case_id.strip(),
            severity=severity.strip().upper(),
            due=due,
            text=text,
            flagged=flagged,
            actor=info.context.actor,
        )
        order = await load_order(info, order_id, issued=True)
        assert order is not None
        return order

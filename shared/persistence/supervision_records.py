"""Supervision orders a node issued, and those it received. Connections mapped to the node."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.persistence.tables import supervision_counters, supervision_orders, supervision_received
from shared.supervision import OrderStatus


@dataclass(frozen=True)
class OrderRecord:
    id: str
    case_id: str
    severity: str
    flagged: bool
    text: str
    issued_at: datetime
    due: datetime
    status: OrderStatus
    reply_text: str | None
    replied_at: datetime | None
    version: int
    counterpart: str  # issued: the case's owner; received: the issuer
    issued_by: str | None = None
    leader: str | None = None  # 挂牌督办: the leader placed under flagged supervision


def _record(row: Any, issued: bool) -> OrderRecord:
    values = dict(row._mapping)
    values["status"] = OrderStatus(values["status"])
    values["counterpart"] = values.pop("case_node") if issued else values.pop("issuer")
    return OrderRecord(**values)


def _table(issued: bool) -> Table:
    return supervision_orders if issued else supervision_received


async def next_order_id(conn: AsyncConnection, node: str, year: int) -> str:
    statement = (
        pg_insert(supervision_counters)
        .values(year=year, last_seq=1)
        .on_conflict_do_update(
            index_elements=[supervision_counters.c.year],
            set_={"last_seq": supervision_counters.c.last_seq + 1},
        )
        .returning(supervision_counters.c.last_seq)
    )
    seq = (await conn.execute(statement)).scalar_one()
    return f"{node}-SO-{year}-{seq:06d}"


async def insert_order(conn: AsyncConnection, *, issued: bool, **values: Any) -> None:
    await conn.execute(insert(_table(issued)).values(**values))


async def lock_order(conn: AsyncConnection, order_id: str, *, issued: bool) -> OrderRecord | None:
    table = _table(issued)
    row = (
        await conn.execute(select(table).where(table.c.id == order_id).with_for_update())
    ).first()
    return _record(row, issued) if row else None


async def mark_replied(
    conn: AsyncConnection, order: OrderRecord, *, issued: bool, text: str, at: datetime
) -> None:
    table = _table(issued)
    await conn.execute(
        update(table)
        .where(table.c.id == order.id, table.c.version == order.version)
        .values(
            status=OrderStatus.REPLIED.value,
            reply_text=text,
            replied_at=at,
            version=order.version + 1,
        )
    )


async def load_orders(
    conn: AsyncConnection, ids: Sequence[str], *, issued: bool
) -> dict[str, OrderRecord]:
    table = _table(issued)
    rows = await conn.execute(select(table).where(table.c.id.in_(list(ids))))
    return {row.id: _record(row, issued) for row in rows}


async def list_orders(
    conn: AsyncConnection,
    *,
    issued: bool,
    status: OrderStatus | None,
    limit: int,
    flagged: bool | None = None,
) -> list[OrderRecord]:
    table = _table(issued)
    statement = select(table).order_by(table.c.issued_at.desc(), table.c.id.desc()).limit(limit)
    if status is not None:
        statement = statement.where(table.c.status == status.value)
    if flagged is not None:
        statement = statement.where(table.c.flagged.is_(flagged))
    return [_record(row, issued) for row in await conn.execute(statement)]

"""12345 hotline tickets at one node (docs/hotline.md): connections mapped to the node."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import bad_input
from shared.persistence.tables import hotline_callers, hotline_tickets

CHUNK = 1000  # rows per INSERT statement


@dataclass(frozen=True)
class TicketRecord:
    ticket_number: str
    received_at: datetime
    division_code: str
    category: str
    content: str
    is_petition: bool
    state: str
    content_hash: str
    imported_at: datetime
    imported_by: str
    updated_at: datetime
    case_id: str | None
    converted_at: datetime | None
    converted_by: str | None
    caller_name: str
    caller_phone: str | None


@dataclass(frozen=True)
class TicketPage:
    records: list[TicketRecord]
    has_next_page: bool
    total_count: int


def _select() -> Any:
    return select(
        hotline_tickets,
        hotline_callers.c.name.label("caller_name"),
        hotline_callers.c.phone.label("caller_phone"),
    ).select_from(
        hotline_tickets.join(
            hotline_callers, hotline_callers.c.ticket_number == hotline_tickets.c.ticket_number
        )
    )


def _record(row: Any) -> TicketRecord:
    return TicketRecord(**dict(row._mapping))


async def lock_tickets(conn: AsyncConnection, numbers: Sequence[str]) -> dict[str, TicketRecord]:
    """The stored tickets among ``numbers``, locked for the transaction."""
    found: dict[str, TicketRecord] = {}
    for start in range(0, len(numbers), CHUNK):
        chunk = list(numbers[start : start + CHUNK])
        rows = await conn.execute(
            _select()
            .where(hotline_tickets.c.ticket_number.in_(chunk))
            .with_for_update(of=hotline_tickets)
        )
        for row in rows:
            record = _record(row)
            found[record.ticket_number] = record
    return found


async def insert_tickets(
    conn: AsyncConnection, tickets: Sequence[dict[str, Any]], callers: Sequence[dict[str, Any]]
) -> None:
    for start in range(0, len(tickets), CHUNK):
        await conn.execute(insert(hotline_tickets), list(tickets[start : start + CHUNK]))
    for start in range(0, len(callers), CHUNK):
        await conn.execute(insert(hotline_callers), list(callers[start : start + CHUNK]))


async def set_state(conn: AsyncConnection, number: str, state: str, at: datetime) -> None:
    await conn.execute(
        update(hotline_tickets)
        .where(hotline_tickets.c.ticket_number == number)
        .values(state=state, updated_at=at)
    )


async def mark_converted(
    conn: AsyncConnection, number: str, case_id: str, at: datetime, by: str
) -> bool:
    """Link the ticket to the petition it became; False when it already was converted."""
    row = await conn.execute(
        update(hotline_tickets)
        .where(hotline_tickets.c.ticket_number == number, hotline_tickets.c.case_id.is_(None))
        .values(case_id=case_id, converted_at=at, converted_by=by, is_petition=True, updated_at=at)
        .returning(hotline_tickets.c.ticket_number)
    )
    return row.first() is not None


async def ticket(conn: AsyncConnection, number: str) -> TicketRecord | None:
    row = (await conn.execute(_select().where(hotline_tickets.c.ticket_number == number))).first()
    return _record(row) if row is not None else None


async def ticket_numbers_of_cases(conn: AsyncConnection, case_ids: Sequence[str]) -> dict[str, str]:
    rows = await conn.execute(
        select(hotline_tickets.c.case_id, hotline_tickets.c.ticket_number).where(
            hotline_tickets.c.case_id.in_(list(case_ids))
        )
    )
    return {str(case_id): str(number) for case_id, number in rows}


def encode_cursor(record: TicketRecord) -> str:
    raw = f"{record.received_at.isoformat()}|{record.ticket_number}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, number = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), number
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_input("the cursor is not one this API returned", "after") from error


async def list_tickets(
    conn: AsyncConnection,
    *,
    converted: bool | None,
    is_petition: bool | None,
    ticket_number: str | None,
    first: int,
    after: str | None,
) -> TicketPage:
    """Newest first, keyset-paginated on (received_at, ticket_number)."""
    conditions: list[Any] = []
    if converted is not None:
        column = hotline_tickets.c.case_id
        conditions.append(column.is_not(None) if converted else column.is_(None))
    if is_petition is not None:
        conditions.append(hotline_tickets.c.is_petition.is_(is_petition))
    if ticket_number is not None:
        conditions.append(hotline_tickets.c.ticket_number == ticket_number.strip())
    total = (
        await conn.execute(select(func.count()).select_from(hotline_tickets).where(*conditions))
    ).scalar_one()
    page = list(conditions)
    if after is not None:
        at, number = decode_cursor(after)
        page.append(
            tuple_(hotline_tickets.c.received_at, hotline_tickets.c.ticket_number)
            < tuple_(at, number)
        )
    rows = await conn.execute(
        _select()
        .where(*page)
        .order_by(hotline_tickets.c.received_at.desc(), hotline_tickets.c.ticket_number.desc())
        .limit(first + 1)
    )
    records = [_record(row) for row in rows]
    return TicketPage(records[:first], len(records) > first, int(total))

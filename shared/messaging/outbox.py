"""The sender's side: a message is written in the same transaction as the act that causes it,
and stays until the recipient has confirmed it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.messaging.messages import Message, MessageKind
from shared.persistence.tables import outbox
from shared.telemetry import current_trace_context

MAX_BACKOFF = timedelta(seconds=30)  # a node back from a restart hears within half a minute


async def enqueue(conn: AsyncConnection, message: Message) -> None:
    await conn.execute(
        insert(outbox).values(
            id=message.id,
            recipient=message.recipient,
            kind=message.kind.value,
            payload=message.payload,
            # The act's own trace, so the message's delivery can be linked to it.
            trace_context=message.trace_context or current_trace_context(),
            created_at=message.created_at,
            next_attempt_at=message.created_at,
        )
    )


async def claim_due(conn: AsyncConnection, sender: str, now: datetime, limit: int) -> list[Message]:
    """Undelivered messages due for an attempt, locked for this relay (others skip them)."""
    rows = await conn.execute(
        select(outbox)
        .where(outbox.c.delivered_at.is_(None), outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.created_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [
        Message(
            id=row.id,
            sender=sender,
            recipient=row.recipient,
            kind=MessageKind(row.kind),
            payload=row.payload,
            created_at=row.created_at,
            trace_context=row.trace_context,
        )
        for row in rows
    ]


async def mark_delivered(
    conn: AsyncConnection, message_id: str, now: datetime, note: str | None = None
) -> None:
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == message_id)
        .values(delivered_at=now, attempts=outbox.c.attempts + 1, last_error=note)
    )


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=0.5 * 2**attempts), MAX_BACKOFF)


async def mark_failed(conn: AsyncConnection, message_id: str, now: datetime, error: str) -> None:
    attempts = (
        await conn.execute(select(outbox.c.attempts).where(outbox.c.id == message_id))
    ).scalar_one()
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == message_id)
        .values(
            attempts=attempts + 1,
            next_attempt_at=now + backoff(attempts),
            last_error=error[:500],
        )
    )


async def next_due(conn: AsyncConnection) -> datetime | None:
    """When the earliest undelivered message is due for its next attempt."""
    due: datetime | None = (
        await conn.execute(
            select(func.min(outbox.c.next_attempt_at)).where(outbox.c.delivered_at.is_(None))
        )
    ).scalar_one()
    return due


async def pending_count(conn: AsyncConnection, *, except_kinds: Sequence[MessageKind] = ()) -> int:
    """Undelivered messages (of any kind but ``except_kinds``)."""
    conditions = [outbox.c.delivered_at.is_(None)]
    if except_kinds:
        conditions.append(outbox.c.kind.not_in([k.value for k in except_kinds]))
    statement = select(func.count()).select_from(outbox).where(*conditions)
    return int((await conn.execute(statement)).scalar_one())

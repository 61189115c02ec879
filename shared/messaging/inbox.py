"""The receiver's side: a message id is recorded in the same transaction that applies it, so
a message delivered twice is applied once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.messaging.messages import Message
from shared.persistence.tables import inbox

APPLIED = "APPLIED"
REJECTED = "REJECTED"


async def record(
    conn: AsyncConnection, message: Message, now: datetime, outcome: str, detail: str | None
) -> bool:
    """Record ``message`` as received; False when it had been received before."""
    inserted = await conn.execute(
        pg_insert(inbox)
        .values(
            message_id=message.id,
            sender=message.sender,
            kind=message.kind.value,
            received_at=now,
            outcome=outcome,
            detail=detail,
        )
        .on_conflict_do_nothing(index_elements=[inbox.c.message_id])
        .returning(inbox.c.message_id)
    )
    return inserted.first() is not None


async def mark_rejected(conn: AsyncConnection, message_id: str, detail: str) -> None:
    await conn.execute(
        update(inbox)
        .where(inbox.c.message_id == message_id)
        .values(outcome=REJECTED, detail=detail[:1000])
    )

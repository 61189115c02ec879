"""The reviews a node holds (as reviewer). Functions take a connection mapped to the node."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.persistence.tables import review_counters, reviews
from shared.reviews import ID_MARK, ReviewLevel, ReviewStatus


@dataclass(frozen=True)
class ReviewRecord:
    id: str
    level: ReviewLevel
    case_id: str
    case_node: str
    status: ReviewStatus
    reason: str
    requested_at: datetime
    requested_by: str
    opened_at: datetime | None
    due: datetime | None
    hearing_days: int
    decided_at: datetime | None
    outcome: str | None
    decision_text: str | None
    refusal: str | None
    case_snapshot: dict[str, Any] | None
    request_message_id: str
    version: int


def _record(row: Any) -> ReviewRecord:
    values = dict(row._mapping)
    values["level"] = ReviewLevel(values["level"])
    values["status"] = ReviewStatus(values["status"])
    return ReviewRecord(**values)


async def next_review_id(conn: AsyncConnection, node: str, level: ReviewLevel, year: int) -> str:
    statement = (
        pg_insert(review_counters)
        .values(year=year, last_seq=1)
        .on_conflict_do_update(
            index_elements=[review_counters.c.year],
            set_={"last_seq": review_counters.c.last_seq + 1},
        )
        .returning(review_counters.c.last_seq)
    )
    seq = (await conn.execute(statement)).scalar_one()
    return f"{node}-{ID_MARK[level]}-{year}-{seq:06d}"


async def insert_review(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(reviews).values(**values))


async def lock_review(conn: AsyncConnection, review_id: str) -> ReviewRecord | None:
    row = (
        await conn.execute(select(reviews).where(reviews.c.id == review_id).with_for_update())
    ).first()
    return _record(row) if row else None


async def update_review(conn: AsyncConnection, review: ReviewRecord, **values: Any) -> None:
    await conn.execute(
        update(reviews)
        .where(reviews.c.id == review.id, reviews.c.version == review.version)
        .values(version=review.version + 1, **values)
    )


async def load_reviews(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, ReviewRecord]:
    rows = await conn.execute(select(reviews).where(reviews.c.id.in_(list(ids))))
    return {row.id: _record(row) for row in rows}


async def list_reviews(
    conn: AsyncConnection, *, status: ReviewStatus | None, limit: int
) -> list[ReviewRecord]:
    statement = select(reviews).order_by(reviews.c.requested_at.desc(), reviews.c.id.desc())
    if status is not None:
        statement = statement.where(reviews.c.status == status.value)
    rows = await conn.execute(statement.limit(limit))
    return [_record(row) for row in rows]

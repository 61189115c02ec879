"""The province's matter index and a node's record of skip-level visits about its territory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.lifecycle import CaseStatus
from shared.matters import MatterEntry
from shared.persistence.tables import matter_index, skip_level_visits


async def upsert_entry(
    conn: AsyncConnection, entry: MatterEntry, *, matter_key: str, version: int, now: datetime
) -> None:
    """Record what a notice says of a case; an older notice arriving late changes nothing."""
    values = {
        "case_id": entry.case_id,
        "matter_key": matter_key,
        "node": entry.node,
        "status": entry.status.value,
        "final": entry.final,
        "registered_at": entry.registered_at,
        "final_at": entry.final_at,
        "version": version,
        "updated_at": now,
    }
    statement = pg_insert(matter_index).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[matter_index.c.case_id],
        set_={k: statement.excluded[k] for k in values if k != "case_id"},
        where=matter_index.c.version < statement.excluded.version,
    )
    await conn.execute(statement)


async def entries_for(conn: AsyncConnection, matter_key: str) -> list[MatterEntry]:
    rows = await conn.execute(
        select(matter_index)
        .where(matter_index.c.matter_key == matter_key)
        .order_by(matter_index.c.registered_at, matter_index.c.case_id)
    )
    return [
        MatterEntry(
            case_id=row.case_id,
            node=row.node,
            status=CaseStatus(row.status),
            final=row.final,
            registered_at=row.registered_at,
            final_at=row.final_at,
        )
        for row in rows
    ]


async def record_skip_level_visit(
    conn: AsyncConnection,
    *,
    visit_case_id: str,
    visited_node: str,
    issue_locality: str,
    at: datetime,
    case_id: str | None,
    message_id: str,
) -> None:
    await conn.execute(
        pg_insert(skip_level_visits)
        .values(
            visit_case_id=visit_case_id,
            visited_node=visited_node,
            issue_locality_code=issue_locality,
            at=at,
            case_id=case_id,
            message_id=message_id,
        )
        .on_conflict_do_nothing(index_elements=[skip_level_visits.c.visit_case_id])
    )

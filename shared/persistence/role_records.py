"""The records of each tier's own roles (intake desks, mediations, grid reports, leader-owned
cases, competence disputes, statistics reports received). Connections mapped to the node."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.deadlines import DeadlineKind
from shared.persistence.tables import (
    case_deadlines,
    cases,
    competence_disputes,
    grid_reports,
    intake_records,
    leader_ownerships,
    mediations,
    role_counters,
    statistics_reports,
)


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


async def next_id(conn: AsyncConnection, node: str, mark: str, year: int) -> str:
    """``{node}-{mark}-{year}-{seq}``: a gap-free yearly sequence per kind of record."""
    statement = (
        pg_insert(role_counters)
        .values(mark=mark, year=year, last_seq=1)
        .on_conflict_do_update(
            index_elements=[role_counters.c.mark, role_counters.c.year],
            set_={"last_seq": role_counters.c.last_seq + 1},
        )
        .returning(role_counters.c.last_seq)
    )
    seq = (await conn.execute(statement)).scalar_one()
    return f"{node}-{mark}-{year}-{seq:06d}"


# -- intake ----------------------------------------------------------------------------------


async def insert_intake(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(intake_records).values(**values))


async def intakes(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows = await conn.execute(select(intake_records).where(intake_records.c.case_id.in_(ids)))
    return {row.case_id: _row(row) for row in rows}


async def list_intakes(
    conn: AsyncConnection, receivers: Sequence[str], window: str | None, limit: int
) -> list[dict[str, Any]]:
    statement = (
        select(intake_records)
        .where(intake_records.c.receiver.in_(list(receivers)))
        .order_by(intake_records.c.recorded_at.desc(), intake_records.c.case_id.desc())
        .limit(limit)
    )
    if window is not None:
        statement = statement.where(intake_records.c.receiving_window == window)
    return [_row(row) for row in await conn.execute(statement)]


# -- mediation -------------------------------------------------------------------------------


async def insert_mediation(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(mediations).values(**values))


async def list_mediations(
    conn: AsyncConnection, case_id: str | None, limit: int, mediation_id: str | None = None
) -> list[dict[str, Any]]:
    statement = (
        select(mediations)
        .order_by(mediations.c.recorded_at.desc(), mediations.c.id.desc())
        .limit(limit)
    )
    if case_id is not None:
        statement = statement.where(mediations.c.case_id == case_id)
    if mediation_id is not None:
        statement = statement.where(mediations.c.id == mediation_id)
    return [_row(row) for row in await conn.execute(statement)]


async def mediation_counts(
    conn: AsyncConnection, start: datetime | None, end: datetime | None
) -> dict[str, int]:
    """Mediations recorded in [start, end), counted by outcome."""
    statement = select(mediations.c.outcome, func.count()).group_by(mediations.c.outcome)
    if start is not None:
        statement = statement.where(mediations.c.recorded_at >= start)
    if end is not None:
        statement = statement.where(mediations.c.recorded_at < end)
    return {str(outcome): int(n) for outcome, n in await conn.execute(statement)}


# -- fast track ------------------------------------------------------------------------------


async def fast_track_figures(
    conn: AsyncConnection, start: datetime | None, end: datetime | None, now: datetime
) -> dict[str, dict[str, Any]]:
    """Per fast-track step: cases, met, met on time, open and overdue, average days taken."""
    d = case_deadlines
    days = func.extract("epoch", d.c.met_at - d.c.started_at) / 86400.0
    statement = (
        select(
            d.c.kind,
            func.count().label("cases"),
            func.count().filter(d.c.met_at.is_not(None)).label("met"),
            func.count().filter(d.c.met_at < d.c.due).label("met_on_time"),
            func.count().filter(and_(d.c.met_at.is_(None), d.c.due <= now)).label("overdue"),
            func.avg(days).label("average_days"),
        )
        .select_from(d.join(cases, cases.c.id == d.c.case_id))
        .where(
            d.c.kind.in_(
                [
                    DeadlineKind.FAST_TRACK_MEETING.value,
                    DeadlineKind.FAST_TRACK_FACTS.value,
                    DeadlineKind.FAST_TRACK_REPLY.value,
                ]
            )
        )
        .group_by(d.c.kind)
    )
    if start is not None:
        statement = statement.where(cases.c.registered_at >= start)
    if end is not None:
        statement = statement.where(cases.c.registered_at < end)
    return {row.kind: _row(row) for row in await conn.execute(statement)}


# -- grid reports ----------------------------------------------------------------------------


async def insert_grid_report(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(grid_reports).values(**values))


async def lock_grid_report(conn: AsyncConnection, report_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(grid_reports).where(grid_reports.c.id == report_id).with_for_update()
        )
    ).first()
    return _row(row) if row else None


async def update_grid_report(conn: AsyncConnection, report: dict[str, Any], **values: Any) -> None:
    await conn.execute(
        update(grid_reports)
        .where(grid_reports.c.id == report["id"], grid_reports.c.version == report["version"])
        .values(**values, version=report["version"] + 1)
    )


async def grid_reports_by_id(conn: AsyncConnection, ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = await conn.execute(select(grid_reports).where(grid_reports.c.id.in_(ids)))
    return [_row(row) for row in rows]


async def list_grid_reports(
    conn: AsyncConnection, status: str | None, limit: int
) -> list[dict[str, Any]]:
    statement = (
        select(grid_reports)
        .order_by(grid_reports.c.reported_at.desc(), grid_reports.c.id.desc())
        .limit(limit)
    )
    if status is not None:
        statement = statement.where(grid_reports.c.status == status)
    return [_row(row) for row in await conn.execute(statement)]


# -- leader-owned cases ----------------------------------------------------------------------


async def ownerships_of(conn: AsyncConnection, case_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(leader_ownerships)
        .where(leader_ownerships.c.case_id == case_id)
        .order_by(leader_ownerships.c.seq)
    )
    return [_row(row) for row in rows]


async def add_ownership(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(leader_ownerships).values(**values))


async def end_ownership(conn: AsyncConnection, case_id: str, seq: int, at: datetime) -> None:
    await conn.execute(
        update(leader_ownerships)
        .where(leader_ownerships.c.case_id == case_id, leader_ownerships.c.seq == seq)
        .values(until=at)
    )


async def current_ownerships(
    conn: AsyncConnection, leader: str | None, limit: int
) -> list[dict[str, Any]]:
    statement = (
        select(leader_ownerships)
        .where(leader_ownerships.c.until.is_(None))
        .order_by(leader_ownerships.c.since.desc(), leader_ownerships.c.case_id.desc())
        .limit(limit)
    )
    if leader is not None:
        statement = statement.where(leader_ownerships.c.leader == leader)
    return [_row(row) for row in await conn.execute(statement)]


# -- competence disputes ---------------------------------------------------------------------


async def insert_dispute(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(competence_disputes).values(**values))


async def lock_dispute(conn: AsyncConnection, dispute_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(competence_disputes)
            .where(competence_disputes.c.id == dispute_id)
            .with_for_update()
        )
    ).first()
    return _row(row) if row else None


async def update_dispute(conn: AsyncConnection, dispute: dict[str, Any], **values: Any) -> None:
    await conn.execute(
        update(competence_disputes)
        .where(
            competence_disputes.c.id == dispute["id"],
            competence_disputes.c.version == dispute["version"],
        )
        .values(**values, version=dispute["version"] + 1)
    )


async def open_dispute_for(conn: AsyncConnection, case_id: str) -> str | None:
    return (
        await conn.execute(
            select(competence_disputes.c.id).where(
                competence_disputes.c.case_id == case_id, competence_disputes.c.status == "OPEN"
            )
        )
    ).scalar_one_or_none()


async def list_disputes(
    conn: AsyncConnection, ids: Sequence[str] | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    statement = (
        select(competence_disputes)
        .order_by(competence_disputes.c.raised_at.desc(), competence_disputes.c.id.desc())
        .limit(limit)
    )
    if ids is not None:
        statement = statement.where(competence_disputes.c.id.in_(ids))
    if status is not None:
        statement = statement.where(competence_disputes.c.status == status)
    return [_row(row) for row in await conn.execute(statement)]


# -- statistics reports received -------------------------------------------------------------


async def store_statistics_report(conn: AsyncConnection, **values: Any) -> None:
    """Keep the newest figures a node reported for a period (a later report replaces them)."""
    statement = pg_insert(statistics_reports).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[
            statistics_reports.c.reporter,
            statistics_reports.c.period_from,
            statistics_reports.c.period_to,
        ],
        set_={
            "counts": statement.excluded.counts,
            "as_of": statement.excluded.as_of,
            "received_at": statement.excluded.received_at,
            "message_id": statement.excluded.message_id,
        },
        where=statistics_reports.c.as_of <= statement.excluded.as_of,
    )
    await conn.execute(statement)


async def statistics_reports_for(
    conn: AsyncConnection, period_from: date, period_to: date
) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(statistics_reports).where(
            statistics_reports.c.period_from == period_from,
            statistics_reports.c.period_to == period_to,
        )
    )
    return [_row(row) for row in rows]

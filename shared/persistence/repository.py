"""Queries over one node's tables. Every function takes a connection already mapped to the
node's schema (``NodeDatabase.connect``/``begin``); none of them commits."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.deadlines import LIMITS, Bound, DeadlineKind, end_of_day
from shared.errors import DomainError, bad_input
from shared.holidays import HolidayCalendar
from shared.lifecycle import (
    TERMINAL,
    CaseState,
    CaseStatus,
    Deadline,
    Event,
    replay,
)
from shared.matters import MatterEntry
from shared.persistence import codec
from shared.persistence.migrate import schema_for
from shared.persistence.roles import ROLE_OPTION, node_role, switch_roles
from shared.persistence.tables import (
    case_counters,
    case_deadlines,
    case_events,
    cases,
    petitioners,
    representatives,
)


class NodeDatabase:
    """One node's schema on a shared engine. Every transaction on its connections runs as the
    node's own role (``SET LOCAL ROLE``, shared.persistence.roles), which can reach no other
    node's schema."""

    def __init__(self, engine: AsyncEngine, code: str) -> None:
        self.engine = engine
        self.code = code
        self.schema = schema_for(code)
        database = engine.url.database if engine is not None else None
        self.role = node_role(database, code) if database else None
        self._options: dict[str, Any] = {"schema_translate_map": {None: self.schema}}
        if self.role is not None:
            switch_roles(engine)
            self._options[ROLE_OPTION] = self.role

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield await conn.execution_options(**self._options)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self.engine.connect() as conn:
            mapped = await conn.execution_options(**self._options)  # before the role is taken
            async with mapped.begin():
                yield mapped


@dataclass(frozen=True)
class CaseRecord:
    id: str
    owner_code: str
    issue_locality_code: str
    channel: str
    category: str
    summary: str
    person_count: int
    status: str
    registered_at: datetime
    last_at: datetime
    version: int
    received_from: str | None
    routed_to: str | None
    outcome: str | None
    rating: str | None
    review_outcome: str | None
    final: bool
    skip_level: bool
    repeat_of: str | None
    refusal_code: str | None
    skip_level_from: str | None
    matter_check: str | None
    accused_unit: str | None  # 检举控告: the unit the case accuses
    petitioner_name: str
    petitioner_id_number: str | None  # sealed (shared.privacy.IdCipher): open it to read
    petitioner_phone: str | None
    petitioner_address: str | None


_CASE_COLUMNS = [
    cases.c.id,
    cases.c.owner_code,
    cases.c.issue_locality_code,
    cases.c.channel,
    cases.c.category,
    cases.c.summary,
    cases.c.person_count,
    cases.c.status,
    cases.c.registered_at,
    cases.c.last_at,
    cases.c.version,
    cases.c.received_from,
    cases.c.routed_to,
    cases.c.outcome,
    cases.c.rating,
    cases.c.review_outcome,
    cases.c.final,
    cases.c.skip_level,
    cases.c.repeat_of,
    cases.c.refusal_code,
    cases.c.skip_level_from,
    cases.c.matter_check,
    cases.c.accused_unit,
    petitioners.c.name.label("petitioner_name"),
    petitioners.c.id_number.label("petitioner_id_number"),
    petitioners.c.phone.label("petitioner_phone"),
    petitioners.c.address.label("petitioner_address"),
]


def _case_select() -> Select[Any]:
    return select(*_CASE_COLUMNS).select_from(cases.join(petitioners))


def _record(row: Any) -> CaseRecord:
    return CaseRecord(**row._mapping)


# -- writing ----------------------------------------------------------------------------------


async def next_case_id(conn: AsyncConnection, owner_code: str, year: int) -> str:
    """The next id in the node's yearly sequence: gap-free, taken in the writing transaction."""
    statement = (
        pg_insert(case_counters)
        .values(year=year, last_seq=1)
        .on_conflict_do_update(
            index_elements=[case_counters.c.year],
            set_={"last_seq": case_counters.c.last_seq + 1},
        )
        .returning(case_counters.c.last_seq)
    )
    seq = (await conn.execute(statement)).scalar_one()
    return f"{owner_code}-{year}-{seq:06d}"


async def insert_case(
    conn: AsyncConnection,
    case_row: dict[str, Any],
    petitioner_row: dict[str, Any],
    state: CaseState,
    event: Event,
) -> None:
    case_id = case_row["id"]
    await conn.execute(insert(cases).values(**case_row, **codec.state_columns(state)))
    await conn.execute(insert(petitioners).values(case_id=case_id, **petitioner_row))
    await conn.execute(insert(case_events).values(codec.event_row(case_id, event)))
    await _write_deadlines(conn, case_id, state.deadlines.values())


async def find_by_idempotency_key(conn: AsyncConnection, key: str) -> tuple[str, str] | None:
    row = (
        await conn.execute(
            select(cases.c.id, cases.c.request_hash).where(cases.c.idempotency_key == key)
        )
    ).first()
    return (row.id, row.request_hash) if row else None


async def matter_entries(conn: AsyncConnection, matter_key: str) -> list[MatterEntry]:
    """This node's own cases of a matter, oldest first (what it knows without the index)."""
    rows = await conn.execute(
        select(cases.c.id, cases.c.owner_code, cases.c.status, cases.c.final, cases.c.registered_at)
        .where(cases.c.matter_key == matter_key)
        .order_by(cases.c.registered_at, cases.c.id)
    )
    return [
        MatterEntry(
            case_id=row.id,
            node=row.owner_code,
            status=CaseStatus(row.status),
            final=row.final,
            registered_at=row.registered_at,
        )
        for row in rows
    ]


async def matter_key_of(conn: AsyncConnection, case_id: str) -> str | None:
    key: str | None = (
        await conn.execute(select(cases.c.matter_key).where(cases.c.id == case_id))
    ).scalar_one_or_none()
    return key


async def set_case_columns(conn: AsyncConnection, case_id: str, **values: Any) -> None:
    """Columns beside the engine's state (refusal code, repeat, matter check)."""
    await conn.execute(update(cases).where(cases.c.id == case_id).values(**values))


async def insert_representatives(
    conn: AsyncConnection, case_id: str, rows: Sequence[dict[str, Any]]
) -> None:
    if rows:
        await conn.execute(
            insert(representatives),
            [{"case_id": case_id, "seq": i, **row} for i, row in enumerate(rows, 1)],
        )


async def load_representatives(
    conn: AsyncConnection, ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    rows = await conn.execute(
        select(representatives)
        .where(representatives.c.case_id.in_(list(ids)))
        .order_by(representatives.c.case_id, representatives.c.seq)
    )
    result: dict[str, list[dict[str, Any]]] = {case_id: [] for case_id in ids}
    for row in rows:
        result[row.case_id].append(
            {"name": row.name, "id_number": row.id_number, "phone": row.phone}
        )
    return result


async def lock_case_state(conn: AsyncConnection, case_id: str) -> CaseState | None:
    """The case's state, its row locked until the transaction ends (writers queue here)."""
    row = (await conn.execute(select(cases).where(cases.c.id == case_id).with_for_update())).first()
    if row is None:
        return None
    deadline_rows = await conn.execute(
        select(case_deadlines).where(case_deadlines.c.case_id == case_id)
    )
    return codec.state_from_row(
        row._mapping, [codec.deadline_from_row(d._mapping) for d in deadline_rows]
    )


async def append_event(
    conn: AsyncConnection, case_id: str, before: CaseState, after: CaseState, event: Event
) -> None:
    await conn.execute(insert(case_events).values(codec.event_row(case_id, event)))
    result = await conn.execute(
        update(cases)
        .where(cases.c.id == case_id, cases.c.version == before.version)
        .values(**codec.state_columns(after))
    )
    if result.rowcount != 1:  # the row lock makes this unreachable; kept as a tripwire
        raise RuntimeError(f"case {case_id} changed underneath a locked write")
    changed = [d for k, d in after.deadlines.items() if before.deadlines.get(k) != d]
    await _write_deadlines(conn, case_id, changed)


async def _write_deadlines(
    conn: AsyncConnection, case_id: str, deadlines: Sequence[Deadline] | Any
) -> None:
    rows = [codec.deadline_row(case_id, d) for d in deadlines]
    if not rows:
        return
    statement = pg_insert(case_deadlines).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[case_deadlines.c.case_id, case_deadlines.c.kind],
        set_={
            "started_at": statement.excluded.started_at,
            "due": statement.excluded.due,
            "met_at": statement.excluded.met_at,
            "extra_days": statement.excluded.extra_days,
        },
    )
    await conn.execute(statement)


# -- reading ----------------------------------------------------------------------------------


async def load_cases(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, CaseRecord]:
    rows = await conn.execute(_case_select().where(cases.c.id.in_(list(ids))))
    return {row.id: _record(row) for row in rows}


async def load_events(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, list[Event]]:
    rows = await conn.execute(
        select(case_events)
        .where(case_events.c.case_id.in_(list(ids)))
        .order_by(case_events.c.case_id, case_events.c.seq)
    )
    result: dict[str, list[Event]] = {case_id: [] for case_id in ids}
    for row in rows:
        result[row.case_id].append(codec.event_from_row(row._mapping))
    return result


async def load_deadlines(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, list[Deadline]]:
    rows = await conn.execute(
        select(case_deadlines)
        .where(case_deadlines.c.case_id.in_(list(ids)))
        .order_by(case_deadlines.c.case_id, case_deadlines.c.started_at, case_deadlines.c.kind)
    )
    result: dict[str, list[Deadline]] = {case_id: [] for case_id in ids}
    for row in rows:
        result[row.case_id].append(codec.deadline_from_row(row._mapping))
    return result


async def load_state(conn: AsyncConnection, case_id: str) -> CaseState | None:
    row = (await conn.execute(select(cases).where(cases.c.id == case_id))).first()
    if row is None:
        return None
    deadlines = (await load_deadlines(conn, [case_id]))[case_id]
    return codec.state_from_row(row._mapping, deadlines)


@dataclass(frozen=True)
class CaseFilter:
    statuses: tuple[CaseStatus, ...] = ()
    category: str | None = None
    channel: str | None = None
    overdue: bool | None = None
    registered_from: date | None = None
    registered_to: date | None = None  # inclusive


@dataclass(frozen=True)
class CasePage:
    records: list[CaseRecord]
    has_next_page: bool
    total_count: int


def encode_cursor(record: CaseRecord) -> str:
    raw = f"{record.registered_at.isoformat()}|{record.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, case_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), case_id
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_input("the cursor is not one this API returned", "after") from error


def overdue_condition(now: datetime) -> Any:
    body_kinds = [k.value for k, limit in LIMITS.items() if limit.bound is Bound.BODY]
    body_kinds.append(DeadlineKind.ASSIGNMENT.value)
    return and_(
        cases.c.status.not_in([s.value for s in TERMINAL]),
        exists().where(
            case_deadlines.c.case_id == cases.c.id,
            case_deadlines.c.kind.in_(body_kinds),
            case_deadlines.c.met_at.is_(None),
            case_deadlines.c.due <= now,
        ),
    )


def _filter_conditions(filter_: CaseFilter, now: datetime) -> list[Any]:
    conditions: list[Any] = []
    if filter_.statuses:
        conditions.append(cases.c.status.in_([s.value for s in filter_.statuses]))
    if filter_.category is not None:
        conditions.append(cases.c.category == filter_.category)
    if filter_.channel is not None:
        conditions.append(cases.c.channel == filter_.channel)
    if filter_.registered_from is not None:
        conditions.append(cases.c.registered_at >= start_of_day(filter_.registered_from))
    if filter_.registered_to is not None:
        conditions.append(cases.c.registered_at < end_of_day(filter_.registered_to))
    if filter_.overdue is not None:
        overdue = overdue_condition(now)
        conditions.append(overdue if filter_.overdue else ~overdue)
    return conditions


def start_of_day(day: date) -> datetime:
    return end_of_day(day - timedelta(days=1))


async def list_cases(
    conn: AsyncConnection,
    filter_: CaseFilter,
    *,
    first: int,
    after: str | None,
    now: datetime,
) -> CasePage:
    """Newest first, keyset-paginated on (registered_at, id)."""
    conditions = _filter_conditions(filter_, now)
    total = (
        await conn.execute(select(func.count()).select_from(cases).where(*conditions))
    ).scalar_one()
    page_conditions = list(conditions)
    if after is not None:
        at, case_id = decode_cursor(after)
        page_conditions.append(tuple_(cases.c.registered_at, cases.c.id) < tuple_(at, case_id))
    rows = await conn.execute(
        _case_select()
        .where(*page_conditions)
        .order_by(cases.c.registered_at.desc(), cases.c.id.desc())
        .limit(first + 1)
    )
    records = [_record(row) for row in rows]
    return CasePage(records[:first], len(records) > first, total)


async def verify_log(
    conn: AsyncConnection, calendar: HolidayCalendar, *, batch: int = 2000
) -> tuple[int, list[str]]:
    """Replay every case's event log and compare it with the stored state.

    Returns the number of cases checked and the ids whose log does not rebuild their row.
    """
    checked = 0
    mismatched: list[str] = []
    last_id = ""
    while True:
        rows = (
            await conn.execute(
                select(cases).where(cases.c.id > last_id).order_by(cases.c.id).limit(batch)
            )
        ).all()
        if not rows:
            return checked, mismatched
        ids = [row.id for row in rows]
        events = await load_events(conn, ids)
        deadlines = await load_deadlines(conn, ids)
        for row in rows:
            stored = codec.state_from_row(row._mapping, deadlines[row.id])
            try:
                rebuilt = replay(events[row.id], calendar)
            except (ValueError, DomainError):
                mismatched.append(row.id)
                continue
            if rebuilt != stored:
                mismatched.append(row.id)
        checked += len(rows)
        last_id = ids[-1]

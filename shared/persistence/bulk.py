"""Bulk loading: planned cases written with COPY instead of one transaction per act.

For benchmarks and large demo data. Every planned case takes the steps ``write_planned``
(shared.seed) takes through ``CaseWork`` — validation, the pure lifecycle engine, the person
and matter keys, repeat detection, the refusal of a matter that reached three-tier finality,
the per-year id sequence; a petition on a final matter is registered and at once not accepted
— so the rows are the ones the normal path writes (a test compares
them). Only the writing differs: one transaction into an empty node, COPY in batches.
A plan that uses one idempotency key twice is refused (ValueError) rather than replayed.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, cast

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import IDEMPOTENCY_KEY, CaseWork, FixedClock, PetitionInput, _request_hash
from shared.deadlines import DeadlineKind, local_date
from shared.errors import DomainError
from shared.holidays import HolidayCalendar
from shared.lifecycle import Action, CaseState, Command, Deadline, Event, apply, execute
from shared.matters import MatterEntry, judge_intake
from shared.persistence import codec
from shared.persistence.migrate import schema_for
from shared.persistence.repository import NodeDatabase
from shared.privacy import IdCipher
from shared.seed import PlannedCase
from shared.validation import person_key

CASE_COLUMNS = (
    "id",
    "owner_code",
    "issue_locality_code",
    "channel",
    "category",
    "summary",
    "person_count",
    "status",
    "registered_at",
    "last_at",
    "version",
    "received_from",
    "routed_to",
    "outcome",
    "rating",
    "review_outcome",
    "handling_extended",
    "notified_on_spot",
    "counselled",
    "final",
    "skip_level",
    "repeat_of",
    "matter_key",
    "idempotency_key",
    "request_hash",
    "refusal_code",
)
PETITIONER_COLUMNS = ("case_id", "name", "id_number", "phone", "address", "person_key")
EVENT_COLUMNS = ("case_id", "seq", "at", "actor", "action", "from_status", "to_status", "payload")
ANALYZED = 500  # cases from which a load analyzes its tables (below, any plan is fast)
DEADLINE_COLUMNS = ("case_id", "kind", "started_at", "due", "met_at", "extra_days")


@dataclass(frozen=True)
class Lived:
    """One planned case as the engine leaves it, before it has an id."""

    petition: PetitionInput  # validated, as CaseWork stores it
    idempotency_key: str
    skip_level: bool
    request_hash: str
    person_key: str | None
    matter_key: str | None
    state: CaseState  # after the last act done by "now"
    events: tuple[Event, ...]
    deadlines: tuple[Deadline, ...]  # every deadline row written (later upserts folded in)
    refusal_code: str | None = None


@dataclass
class Rows:
    """Rows of a node's case tables, in COPY column order; ``more`` holds rows of the node's
    other tables (links, messages, records of other nodes' cases), in COPY column order too."""

    cases: list[tuple[Any, ...]] = field(default_factory=list)
    petitioners: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    deadlines: list[tuple[Any, ...]] = field(default_factory=list)
    more: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, table: str, columns: tuple[str, ...], row: tuple[Any, ...]) -> None:
        self.more.setdefault((table, columns), []).append(row)


class CrossNode(Protocol):
    """What a case leaves at other nodes and at its owner through messages (reviews held by
    the reviewer, supervision orders issued above): called for every case a node takes."""

    def on_case(self, owner: str, case_id: str, case: Lived, rows: Rows) -> None: ...


def _engine_only_work(code: str, calendar: HolidayCalendar, secret: bytes) -> CaseWork:
    # Only CaseWork's pure steps are used (validation, keys, commands); it never connects.
    db = NodeDatabase(cast(AsyncEngine, None), code)
    return CaseWork(db, calendar=calendar, clock=FixedClock(datetime.min), person_key_secret=secret)


def _live_one(work: CaseWork, planned: PlannedCase, now: datetime, actor: str) -> Lived | None:
    clock = cast(FixedClock, work.clock)
    clock.at = planned.registered_at
    try:
        petition = work._validated(planned.petition)
        if not IDEMPOTENCY_KEY.match(planned.idempotency_key):
            return None
        command = Command(
            Action.REGISTER,
            petition.received_at or clock.now(),
            actor,
            channel=petition.channel,
            received_from=petition.received_from,
        )
        state, event = execute(None, command, work.calendar)
    except DomainError:
        return None
    key = (
        person_key(
            petition.petitioner_id_number, work.person_key_secret, foreign=petition.foreign_id
        )
        if petition.petitioner_id_number
        else None
    )
    events = [event]
    deadlines: dict[DeadlineKind, Deadline] = dict(state.deadlines)
    for act in planned.acts:
        if act.at > now:
            break
        clock.at = act.at
        try:
            command = work._checked_command(
                work.command(act.action, act.actor or actor, **act.fields)
            )
            after, event = execute(state, command, work.calendar)
        except DomainError:
            break
        for kind, deadline in after.deadlines.items():
            if state.deadlines.get(kind) != deadline:
                deadlines[kind] = deadline
        state = after
        events.append(event)
    return Lived(
        petition=petition,
        idempotency_key=planned.idempotency_key,
        skip_level=planned.skip_level,
        request_hash=_request_hash(petition),
        person_key=key,
        matter_key=work._matter_key(key, petition) if key else None,
        state=state,
        events=tuple(events),
        deadlines=tuple(deadlines.values()),
    )


class RowBuilder:
    """Turns lived cases into rows, batch after batch, in registration order: the part that
    depends on the cases before (ids, repeats, finality of a matter)."""

    def __init__(
        self,
        code: str,
        calendar: HolidayCalendar,
        cross: CrossNode | None = None,
        cipher: IdCipher | None = None,
    ) -> None:
        self.code = code
        self.cipher = cipher or IdCipher.from_env()  # ID numbers are written sealed (ADR 0018)
        self.calendar = calendar
        self.cross = cross
        self.counters: dict[int, int] = {}  # year -> last sequence
        self._earliest: dict[str, tuple[datetime, str]] = {}  # matter key -> first registration
        self._final_matters: dict[str, MatterEntry] = {}  # matter key -> its final case
        self._keys: set[str] = set()

    def add(self, lived: Iterable[Lived | None]) -> Rows:
        rows = Rows()
        for case in lived:
            if case is None:
                continue
            if case.idempotency_key in self._keys:
                raise ValueError(f"idempotency key {case.idempotency_key} is planned twice")
            matter = case.matter_key
            if matter is not None and matter in self._final_matters:
                case = self._refused(case, self._final_matters[matter])
            self._keys.add(case.idempotency_key)
            self._add_case(rows, case)
        return rows

    def _refused(self, case: Lived, final: MatterEntry) -> Lived:
        """Registered and not accepted again (Art. 36), as ``CaseWork.register_in`` does it."""
        registration = case.events[0]
        state = apply(None, registration, self.calendar)
        finding = judge_intake(
            self.code,
            channel=case.petition.channel,
            issue_locality=case.petition.issue_locality_code,
            at=state.registered_at,
            entries=[final],
        )
        assert finding.refusal is not None
        assert finding.reason is not None
        command = Command(
            Action.NOT_ACCEPT, state.last_at, registration.command.actor, reason=finding.reason
        )
        refused, event = execute(state, command, self.calendar)
        return replace(
            case,
            state=refused,
            events=(registration, event),
            deadlines=tuple(refused.deadlines.values()),
            refusal_code=finding.refusal.value,
        )

    def _add_case(self, rows: Rows, case: Lived) -> None:
        at = case.state.registered_at
        year = local_date(at).year
        seq = self.counters[year] = self.counters.get(year, 0) + 1
        case_id = f"{self.code}-{year}-{seq:06d}"
        matter = case.matter_key
        repeat_of = None
        if matter is not None:
            first = self._earliest.get(matter)
            if first is not None:
                repeat_of = first[1]
            if first is None or at < first[0]:
                self._earliest[matter] = (at, case_id)
            if case.state.final and matter not in self._final_matters:
                self._final_matters[matter] = MatterEntry(
                    case_id, self.code, case.state.status, True, at
                )
        rows.cases.append(_case_row(self.code, case_id, case, repeat_of))
        p = case.petition
        rows.petitioners.append(
            (
                case_id,
                p.petitioner_name,
                self.cipher.seal(p.petitioner_id_number),
                p.petitioner_phone,
                p.petitioner_address,
                case.person_key,
            )
        )
        for event in case.events:
            row = codec.event_row(case_id, event)
            row["payload"] = json.dumps(row["payload"])
            rows.events.append(tuple(row[c] for c in EVENT_COLUMNS))
        for deadline in case.deadlines:
            row = codec.deadline_row(case_id, deadline)
            rows.deadlines.append(tuple(row[c] for c in DEADLINE_COLUMNS))
        if self.cross is not None:
            self.cross.on_case(self.code, case_id, case, rows)


def _case_row(code: str, case_id: str, case: Lived, repeat_of: str | None) -> tuple[Any, ...]:
    p = case.petition
    row: dict[str, Any] = {
        "id": case_id,
        "owner_code": code,
        "issue_locality_code": p.issue_locality_code,
        "channel": p.channel.value,
        "category": p.category,
        "summary": p.summary,
        "person_count": p.person_count,
        "registered_at": case.state.registered_at,
        "skip_level": case.skip_level,
        "repeat_of": repeat_of,
        "matter_key": case.matter_key,
        "idempotency_key": case.idempotency_key,
        "request_hash": case.request_hash,
        "refusal_code": case.refusal_code,
        **codec.state_columns(case.state),
    }
    return tuple(row[c] for c in CASE_COLUMNS)


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cycle collector off: a load allocates millions of objects and makes no cycles, and
    each full collection would walk all of them (it doubles the time of a large load)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def copy_rows(driver: asyncpg.Connection, schema: str, rows: Rows) -> None:
    tables: list[tuple[str, Sequence[str], list[tuple[Any, ...]]]] = [
        ("cases", CASE_COLUMNS, rows.cases),
        ("petitioners", PETITIONER_COLUMNS, rows.petitioners),
        ("case_events", EVENT_COLUMNS, rows.events),
        ("case_deadlines", DEADLINE_COLUMNS, rows.deadlines),
    ]
    tables += [(table, columns, records) for (table, columns), records in rows.more.items()]
    for table, columns, records in tables:
        if records:
            await driver.copy_records_to_table(
                table, records=records, columns=list(columns), schema_name=schema
            )


async def load_planned(
    engine: AsyncEngine,
    code: str,
    planned: Sequence[PlannedCase],
    *,
    now: datetime,
    calendar: HolidayCalendar,
    person_key_secret: bytes,
    actor: str = "seed",
    batch: int = 10_000,
    cross: CrossNode | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Write planned cases into the empty node ``code`` as ``write_planned`` would (acts after
    ``now`` left undone), in one transaction as the node's role, and analyze the tables;
    returns the number of cases written. ``cross`` adds the records a case leaves at other
    nodes; ``on_batch`` hears how many planned cases each batch took.

    Batches overlap: while the server ingests one batch (COPY), a thread runs the engine over
    the next.
    """
    schema = schema_for(code)
    work = _engine_only_work(code, calendar, person_key_secret)
    builder = RowBuilder(code, calendar, cross)

    def part_of(start: int) -> Sequence[PlannedCase]:
        return planned[start : start + batch]

    def rows_of(part: Sequence[PlannedCase]) -> Rows:
        with paused_gc():
            return builder.add(_live_one(work, p, now, actor) for p in part)

    written = 0
    async with NodeDatabase(engine, code).begin() as conn:
        # The first statement opens the transaction the COPYs join (as the node's role).
        count = (await conn.execute(text(f'SELECT count(*) FROM "{schema}".cases'))).scalar_one()
        if count:
            raise ValueError(f"node {code} already has {count} cases; bulk loading needs none")
        raw = await conn.get_raw_connection()
        driver = cast(asyncpg.Connection, raw.driver_connection)
        # Demo and bench data: a crash loses the load, never half of it, so the commit need
        # not wait for the disk (thousands of small nodes commit one after another).
        await driver.execute("SET LOCAL synchronous_commit TO off")
        copying: asyncio.Task[None] | None = None
        try:
            for start in range(0, len(planned), batch):
                rows = await asyncio.to_thread(rows_of, part_of(start))
                if copying is not None:
                    await copying
                copying = asyncio.create_task(copy_rows(driver, schema, rows))
                written += len(rows.cases)
                if on_batch is not None:
                    on_batch(len(part_of(start)))
            if copying is not None:
                await copying
        finally:
            if copying is not None and not copying.done():
                copying.cancel()
                with suppress(asyncio.CancelledError):
                    await copying
        counters = sorted(builder.counters.items())
        if counters:
            await driver.copy_records_to_table(
                "case_counters", records=counters, columns=["year", "last_seq"], schema_name=schema
            )
        # Statistics now, not whenever autovacuum comes by (if it runs at all): until then the
        # planner guesses, e.g. 266,000 events for a thousand cases that have 4,800.
        if written >= ANALYZED:
            for table in ("cases", "petitioners", "case_events", "case_deadlines"):
                await driver.execute(f'ANALYZE "{schema}".{table}')
    return written

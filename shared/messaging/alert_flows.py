"""Alerts raised at the owning node and reported to every ancestor (docs/adr/0016).

A node evaluates the pure rules of ``shared.alerts`` over its own data and keeps the result in
its ``alerts`` table, idempotently: an alert's key names what it is about, so evaluating again
finds the same row; an alert whose condition cleared is resolved (the events that happened,
collective visits, repeats and final reviews, stay until a person resolves them).

- *Event-driven*, in the transaction of the write that can fire it: a registration (collective
  visit, repeat matter) and a final review requested.
- *Periodic* for the kinds time fires (deadlines approaching or overdue, surges): the tier
  service runs an ``AlertsEvaluator`` beside the relay, every ``XINFANG_ALERTS_INTERVAL``
  seconds (default 300) and shortly after a write.

Each change of an alert (raised, risen in severity, acknowledged, resolved) is sent to every
ancestor as an ``ALERT`` message carrying the whole row and its version, in the same
transaction; the ancestor keeps the newest version (inbox: applied once). So a city or the
province answers its whole subtree's alert list and counts from its own table.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.alerts import (
    Alert,
    AlertKind,
    AlertSettings,
    AlertState,
    CaseFacts,
    DueItem,
    case_alerts,
    due_item_alerts,
    reconcile,
    surge_alerts,
)
from shared.casework import CaseWork
from shared.deadlines import LIMITS, Bound, DeadlineKind, local_date
from shared.divisions import ancestors, is_in_subtree
from shared.errors import DomainError, ErrorCode
from shared.lifecycle import TERMINAL, Action
from shared.messaging import inbox, outbox
from shared.messaging.flows import Applier, send
from shared.messaging.messages import Message, MessageKind
from shared.messaging.workers import woken
from shared.persistence import alert_records as records
from shared.persistence.alert_records import AlertRecord
from shared.persistence.daily_figures import local_day
from shared.persistence.repository import start_of_day
from shared.persistence.tables import case_deadlines, case_events, cases, supervision_received

log = logging.getLogger("xinfang.alerts")

DEFAULT_INTERVAL = 300.0  # seconds between evaluations of every node
DEFAULT_DEBOUNCE = 1.0  # seconds a dirty node waits, so a burst of writes is evaluated once
# Events that happened: resolved by a person, never by the rules going quiet.
STICKY = (AlertKind.COLLECTIVE_VISIT, AlertKind.REPEAT_PETITIONER, AlertKind.SECOND_REVIEW)
TIMED = (AlertKind.DEADLINE_APPROACHING, AlertKind.OVERDUE, AlertKind.SURGE)
SYSTEM = "system"  # who resolved an alert whose condition cleared
# The obligations of the body whose deadlines warn (the petitioner's own windows do not).
BODY_KINDS = tuple(
    [k.value for k, limit in LIMITS.items() if limit.bound is Bound.BODY]
    + [DeadlineKind.ASSIGNMENT.value]
)


def interval_from_env(environ: Mapping[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    raw = env.get("XINFANG_ALERTS_INTERVAL", "")
    try:
        value = float(raw) if raw else DEFAULT_INTERVAL
    except ValueError as error:
        raise ValueError(f"XINFANG_ALERTS_INTERVAL is seconds, not {raw!r}") from error
    if value <= 0:
        raise ValueError("XINFANG_ALERTS_INTERVAL is a positive number of seconds")
    return value


# -- storing what the rules say -----------------------------------------------------------------


async def store(
    work: CaseWork,
    conn: AsyncConnection,
    fresh: Sequence[Alert],
    kinds: Sequence[AlertKind],
    now: datetime,
    *,
    resolve_cleared: bool,
) -> list[AlertRecord]:
    """Store what the rules say about ``kinds`` now: new alerts opened, risen severities
    raised, and (``resolve_cleared``) alerts no longer firing resolved. Every change goes up
    to the ancestors; returns the changed rows."""
    wanted = set(kinds)
    fresh = [a for a in fresh if a.kind in wanted]
    stored = await records.own_alerts(conn, work.code, kinds, lock=True)
    changed: list[AlertRecord] = []
    for alert in fresh:
        existing = stored.get(alert.key)
        if existing is None:
            record = AlertRecord.of(alert, now)
            if await records.insert_new(conn, record):
                await records.notify(conn, work.code, record)
                changed.append(record)
        elif (
            existing.state is not AlertState.RESOLVED
            and alert.severity.rank > existing.severity.rank
        ):
            record = replace(
                existing,
                severity=alert.severity,
                detail=alert.summary,
                version=existing.version + 1,
                updated_at=now,
            )
            await records.save(conn, record)
            await records.notify(conn, work.code, record)
            changed.append(record)
    if resolve_cleared:
        states = {key: record.state for key, record in stored.items()}
        _, cleared = reconcile(states, fresh, sticky=STICKY)
        for key in cleared:
            record = replace(
                stored[key],
                state=AlertState.RESOLVED,
                resolved_by=SYSTEM,
                resolved_at=now,
                version=stored[key].version + 1,
                updated_at=now,
            )
            await records.save(conn, record)
            changed.append(record)
    for record in changed:
        await report_up(work, conn, record)
    return changed


async def report_up(work: CaseWork, conn: AsyncConnection, record: AlertRecord) -> None:
    """One ALERT message to every ancestor, in this transaction."""
    for ancestor in ancestors(work.code):
        await send(work, conn, ancestor, MessageKind.ALERT, record.to_payload())


# -- event-driven: what one case says -----------------------------------------------------------


async def case_facts(conn: AsyncConnection, case_id: str) -> CaseFacts | None:
    row = (await conn.execute(select(cases).where(cases.c.id == case_id))).first()
    if row is None:
        return None
    final_review = (
        await conn.execute(
            select(func.max(case_events.c.at)).where(
                case_events.c.case_id == case_id,
                case_events.c.action == Action.REQUEST_FINAL_REVIEW.value,
            )
        )
    ).scalar_one()
    return CaseFacts(
        id=row.id,
        node=row.owner_code,
        category=row.category,
        issue_locality=row.issue_locality_code,
        channel=row.channel,
        person_count=row.person_count,
        registered_at=row.registered_at,
        repeat_of=row.repeat_of,
        final_review_requested_at=final_review,
    )


async def case_changed(
    work: CaseWork, conn: AsyncConnection, case_id: str, settings: AlertSettings | None = None
) -> list[AlertRecord]:
    """A case was registered or reached its final review: its event alerts, in this
    transaction."""
    facts = await case_facts(conn, case_id)
    if facts is None or facts.node != work.code:
        return []
    fresh = case_alerts(facts, settings or AlertSettings())
    if not fresh:
        return []
    return await store(work, conn, fresh, STICKY, work.clock.now(), resolve_cleared=False)


def reacts_to(action: Action) -> bool:
    """Whether an act on a case can fire one of the case's event alerts."""
    return action is Action.REQUEST_FINAL_REVIEW


# -- periodic: what time says -------------------------------------------------------------------


async def due_items(conn: AsyncConnection) -> list[DueItem]:
    """This node's open obligations: its body's deadlines on cases still open here, and the
    replies it owes to supervision orders received."""
    deadlines = await conn.execute(
        select(
            case_deadlines.c.case_id, case_deadlines.c.kind, case_deadlines.c.due, cases.c.category
        )
        .join(cases, cases.c.id == case_deadlines.c.case_id)
        .where(
            case_deadlines.c.met_at.is_(None),
            case_deadlines.c.kind.in_(BODY_KINDS),
            cases.c.status.not_in([s.value for s in TERMINAL]),
        )
    )
    items = [
        DueItem(kind=kind, subject=case_id, due=due, case_id=case_id, category=category)
        for case_id, kind, due, category in deadlines
    ]
    orders = await conn.execute(
        select(
            supervision_received.c.id, supervision_received.c.case_id, supervision_received.c.due
        ).where(supervision_received.c.replied_at.is_(None))
    )
    items += [
        DueItem(kind="SUPERVISION_REPLY", subject=order, due=due, case_id=case_id)
        for order, case_id, due in orders
    ]
    return items


async def daily_series(
    conn: AsyncConnection, column: str, now: datetime, window_days: int
) -> dict[str, list[int]]:
    """New petitions registered here per China day by ``column`` ("category" or
    "issue_locality_code"): the window's days oldest first, then today's last."""
    today = local_date(now)
    first = today - timedelta(days=window_days)
    day = local_day(cases.c.registered_at)
    value = cases.c[column]
    rows = await conn.execute(
        select(value, day, func.count())
        .where(and_(cases.c.registered_at >= start_of_day(first), cases.c.registered_at <= now))
        .group_by(value, day)
    )
    series: dict[str, list[int]] = {}
    for found, on, n in rows:
        index = (on - first).days
        if 0 <= index <= window_days:
            series.setdefault(str(found), [0] * (window_days + 1))[index] = int(n)
    return series


async def timed_alerts(
    work: CaseWork, conn: AsyncConnection, now: datetime, settings: AlertSettings
) -> list[Alert]:
    alerts = due_item_alerts(work.code, await due_items(conn), now, settings)
    window = settings.surge.window_days
    today = local_date(now)
    for dimension, column in (("category", "category"), ("locality", "issue_locality_code")):
        series = await daily_series(conn, column, now, window)
        alerts += surge_alerts(work.code, dimension, series, today, now, settings)
    return alerts


async def evaluate_in(
    work: CaseWork, conn: AsyncConnection, now: datetime, settings: AlertSettings | None = None
) -> list[AlertRecord]:
    """The time-fired kinds at this node now, stored in ``conn``'s transaction."""
    chosen = settings or AlertSettings()
    fresh = await timed_alerts(work, conn, now, chosen)
    return await store(work, conn, fresh, TIMED, now, resolve_cleared=True)


async def evaluate(work: CaseWork, settings: AlertSettings | None = None) -> list[AlertRecord]:
    async with work.db.begin() as conn:
        return await evaluate_in(work, conn, work.clock.now(), settings)


# -- a person's acts ----------------------------------------------------------------------------


async def transition(
    work: CaseWork,
    alert: str,
    to: AlertState,
    actor: str,
    *,
    expected_version: int | None = None,
) -> AlertRecord:
    """Acknowledge or resolve one of this node's own alerts, in one transaction with its
    ALERT messages. DomainError: NOT_FOUND, WRONG_NODE, CONFLICT or INVALID_TRANSITION."""
    async with work.db.begin() as conn:
        stored = await records.load(conn, alert, lock=True)
        if stored is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, f"node {work.code} has no alert {alert}", field="id"
            )
        if stored.origin != work.code:
            raise DomainError(
                ErrorCode.WRONG_NODE,
                f"alert {alert} was raised at node {stored.origin}: only its handlers act on it",
                field="id",
            )
        if expected_version is not None and expected_version != stored.version:
            raise DomainError(
                ErrorCode.CONFLICT,
                f"alert {alert} is at version {stored.version}, not {expected_version}",
                field="expectedVersion",
            )
        allowed = {
            AlertState.ACKNOWLEDGED: (AlertState.OPEN,),
            AlertState.RESOLVED: (AlertState.OPEN, AlertState.ACKNOWLEDGED),
        }[to]
        if stored.state not in allowed:
            raise DomainError(
                ErrorCode.INVALID_TRANSITION,
                f"alert {alert} is {stored.state.value}: it cannot become {to.value}",
                field="id",
            )
        now = work.clock.now()
        if to is AlertState.ACKNOWLEDGED:
            record = replace(stored, state=to, acknowledged_by=actor, acknowledged_at=now)
        else:
            record = replace(stored, state=to, resolved_by=actor, resolved_at=now)
        record = replace(record, version=stored.version + 1, updated_at=now)
        await records.save(conn, record)
        await report_up(work, conn, record)
    work.committed()
    return record


# -- the ALERT message --------------------------------------------------------------------------


async def _alert(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    if message.sender == work.code or not is_in_subtree(message.sender, work.code):
        raise DomainError(
            ErrorCode.WRONG_NODE, f"node {message.sender} is not below node {work.code}"
        )
    try:
        record = AlertRecord.from_payload(message.payload)
    except (KeyError, TypeError, ValueError) as error:
        raise DomainError(ErrorCode.BAD_USER_INPUT, f"a malformed alert: {error}") from error
    if record.origin != message.sender:
        raise DomainError(
            ErrorCode.WRONG_NODE, f"node {message.sender} reports only its own alerts"
        )
    await records.store_copy(conn, work.code, record)


ALERT_APPLIERS: dict[MessageKind, Applier] = {MessageKind.ALERT: _alert}


# -- the evaluator beside the relay -------------------------------------------------------------


class AlertsEvaluator:
    """Evaluates the hosted nodes' time-fired alerts: a dirty node after ``debounce`` seconds,
    every node every ``interval`` seconds. ``sent`` is called with a node whose ALERT messages
    are in its outbox (the relay's wake-up)."""

    def __init__(
        self,
        works: Mapping[str, CaseWork],
        *,
        sent: Callable[[str], None],
        interval: float = DEFAULT_INTERVAL,
        debounce: float = DEFAULT_DEBOUNCE,
        concurrency: int = 4,
        settings: AlertSettings | None = None,
    ) -> None:
        self.works = works
        self.sent = sent
        self.interval = interval
        self.debounce = debounce
        self.settings = settings or AlertSettings()
        self._dirty: set[str] = set()
        self._wakeup = asyncio.Event()
        self._limit = asyncio.Semaphore(concurrency)
        self.evaluated = 0
        self.changed = 0

    def dirty(self, code: str) -> None:
        """Something was written at ``code``: evaluate it again soon."""
        if code in self.works:
            self._dirty.add(code)
            self._wakeup.set()

    async def run(self) -> None:
        self._dirty.update(self.works)  # time went on while the service was down
        self._wakeup.set()
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + self.interval
        while True:
            timeout = max(0.0, next_sweep - loop.time())
            if await woken(self._wakeup, timeout):
                await asyncio.sleep(self.debounce)
            else:
                self._dirty.update(self.works)
                next_sweep = loop.time() + self.interval
            self._wakeup.clear()
            codes, self._dirty = self._dirty, set()
            await asyncio.gather(*(self._evaluate_guarded(code) for code in sorted(codes)))

    async def _evaluate_guarded(self, code: str) -> None:
        async with self._limit:
            try:
                changed = await evaluate(self.works[code], self.settings)
            except Exception:  # the evaluator must outlive a bad database moment
                log.exception("alert evaluation failed for node %s", code)
                return
        self.evaluated += 1
        if changed:
            self.changed += len(changed)
            self.sent(code)


async def converge(
    works: Mapping[str, CaseWork], *, concurrency: int = 4, settings: AlertSettings | None = None
) -> int:
    """Evaluate every node of ``works`` (time-fired kinds, and the event kinds of every case
    held) and apply each ALERT message at its recipient at once, as the relay would deliver
    it (inbox record, applied once, outbox marked delivered): seeded nodes start with their
    alerts everywhere up the tree. Returns the alerts raised."""
    limit = asyncio.Semaphore(concurrency)
    raised = 0
    chosen = settings or AlertSettings()

    async def one(code: str) -> None:
        nonlocal raised
        work = works[code]
        async with limit:
            async with work.db.begin() as conn:
                ids = (await conn.execute(select(cases.c.id))).scalars().all()
                for case_id in ids:
                    raised += len(await case_changed(work, conn, case_id, chosen))
                raised += len(await evaluate_in(work, conn, work.clock.now(), chosen))
                messages = await outbox.claim_due(conn, code, work.clock.now(), 1_000_000)
            by_recipient: dict[str, list[Message]] = {}
            for message in messages:
                if message.kind is MessageKind.ALERT and message.recipient in works:
                    by_recipient.setdefault(message.recipient, []).append(message)
            for recipient_code, batch in by_recipient.items():
                recipient = works[recipient_code]
                now = recipient.clock.now()
                async with recipient.db.begin() as conn:
                    for message in batch:
                        if await inbox.record(conn, message, now, inbox.APPLIED, None):
                            await _alert(recipient, conn, message)
                async with work.db.begin() as conn:
                    for message in batch:
                        await outbox.mark_delivered(conn, message.id, now, "applied at seeding")

    await asyncio.gather(*(one(code) for code in works))
    return raised

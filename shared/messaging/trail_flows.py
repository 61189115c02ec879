"""The escalation trail's messages (docs/adr/0014).

Every node notes each trail-relevant step of its cases to its province (``TRAIL_NOTICE``,
written to the outbox in the act's own transaction: at least once, applied once, a step
twice is one step by its key); the province node writes its own steps in the act's
transaction. The messages that create a case elsewhere carry the chain's root
(``trailRoot``: transfer, assignment, skip-level visit sent down), so the recipient's steps
name the same chain.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork, Registration
from shared.errors import DomainError, ErrorCode
from shared.lifecycle import CaseState, Event, apply
from shared.matters import province_of
from shared.messaging.flows import Applier, send
from shared.messaging.messages import Message, MessageKind
from shared.persistence import repository, trail_records
from shared.trail import ACT_STEPS, Step, act_step, met_deadline


async def note(work: CaseWork, conn: AsyncConnection, step: Step) -> None:
    """Tell the province's trail index of a step, in the caller's transaction."""
    province = province_of(work.code)
    if province == work.code:
        await trail_records.record_step(conn, step, message_id=None, now=work.clock.now())
        return
    await send(work, conn, province, MessageKind.TRAIL_NOTICE, step.to_json())


async def registered(work: CaseWork, conn: AsyncConnection, registration: Registration) -> None:
    """Where the petition entered (or arrived), and its refusal at intake by a rule: the
    registration's events replayed (it wrote one, or two when refused at once)."""
    case_id = registration.case_id
    root = registration.trail_root or case_id
    events = (await repository.load_events(conn, [case_id]))[case_id]
    before: CaseState | None = None
    for event in events:
        after = apply(before, event, work.calendar)
        step = act_step(work.code, case_id, root, event, met_deadline(before, after))
        if step is not None:
            if event.seq > 1 and registration.finding.refusal is not None:
                step = replace(step, note=registration.finding.refusal.value)
            await note(work, conn, step)
        before = after


async def changed(
    work: CaseWork,
    conn: AsyncConnection,
    case_id: str,
    before: CaseState,
    after: CaseState,
    event: Event,
    *,
    note_text: str | None = None,
) -> None:
    """A reaction to every act: the acts that are steps are noted."""
    if event.command.action not in ACT_STEPS:
        return
    root = await trail_records.root_of(conn, case_id)
    step = act_step(work.code, case_id, root, event, met_deadline(before, after), note=note_text)
    if step is not None:
        await note(work, conn, step)


async def note_last_act(
    work: CaseWork, conn: AsyncConnection, case_id: str, note_text: str | None = None
) -> None:
    """The case's last act as a step: for acts written without the reaction (a refusal when
    the index's late answer arrives)."""
    events = (await repository.load_events(conn, [case_id]))[case_id]
    before: CaseState | None = None
    for event in events[:-1]:
        before = apply(before, event, work.calendar)
    after = apply(before, events[-1], work.calendar)
    await changed(work, conn, case_id, before, after, events[-1], note_text=note_text)  # type: ignore[arg-type]


# -- at the province: the index --------------------------------------------------------------


async def _notice(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    if province_of(work.code) != work.code:
        raise DomainError(ErrorCode.WRONG_NODE, "only a province node keeps the trail index")
    step = Step.from_json(message.payload)
    if step.node != message.sender:
        raise DomainError(ErrorCode.WRONG_NODE, "a node notes only the steps it took")
    if province_of(step.case_id.split("-", 1)[0]) != work.code:
        raise DomainError(ErrorCode.WRONG_NODE, f"case {step.case_id} is not of this province")
    await trail_records.record_step(conn, step, message_id=message.id, now=work.clock.now())


TRAIL_APPLIERS: dict[MessageKind, Applier] = {MessageKind.TRAIL_NOTICE: _notice}

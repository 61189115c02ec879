"""Which flow applies which message kind at the receiving node."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork, Registration
from shared.errors import DomainError, ErrorCode
from shared.lifecycle import CaseState, Event
from shared.messaging import alert_flows, figures_flows, flows, matter_flows, trail_flows
from shared.messaging.flows import ROUTING_APPLIERS, Applier
from shared.messaging.messages import Message, MessageKind
from shared.messaging.review_flows import REVIEW_APPLIERS
from shared.messaging.supervision_flows import SUPERVISION_APPLIERS
from shared.messaging.trail_flows import TRAIL_APPLIERS
from shared.roles.statistics_reports import STATISTICS_APPLIERS

APPLIERS: dict[MessageKind, Applier] = {
    **ROUTING_APPLIERS,
    **REVIEW_APPLIERS,
    **SUPERVISION_APPLIERS,
    **matter_flows.MATTER_APPLIERS,
    **STATISTICS_APPLIERS,
    **TRAIL_APPLIERS,
    **figures_flows.FIGURES_APPLIERS,
    **alert_flows.ALERT_APPLIERS,
}


async def react(
    work: CaseWork,
    conn: AsyncConnection,
    case_id: str,
    before: CaseState,
    after: CaseState,
    event: Event,
) -> None:
    """Everything an act sends to other nodes, in its transaction."""
    await trail_flows.changed(work, conn, case_id, before, after, event)
    await flows.react(work, conn, case_id, before, after, event)
    await matter_flows.changed(work, conn, case_id, before, after, event)
    if alert_flows.reacts_to(event.command.action):
        await alert_flows.case_changed(work, conn, case_id)


async def registered(work: CaseWork, conn: AsyncConnection, registration: Registration) -> None:
    """Everything a new case tells other nodes, in its transaction: its first steps to the
    trail index, then the matter index and the competent node of a skip-level visit, and the
    alerts it raises (a collective visit, a repeat matter) to every ancestor."""
    await trail_flows.registered(work, conn, registration)
    await matter_flows.registered(work, conn, registration)
    await alert_flows.case_changed(work, conn, registration.case_id)


async def apply_message(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    """Apply ``message`` at this node; raises DomainError when it cannot be applied."""
    if message.recipient != work.code:
        raise DomainError(ErrorCode.WRONG_NODE, f"message for {message.recipient}, not {work.code}")
    await APPLIERS[message.kind](work, conn, message)

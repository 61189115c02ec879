"""Which flow applies which message kind at the receiving node."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork
from shared.errors import DomainError, ErrorCode
from shared.messaging.flows import ROUTING_APPLIERS, Applier
from shared.messaging.messages import Message, MessageKind
from shared.messaging.review_flows import REVIEW_APPLIERS
from shared.messaging.supervision_flows import SUPERVISION_APPLIERS

APPLIERS: dict[MessageKind, Applier] = {
    **ROUTING_APPLIERS,
    **REVIEW_APPLIERS,
    **SUPERVISION_APPLIERS,
}


async def apply_message(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    """Apply ``message`` at this node; raises DomainError when it cannot be applied."""
    if message.recipient != work.code:
        raise DomainError(ErrorCode.WRONG_NODE, f"message for {message.recipient}, not {work.code}")
    await APPLIERS[message.kind](work, conn, message)

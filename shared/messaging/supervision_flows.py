"""Supervision orders across nodes: issued above, received and answered by the case's owner."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork, parse_case_id
from shared.deadlines import local_date
from shared.errors import DomainError, ErrorCode, bad_input
from shared.messaging import trail_flows
from shared.messaging.flows import Applier, send
from shared.messaging.messages import Message, MessageKind
from shared.persistence import repository
from shared.persistence import supervision_records as records
from shared.persistence.links import LinkKind, add_link
from shared.persistence.trail_records import root_of
from shared.supervision import (
    OrderStatus,
    check_flagged,
    check_issuer,
    default_levels,
    reply_due,
)
from shared.trail import order_issued, order_replied
from shared.validation import SUMMARY_MAX, ValidationFailed, validate_text


def _text(value: str, field: str) -> str:
    try:
        return validate_text(value, field=field, max_length=SUMMARY_MAX)
    except ValidationFailed as error:
        raise bad_input(error.message, error.field) from error


async def issue_order(
    work: CaseWork,
    case_id: str,
    *,
    severity: str,
    due: date | None,
    text: str,
    flagged: bool,
    actor: str,
    leader: str | None = None,
) -> str:
    owner, _, _ = parse_case_id(case_id)
    check_issuer(work.code, owner)
    level = default_levels().get(severity)
    if flagged:
        check_flagged(level, default_levels())
    text = _text(text, "text")
    now = work.clock.now()
    reply_by = reply_due(level, now, due, work.calendar)
    async with work.db.begin() as conn:
        order_id = await records.next_order_id(conn, work.code, local_date(now).year)
        await records.insert_order(
            conn,
            issued=True,
            id=order_id,
            case_id=case_id,
            case_node=owner,
            severity=level.code,
            flagged=flagged,
            text=text,
            issued_at=now,
            due=reply_by,
            status=OrderStatus.ISSUED.value,
            issued_by=actor,
            leader=leader,
        )
        await send(
            work,
            conn,
            owner,
            MessageKind.SUPERVISION_ORDER,
            {
                "orderId": order_id,
                "caseId": case_id,
                "severity": level.code,
                "flagged": flagged,
                "text": text,
                "issuedAt": now.isoformat(),
                "due": reply_by.isoformat(),
                "leader": leader,
            },
        )
        await trail_flows.note(
            work, conn, order_issued(work.code, order_id, case_id, now, level.code, flagged)
        )
    work.committed()
    return order_id


async def reply_to_order(work: CaseWork, order_id: str, text: str) -> None:
    text = _text(text, "text")
    now = work.clock.now()
    async with work.db.begin() as conn:
        order = await records.lock_order(conn, order_id, issued=False)
        if order is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, f"no supervision order {order_id} here", field="id"
            )
        if order.status is not OrderStatus.ISSUED:
            raise DomainError(ErrorCode.DUPLICATE, f"order {order_id} was already answered")
        await records.mark_replied(conn, order, issued=False, text=text, at=now)
        await send(
            work,
            conn,
            order.counterpart,
            MessageKind.SUPERVISION_REPLY,
            {"orderId": order_id, "text": text, "repliedAt": now.isoformat()},
        )
        root = await root_of(conn, order.case_id)
        await trail_flows.note(
            work,
            conn,
            order_replied(work.code, order_id, order.case_id, now, order.due, root),
        )
    work.committed()


async def _order_received(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    payload = message.payload
    case_id = str(payload["caseId"])
    if not (await repository.load_cases(conn, [case_id])):
        raise DomainError(ErrorCode.NOT_FOUND, f"no case {case_id} at node {work.code}")
    issued_at = datetime.fromisoformat(str(payload["issuedAt"]))
    await records.insert_order(
        conn,
        issued=False,
        id=str(payload["orderId"]),
        case_id=case_id,
        severity=str(payload["severity"]),
        flagged=bool(payload["flagged"]),
        text=str(payload["text"]),
        issued_at=issued_at,
        due=datetime.fromisoformat(str(payload["due"])),
        status=OrderStatus.ISSUED.value,
        issuer=message.sender,
        leader=payload.get("leader"),
    )
    await add_link(
        conn,
        case_id,
        LinkKind.SUPERVISED_BY,
        remote_node=message.sender,
        remote_id=str(payload["orderId"]),
        at=issued_at,
        message_id=message.id,
    )


async def _reply_received(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    payload = message.payload
    order = await records.lock_order(conn, str(payload["orderId"]), issued=True)
    if order is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no order {payload['orderId']} issued here")
    if order.status is OrderStatus.REPLIED:
        return
    await records.mark_replied(
        conn,
        order,
        issued=True,
        text=str(payload["text"]),
        at=datetime.fromisoformat(str(payload["repliedAt"])),
    )


SUPERVISION_APPLIERS: dict[MessageKind, Applier] = {
    MessageKind.SUPERVISION_ORDER: _order_received,
    MessageKind.SUPERVISION_REPLY: _reply_received,
}

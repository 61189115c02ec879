"""Cross-node flows: what an act sends to other nodes (``react``), and what a received message
does here (``apply_message``). Both run inside the transaction of the act or of the inbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork, PetitionInput, Representative
from shared.divisions import is_in_subtree
from shared.errors import DomainError, ErrorCode, bad_input
from shared.lifecycle import Action, CaseState, Channel, Command, Event
from shared.messaging import outbox
from shared.messaging.messages import Message, MessageKind, new_message_id
from shared.persistence import repository, trail_records
from shared.persistence.links import LinkKind, add_link, links_of, resolve_remote_id
from shared.persistence.repository import CaseRecord
from shared.privacy import IdCipher

RELAY_ACTOR = "relay"


async def send(
    work: CaseWork,
    conn: AsyncConnection,
    recipient: str,
    kind: MessageKind,
    payload: dict[str, object],
) -> Message:
    message = Message(
        id=new_message_id(work.code),
        sender=work.code,
        recipient=recipient,
        kind=kind,
        payload=payload,
        created_at=work.clock.now(),
    )
    await outbox.enqueue(conn, message)
    return message


def petition_payload(
    record: CaseRecord, representatives: list[dict[str, Any]] | None = None
) -> dict[str, object]:
    """What the receiving node needs to register the matter (personal data included: the
    competent body handles it). ID numbers travel sealed, as stored: nodes of a province share
    its key (ADR 0018), and the outbox holds no clear number."""
    return {
        "representatives": [
            {"name": r["name"], "idNumber": r["id_number"], "phone": r["phone"]}
            for r in representatives or []
        ],
        "caseId": record.id,
        "channel": record.channel,
        "category": record.category,
        "summary": record.summary,
        "issueLocality": record.issue_locality_code,
        "personCount": record.person_count,
        "registeredAt": record.registered_at.isoformat(),
        "accusedUnit": record.accused_unit,
        "petitioner": {
            "name": record.petitioner_name,
            "idNumber": record.petitioner_id_number,
            "phone": record.petitioner_phone,
            "address": record.petitioner_address,
        },
    }


# -- the sender's side: reactions to acts ----------------------------------------------------


async def react(
    work: CaseWork,
    conn: AsyncConnection,
    case_id: str,
    before: CaseState,
    after: CaseState,
    event: Event,
) -> None:
    reaction = REACTIONS.get(event.command.action)
    if reaction is not None:
        await reaction(work, conn, case_id, event.command)


async def _route(work: CaseWork, conn: AsyncConnection, case_id: str, command: Command) -> None:
    assert command.target is not None
    record = (await repository.load_cases(conn, [case_id]))[case_id]
    target = command.target
    if not is_in_subtree(record.issue_locality_code, target):
        raise bad_input(
            f"the matter arose in {record.issue_locality_code}, which is not under {target}: "
            "route it to the body where it arose (属地管理)",
            "to",
        )
    if record.accused_unit is not None and target.startswith(record.accused_unit):
        raise DomainError(
            ErrorCode.ACCUSED_UNIT,
            f"this case accuses {record.accused_unit}: an accusation is never routed to the "
            "unit it accuses or a unit inside it (Regulation Arts. 30, 46)",
            field="to",
        )
    chosen = (await repository.load_representatives(conn, [case_id]))[case_id]
    payload = petition_payload(record, chosen)
    payload["reason"] = command.reason
    payload["trailRoot"] = await trail_records.root_of(conn, case_id)
    if command.action is Action.ASSIGN:
        assert command.due_date is not None
        payload["dueDate"] = command.due_date.isoformat()
        message = await send(work, conn, target, MessageKind.ASSIGNMENT, payload)
        link = LinkKind.ASSIGNED_TO
    else:
        message = await send(work, conn, target, MessageKind.TRANSFER, payload)
        link = LinkKind.TRANSFERRED_TO
    await add_link(
        conn,
        case_id,
        link,
        remote_node=target,
        remote_id=None,
        at=command.at,
        message_id=message.id,
    )


async def _report_completion(
    work: CaseWork, conn: AsyncConnection, case_id: str, command: Command
) -> None:
    """An assigned matter replied to: the report goes back to the assigning body."""
    for link in (await links_of(conn, [case_id]))[case_id]:
        if link.kind is not LinkKind.ASSIGNED_BY or link.remote_id is None:
            continue
        message = await send(
            work,
            conn,
            link.remote_node,
            MessageKind.COMPLETION_REPORT,
            {
                "caseId": link.remote_id,
                "reportedCaseId": case_id,
                "text": command.text or "",
                "outcome": command.outcome.value if command.outcome else None,
            },
        )
        await add_link(
            conn,
            case_id,
            LinkKind.COMPLETION_REPORTED_TO,
            remote_node=link.remote_node,
            remote_id=link.remote_id,
            at=command.at,
            message_id=message.id,
        )


Reaction = Callable[[CaseWork, AsyncConnection, str, Command], Awaitable[None]]
REACTIONS: dict[Action, Reaction] = {
    Action.TRANSFER: _route,
    Action.ASSIGN: _route,
    Action.REPLY: _report_completion,
    Action.SETTLE_BY_MEDIATION: _report_completion,
}


# -- the receiver's side ---------------------------------------------------------------------


def petition_from(payload: dict[str, object], sender: str, cipher: IdCipher) -> PetitionInput:
    """The petition a message carries, its ID numbers opened (the receiver validates them)."""
    petitioner = payload["petitioner"]
    assert isinstance(petitioner, dict)
    person_count = payload["personCount"]
    assert isinstance(person_count, int)
    chosen = payload.get("representatives") or []
    assert isinstance(chosen, list)
    return PetitionInput(
        channel=Channel(str(payload["channel"])),
        category=str(payload["category"]),
        summary=str(payload["summary"]),
        issue_locality_code=str(payload["issueLocality"]),
        petitioner_name=str(petitioner["name"]),
        petitioner_id_number=cipher.open(petitioner.get("idNumber")),
        petitioner_phone=petitioner.get("phone"),
        petitioner_address=petitioner.get("address"),
        person_count=person_count,
        received_from=sender,
        accused_unit=str(payload["accusedUnit"]) if payload.get("accusedUnit") else None,
        representatives=tuple(
            Representative(
                name=str(r["name"]),
                id_number=cipher.open(r.get("idNumber")),
                phone=r.get("phone"),
            )
            for r in chosen
            if isinstance(r, dict)
        ),
    )


async def _receive_routed(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    payload = message.payload
    root = payload.get("trailRoot")
    case_id = await work.receive_petition_in(
        conn,
        petition_from(payload, message.sender, work.cipher),
        actor=RELAY_ACTOR,
        trail_root=str(root) if root else str(payload["caseId"]),
    )
    kind = (
        LinkKind.ASSIGNED_BY
        if message.kind is MessageKind.ASSIGNMENT
        else LinkKind.TRANSFERRED_FROM
    )
    await link_to_origin(work, conn, message, case_id, kind, str(payload["caseId"]))


async def link_to_origin(
    work: CaseWork,
    conn: AsyncConnection,
    message: Message,
    case_id: str,
    kind: LinkKind,
    origin_id: str,
) -> None:
    """A case a message created here: link it to the sender's record, and tell the sender the
    new case's id (RECORD_CREATED), so the trail runs both ways."""
    await add_link(
        conn,
        case_id,
        kind,
        remote_node=message.sender,
        remote_id=origin_id,
        at=work.clock.now(),
        message_id=message.id,
    )
    await send(
        work,
        conn,
        message.sender,
        MessageKind.RECORD_CREATED,
        {"inReplyTo": message.id, "recordId": case_id},
    )


async def _record_created(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    await resolve_remote_id(
        conn, str(message.payload["inReplyTo"]), str(message.payload["recordId"])
    )


async def _completion_report(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    payload = message.payload
    case_id = str(payload["caseId"])
    command = work.command(
        Action.RECORD_COMPLETION_REPORT,
        RELAY_ACTOR,
        text=str(payload.get("text") or f"completion report from {message.sender}"),
    )
    await work.act_in(conn, case_id, command)


Applier = Callable[[CaseWork, AsyncConnection, Message], Awaitable[None]]
ROUTING_APPLIERS: dict[MessageKind, Applier] = {
    MessageKind.TRANSFER: _receive_routed,
    MessageKind.ASSIGNMENT: _receive_routed,
    MessageKind.RECORD_CREATED: _record_created,
    MessageKind.COMPLETION_REPORT: _completion_report,
}

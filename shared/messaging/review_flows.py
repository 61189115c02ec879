"""Review and final review across nodes.

The petitioner asks the reviewing body (``open_review`` there). The reviewer records the
request and asks the case's owner, whose record decides whether the request is in time
(``REVIEW_REQUEST``); the owner answers with the matter (``REVIEW_OPENED``) or a refusal
(``REVIEW_REFUSED``). The reviewer's decision goes back to the owner (``REVIEW_DECISION``); a
final review's hearing days too (``HEARING_RECORDED``), so both sides keep the same deadline.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork, parse_case_id
from shared.deadlines import local_date
from shared.errors import DomainError, ErrorCode, bad_input
from shared.lifecycle import Action, ReviewOutcome
from shared.messaging import trail_flows
from shared.messaging.flows import RELAY_ACTOR, Applier, petition_payload, send
from shared.messaging.messages import Message, MessageKind
from shared.persistence import repository
from shared.persistence import review_records as records
from shared.persistence.links import LinkKind, add_link
from shared.persistence.review_records import ReviewRecord
from shared.persistence.trail_records import root_of
from shared.reviews import (
    DECISION_ACTION,
    REQUEST_ACTION,
    ReviewLevel,
    ReviewStatus,
    check_hearing,
    check_reviewer,
    decision_due,
)
from shared.trail import review_decided, review_requested
from shared.validation import REASON_MAX, SUMMARY_MAX, ValidationFailed, validate_text


def _text(value: str, field: str, limit: int) -> str:
    try:
        return validate_text(value, field=field, max_length=limit)
    except ValidationFailed as error:
        raise bad_input(error.message, error.field) from error


# -- at the reviewing node -------------------------------------------------------------------


async def open_review(
    work: CaseWork, case_id: str, reason: str, level: ReviewLevel, actor: str
) -> str:
    """Record a petitioner's request for (final) review of ``case_id``; ask its owner."""
    owner, _, _ = parse_case_id(case_id)
    check_reviewer(work.code, owner, level)
    reason = _text(reason, "reason", REASON_MAX)
    now = work.clock.now()
    async with work.db.begin() as conn:
        review_id = await records.next_review_id(conn, work.code, level, local_date(now).year)
        message = await send(
            work,
            conn,
            owner,
            MessageKind.REVIEW_REQUEST,
            {
                "caseId": case_id,
                "reviewId": review_id,
                "level": level.value,
                "reason": reason,
                "requestedAt": now.isoformat(),
            },
        )
        await records.insert_review(
            conn,
            id=review_id,
            level=level.value,
            case_id=case_id,
            case_node=owner,
            status=ReviewStatus.REQUESTED.value,
            reason=reason,
            requested_at=now,
            requested_by=actor,
            request_message_id=message.id,
        )
    work.committed()
    return review_id


async def _locked_review(conn: AsyncConnection, review_id: str) -> ReviewRecord:
    review = await records.lock_review(conn, review_id)
    if review is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no review {review_id} here", field="id")
    return review


async def decide_review(
    work: CaseWork, review_id: str, outcome: ReviewOutcome, text: str, actor: str
) -> None:
    text = _text(text, "text", SUMMARY_MAX)
    now = work.clock.now()
    async with work.db.begin() as conn:
        review = await _locked_review(conn, review_id)
        if review.status is not ReviewStatus.OPEN:
            raise DomainError(
                ErrorCode.INVALID_TRANSITION,
                f"review {review_id} is {review.status.value}; only an open review is decided",
            )
        await records.update_review(
            conn,
            review,
            status=ReviewStatus.DECIDED.value,
            decided_at=now,
            outcome=outcome.value,
            decision_text=text,
        )
        await send(
            work,
            conn,
            review.case_node,
            MessageKind.REVIEW_DECISION,
            {
                "caseId": review.case_id,
                "reviewId": review.id,
                "level": review.level.value,
                "outcome": outcome.value,
                "text": text,
                "decidedBy": actor,
            },
        )
        snapshot = review.case_snapshot or {}
        root = snapshot.get("trailRoot")
        await trail_flows.note(
            work,
            conn,
            review_decided(
                work.code,
                review.id,
                review.level,
                review.case_id,
                now,
                review.due,
                outcome.value,
                str(root) if root else None,
            ),
        )
    work.committed()


async def record_review_hearing(work: CaseWork, review_id: str, days: int) -> None:
    async with work.db.begin() as conn:
        review = await _locked_review(conn, review_id)
        if review.status is not ReviewStatus.OPEN:
            raise DomainError(ErrorCode.INVALID_TRANSITION, f"review {review_id} is not open")
        check_hearing(review.level, review.hearing_days, days)
        assert review.due is not None
        if work.clock.now() >= review.due:
            raise DomainError(
                ErrorCode.DEADLINE_PASSED,
                f"the decision was due {review.due.isoformat()}; a hearing cannot cure it",
            )
        hearing_days = review.hearing_days + days
        await records.update_review(
            conn,
            review,
            hearing_days=hearing_days,
            due=decision_due(review.level, review.requested_at, hearing_days, work.calendar),
        )
        await send(
            work,
            conn,
            review.case_node,
            MessageKind.HEARING_RECORDED,
            {"caseId": review.case_id, "reviewId": review.id, "days": days},
        )
    work.committed()


async def _review_opened(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    review = await _locked_review(conn, str(message.payload["reviewId"]))
    if review.status is not ReviewStatus.REQUESTED:
        return
    await records.update_review(
        conn,
        review,
        status=ReviewStatus.OPEN.value,
        opened_at=datetime.fromisoformat(str(message.payload["openedAt"])),
        due=decision_due(review.level, review.requested_at, 0, work.calendar),
        case_snapshot=message.payload["case"],
    )
    # The request stands once the owner opened it: a step at this node, in the case's chain.
    root = (message.payload.get("case") or {}).get("trailRoot")
    await trail_flows.note(
        work,
        conn,
        review_requested(
            work.code,
            review.id,
            review.level,
            review.case_id,
            review.requested_at,
            str(root) if root else None,
        ),
    )


async def _review_refused(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    review = await _locked_review(conn, str(message.payload["reviewId"]))
    if review.status is not ReviewStatus.REQUESTED:
        return
    await records.update_review(
        conn, review, status=ReviewStatus.REFUSED.value, refusal=str(message.payload["refusal"])
    )


# -- at the case's owner ---------------------------------------------------------------------


async def _review_request(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    payload = message.payload
    case_id = str(payload["caseId"])
    level = ReviewLevel(str(payload["level"]))
    requested_at = datetime.fromisoformat(str(payload["requestedAt"]))
    command = work.command(REQUEST_ACTION[level], RELAY_ACTOR, reason=str(payload["reason"]))
    command = replace(command, at=requested_at)  # the window is judged when the petitioner asked
    try:
        async with conn.begin_nested():
            await work.act_in(conn, case_id, command)
    except DomainError as refusal:
        await send(
            work,
            conn,
            message.sender,
            MessageKind.REVIEW_REFUSED,
            {
                "reviewId": payload["reviewId"],
                "refusal": refusal.message,
                "code": refusal.code.value,
            },
        )
        return
    record = (await repository.load_cases(conn, [case_id]))[case_id]
    await add_link(
        conn,
        case_id,
        LinkKind.FINAL_REVIEWED_AT if level is ReviewLevel.FINAL_REVIEW else LinkKind.REVIEWED_AT,
        remote_node=message.sender,
        remote_id=str(payload["reviewId"]),
        at=requested_at,
        message_id=message.id,
    )
    snapshot = petition_payload(record)
    snapshot["status"] = record.status
    snapshot["outcome"] = record.outcome
    snapshot["reviewOutcome"] = record.review_outcome
    snapshot["petitioner"] = None  # the reviewer asks for the file when it needs the person
    snapshot["trailRoot"] = await root_of(conn, case_id)
    await send(
        work,
        conn,
        message.sender,
        MessageKind.REVIEW_OPENED,
        {
            "reviewId": payload["reviewId"],
            "openedAt": work.clock.now().isoformat(),
            "case": snapshot,
        },
    )


async def _review_decision(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    payload = message.payload
    level = ReviewLevel(str(payload["level"]))
    command = work.command(
        DECISION_ACTION[level],
        f"{RELAY_ACTOR}:{message.sender}",
        review_outcome=ReviewOutcome(str(payload["outcome"])),
        text=str(payload["text"]),
    )
    await work.act_in(conn, str(payload["caseId"]), command)


async def _hearing_recorded(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    days = message.payload["days"]
    assert isinstance(days, int)
    command = work.command(Action.RECORD_HEARING, f"{RELAY_ACTOR}:{message.sender}", days=days)
    await work.act_in(conn, str(message.payload["caseId"]), command)


REVIEW_APPLIERS: dict[MessageKind, Applier] = {
    MessageKind.REVIEW_REQUEST: _review_request,
    MessageKind.REVIEW_OPENED: _review_opened,
    MessageKind.REVIEW_REFUSED: _review_refused,
    MessageKind.REVIEW_DECISION: _review_decision,
    MessageKind.HEARING_RECORDED: _hearing_recorded,
}

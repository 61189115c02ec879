"""Joint meetings (信访工作联席会议) deciding disputed competence (Art. 24): bodies that each say
a matter is not theirs are recorded as a dispute on the case; the meeting names the competent
body, and the decision is applied through the ordinary transfer (转送) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import cast

from shared.casework import CaseWork
from shared.deadlines import local_date
from shared.divisions import InvalidDivisionCode, division_tree, is_in_subtree, parse_code
from shared.errors import DomainError, ErrorCode, bad_input
from shared.lifecycle import Action, CaseStatus
from shared.persistence import role_records as records
from shared.roles.common import lock_open_case, own_case_id, text_of
from shared.validation import REASON_MAX

MAX_BODIES = 10


class DisputeStatus(StrEnum):
    OPEN = "OPEN"
    DECIDED = "DECIDED"


@dataclass(frozen=True)
class CompetenceDispute:
    id: str
    case_id: str
    bodies: tuple[str, ...]
    text: str
    raised_at: datetime
    raised_by: str
    status: DisputeStatus
    competent_body: str | None
    decision_text: str | None
    decided_at: datetime | None
    decided_by: str | None


def _dispute(row: dict[str, object]) -> CompetenceDispute:
    row = dict(row)
    row.pop("version")
    row["bodies"] = tuple(cast(list[str], row["bodies"]))
    row["status"] = DisputeStatus(str(row["status"]))
    return CompetenceDispute(**row)  # type: ignore[arg-type]


def _bodies(work: CaseWork, codes: list[str]) -> list[str]:
    found: list[str] = []
    for raw in codes:
        code = raw.strip()
        try:
            parse_code(code)
        except InvalidDivisionCode as error:
            raise bad_input(str(error), "bodies") from error
        if not division_tree().exists(code) or code == work.code:
            raise bad_input(f"{code} is not a node below {work.code}", "bodies")
        if not is_in_subtree(code, work.code):
            raise bad_input(
                f"{code} is not below {work.code}: a dispute with a body outside goes to the "
                "common superior's joint meeting",
                "bodies",
            )
        if code not in found:
            found.append(code)
    if not 2 <= len(found) <= MAX_BODIES:
        raise bad_input(f"a dispute is between 2 and {MAX_BODIES} different bodies", "bodies")
    return found


async def record_dispute(
    work: CaseWork, case_id: str, *, bodies: list[str], text: str, actor: str
) -> str:
    case_id = own_case_id(work, case_id)
    checked_bodies = _bodies(work, bodies)
    text = text_of(text, "text", REASON_MAX)
    now = work.clock.now()
    async with work.db.begin() as conn:
        state = await lock_open_case(conn, work, case_id)
        if state.status is not CaseStatus.REGISTERED:
            raise DomainError(
                ErrorCode.INVALID_TRANSITION,
                f"competence is disputed before routing; case {case_id} is {state.status.value}",
                field="caseId",
            )
        open_dispute = await records.open_dispute_for(conn, case_id)
        if open_dispute is not None:
            raise DomainError(
                ErrorCode.DUPLICATE,
                f"dispute {open_dispute} on case {case_id} awaits the joint meeting",
                field="caseId",
            )
        dispute_id = await records.next_id(conn, work.code, "JM", local_date(now).year)
        await records.insert_dispute(
            conn,
            id=dispute_id,
            case_id=case_id,
            bodies=checked_bodies,
            text=text,
            raised_at=now,
            raised_by=actor,
            status=DisputeStatus.OPEN.value,
        )
    return dispute_id


async def decide_dispute(
    work: CaseWork, dispute_id: str, *, competent_body: str, text: str, actor: str
) -> None:
    """The meeting's decision, applied as a transfer to the competent body (one transaction)."""
    text = text_of(text, "text", REASON_MAX)
    competent_body = competent_body.strip()
    async with work.db.begin() as conn:
        dispute = await records.lock_dispute(conn, dispute_id.strip())
        if dispute is None:
            raise DomainError(ErrorCode.NOT_FOUND, f"no dispute {dispute_id} here", field="id")
        if dispute["status"] != DisputeStatus.OPEN.value:
            raise DomainError(
                ErrorCode.INVALID_TRANSITION, f"dispute {dispute_id} is already decided", field="id"
            )
        if competent_body not in dispute["bodies"]:
            raise bad_input("the joint meeting names one of the disputing bodies", "competentBody")
        reason = f"联席会议决定 ({dispute['id']}): {text}"[:REASON_MAX]
        command = work.command(Action.TRANSFER, actor, target=competent_body, reason=reason)
        try:
            await work.act_in(conn, str(dispute["case_id"]), command)
        except DomainError as refusal:
            if refusal.field == "to":  # the transfer's own rules (territorial ownership)
                refusal.field = "competentBody"
            raise
        await records.update_dispute(
            conn,
            dispute,
            status=DisputeStatus.DECIDED.value,
            competent_body=competent_body,
            decision_text=text,
            decided_at=work.clock.now(),
            decided_by=actor,
        )
    work.committed()


async def disputes(
    work: CaseWork, status: DisputeStatus | None, limit: int, ids: list[str] | None = None
) -> list[CompetenceDispute]:
    async with work.db.connect() as conn:
        rows = await records.list_disputes(conn, ids, status.value if status else None, limit)
    return [_dispute(row) for row in rows]

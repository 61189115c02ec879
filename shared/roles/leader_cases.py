"""Leader-owned cases (领导包案, Art. 18): a named leader personally owns a hard case. Every
owner is a row; a handover ends the current row and starts the next, with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.casework import CaseWork
from shared.errors import DomainError, ErrorCode, bad_input
from shared.persistence import role_records as records
from shared.roles.common import lock_open_case, name_of, own_case_id, text_of
from shared.validation import CATEGORY_MAX, REASON_MAX


@dataclass(frozen=True)
class LeaderOwnership:
    case_id: str
    seq: int
    leader: str
    title: str
    since: datetime
    assigned_by: str
    note: str
    until: datetime | None


def _ownership(row: dict[str, object]) -> LeaderOwnership:
    return LeaderOwnership(**row)  # type: ignore[arg-type]


async def assign_leader(
    work: CaseWork, case_id: str, *, leader: str, title: str, note: str, actor: str
) -> None:
    case_id = own_case_id(work, case_id, "id")
    leader = name_of(leader, "leader")
    title = text_of(title, "title", CATEGORY_MAX)
    note = text_of(note, "note", REASON_MAX)
    async with work.db.begin() as conn:
        await lock_open_case(conn, work, case_id, "id")
        history = await records.ownerships_of(conn, case_id)
        current = [row for row in history if row["until"] is None]
        if current:
            raise DomainError(
                ErrorCode.DUPLICATE,
                f"case {case_id} is owned by {current[0]['leader']}; hand it over instead",
                field="id",
            )
        await records.add_ownership(
            conn,
            case_id=case_id,
            seq=len(history) + 1,
            leader=leader,
            title=title,
            since=work.clock.now(),
            assigned_by=actor,
            note=note,
        )


async def hand_over(
    work: CaseWork, case_id: str, *, leader: str, title: str, reason: str, actor: str
) -> None:
    case_id = own_case_id(work, case_id, "id")
    leader = name_of(leader, "leader")
    title = text_of(title, "title", CATEGORY_MAX)
    reason = text_of(reason, "reason", REASON_MAX)
    now = work.clock.now()
    async with work.db.begin() as conn:
        await lock_open_case(conn, work, case_id, "id")
        history = await records.ownerships_of(conn, case_id)
        current = [row for row in history if row["until"] is None]
        if not current:
            raise DomainError(
                ErrorCode.INVALID_TRANSITION,
                f"no leader owns case {case_id}; assign one first",
                field="id",
            )
        if current[0]["leader"] == leader:
            raise bad_input(f"{leader} already owns case {case_id}", "leader")
        await records.end_ownership(conn, case_id, int(current[0]["seq"]), now)
        await records.add_ownership(
            conn,
            case_id=case_id,
            seq=len(history) + 1,
            leader=leader,
            title=title,
            since=now,
            assigned_by=actor,
            note=reason,
        )


async def leader_cases(work: CaseWork, leader: str | None, limit: int) -> list[LeaderOwnership]:
    """The current ownerships, newest first; of one leader when named."""
    name = name_of(leader, "leader") if leader is not None else None
    async with work.db.connect() as conn:
        rows = await records.current_ownerships(conn, name, limit)
    return [_ownership(row) for row in rows]


async def ownership_history(work: CaseWork, case_id: str) -> list[LeaderOwnership]:
    case_id = own_case_id(work, case_id, "id")
    async with work.db.connect() as conn:
        rows = await records.ownerships_of(conn, case_id)
    return [_ownership(row) for row in rows]

"""Small checks every role uses."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork, checked, parse_case_id
from shared.deadlines import end_of_day
from shared.errors import DomainError, ErrorCode, bad_input
from shared.lifecycle import TERMINAL, CaseState
from shared.persistence import repository
from shared.validation import validate_person_name, validate_text

MAX_PAGE = 500


def text_of(value: str, field: str, limit: int) -> str:
    return checked(lambda: validate_text(value, field=field, max_length=limit))


def name_of(value: str, field: str) -> str:
    return checked(lambda: validate_person_name(value, field=field))


def page(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise bad_input(f"first is 1 to {MAX_PAGE}", "first")
    return first


def own_case_id(work: CaseWork, case_id: str, field: str = "caseId") -> str:
    case_id = case_id.strip()
    owner, _, _ = parse_case_id(case_id)
    if owner != work.code:
        raise DomainError(
            ErrorCode.NOT_FOUND,
            f"case {case_id} is owned by node {owner}, not {work.code}",
            field=field,
        )
    return case_id


async def lock_open_case(
    conn: AsyncConnection, work: CaseWork, case_id: str, field: str = "caseId"
) -> CaseState:
    """The case's state, its row locked; refused when it is not here or no longer open."""
    state = await repository.lock_case_state(conn, case_id)
    if state is None:
        raise DomainError(
            ErrorCode.NOT_FOUND, f"no case {case_id} at node {work.code}", field=field
        )
    if state.status in TERMINAL:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"case {case_id} is {state.status.value}; it is no longer handled here",
            field=field,
        )
    return state


def period_bounds(
    period: tuple[date, date] | None,
) -> tuple[datetime | None, datetime | None]:
    """[start, end) instants of a period of China days, both ends included."""
    if period is None:
        return None, None
    first, last = period
    return end_of_day(first - timedelta(days=1)), end_of_day(last)

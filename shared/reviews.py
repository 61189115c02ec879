"""Review (复查) and final review (复核): who holds them and when they are due (Arts. 35-36).

A review is held by the body one tier above the handler, a final review by the body one tier
above the reviewer. The petitioner asks the reviewing body; the owner of the case checks the
request against its own record (the 30-day window) and sends the matter up. Pure rules here;
the messages that carry them are in ``shared.messaging.flows``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shared.deadlines import MAX_HEARING_DAYS, DeadlineKind, due_after
from shared.divisions import division_tree
from shared.errors import DomainError, ErrorCode, bad_input
from shared.holidays import HolidayCalendar
from shared.lifecycle import Action


class ReviewLevel(StrEnum):
    REVIEW = "REVIEW"  # 复查
    FINAL_REVIEW = "FINAL_REVIEW"  # 复核


class ReviewStatus(StrEnum):
    REQUESTED = "REQUESTED"  # asked here; the case's owner has not answered yet
    OPEN = "OPEN"  # the owner confirmed the request was in time; the decision is due
    REFUSED = "REFUSED"  # the owner's record does not allow it (window closed, wrong status)
    DECIDED = "DECIDED"


DECISION_DEADLINE = {
    ReviewLevel.REVIEW: DeadlineKind.REVIEW_DECISION,
    ReviewLevel.FINAL_REVIEW: DeadlineKind.FINAL_REVIEW_DECISION,
}
# The acts on the owner's case that each step of a review becomes.
REQUEST_ACTION = {
    ReviewLevel.REVIEW: Action.REQUEST_REVIEW,
    ReviewLevel.FINAL_REVIEW: Action.REQUEST_FINAL_REVIEW,
}
DECISION_ACTION = {
    ReviewLevel.REVIEW: Action.RECORD_REVIEW_DECISION,
    ReviewLevel.FINAL_REVIEW: Action.RECORD_FINAL_REVIEW_DECISION,
}
ID_MARK = {ReviewLevel.REVIEW: "RV", ReviewLevel.FINAL_REVIEW: "FR"}


def reviewer_for(handler: str, level: ReviewLevel) -> str | None:
    """The node that holds a review of a reply given by ``handler`` (None: none in the
    province; a final review of a city's case, or any review of the province's, is national)."""
    tree = division_tree()
    reviewer = tree.require(handler).parent_code
    if level is ReviewLevel.FINAL_REVIEW and reviewer is not None:
        reviewer = tree.require(reviewer).parent_code
    return reviewer


def check_reviewer(node: str, handler: str, level: ReviewLevel) -> None:
    expected = reviewer_for(handler, level)
    if expected != node:
        where = f"node {expected}" if expected else "a national body, outside this province"
        raise DomainError(
            ErrorCode.WRONG_NODE,
            f"a {level.value.lower().replace('_', ' ')} of a reply by node {handler} is held by "
            f"{where}, not here ({node})",
            field="caseId",
        )


def decision_due(
    level: ReviewLevel, requested_at: datetime, hearing_days: int, calendar: HolidayCalendar
) -> datetime:
    return due_after(DECISION_DEADLINE[level], requested_at, calendar, extra_days=hearing_days)


def check_hearing(level: ReviewLevel, recorded: int, days: int) -> None:
    if level is not ReviewLevel.FINAL_REVIEW:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION, "hearing time is excluded only from a final review"
        )
    if days < 1 or recorded + days > MAX_HEARING_DAYS:
        raise bad_input(f"hearings add 1 to {MAX_HEARING_DAYS} days in all", "days")

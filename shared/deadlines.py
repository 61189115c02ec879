"""Every time limit of petition work, computed in one place.

Days are counted in China Standard Time. The day of the triggering event is not counted; a
period of N days ends at the end of the Nth following day (so a case registered on 3 March must
be accepted by the end of 18 March). When the last day is not a working day and the calendar
says so (Civil Code Art. 203), the period ends on the next working day instead. Periods given
in working days (the 5-day objection, Art. 23) count working days only.

A deadline is stored as the first instant *after* the period: an act is on time when it happens
strictly before ``due``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum

from shared.holidays import HolidayCalendar

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class DeadlineKind(StrEnum):
    ACCEPTANCE = "ACCEPTANCE"  # 受理 or route within 15 days (Arts. 22, 23)
    OBJECTION = "OBJECTION"  # object to a transferred matter within 5 working days (Art. 23)
    HANDLING = "HANDLING"  # reply within 60 days, one extension of at most 30 (Art. 32)
    ASSIGNMENT = "ASSIGNMENT"  # completion report of an assigned matter (交办, Art. 22)
    REVIEW_REQUEST = "REVIEW_REQUEST"  # petitioner may ask for review within 30 days (Art. 35)
    REVIEW_DECISION = "REVIEW_DECISION"  # reviewer decides within 30 days (Art. 35)
    FINAL_REVIEW_REQUEST = "FINAL_REVIEW_REQUEST"  # within 30 days of the review (Art. 36)
    FINAL_REVIEW_DECISION = "FINAL_REVIEW_DECISION"  # 30 days, hearings excluded (Art. 36)
    FAST_TRACK_MEETING = "FAST_TRACK_MEETING"  # township fast track: meet within 5 days
    FAST_TRACK_FACTS = "FAST_TRACK_FACTS"  # establish the facts within 7
    FAST_TRACK_REPLY = "FAST_TRACK_REPLY"  # reply within 15


class Bound(StrEnum):
    BODY = "BODY"  # an obligation of the handling body: missing it makes the case overdue
    PETITIONER = "PETITIONER"  # a window for the petitioner: after it the right lapses
    OPTION = "OPTION"  # a window for the body (objecting to a transfer): it lapses, not overdue


@dataclass(frozen=True)
class Limit:
    days: int
    working_days: bool
    bound: Bound


LIMITS: dict[DeadlineKind, Limit] = {
    DeadlineKind.ACCEPTANCE: Limit(15, False, Bound.BODY),
    DeadlineKind.OBJECTION: Limit(5, True, Bound.OPTION),
    DeadlineKind.HANDLING: Limit(60, False, Bound.BODY),
    DeadlineKind.REVIEW_REQUEST: Limit(30, False, Bound.PETITIONER),
    DeadlineKind.REVIEW_DECISION: Limit(30, False, Bound.BODY),
    DeadlineKind.FINAL_REVIEW_REQUEST: Limit(30, False, Bound.PETITIONER),
    DeadlineKind.FINAL_REVIEW_DECISION: Limit(30, False, Bound.BODY),
    DeadlineKind.FAST_TRACK_MEETING: Limit(5, False, Bound.BODY),
    DeadlineKind.FAST_TRACK_FACTS: Limit(7, False, Bound.BODY),
    DeadlineKind.FAST_TRACK_REPLY: Limit(15, False, Bound.BODY),
}
# ASSIGNMENT has no fixed limit: the assigning body sets the date (Art. 22).
MAX_HANDLING_EXTENSION_DAYS = 30
MAX_ASSIGNMENT_DAYS = 90
MAX_HEARING_DAYS = 60


def local_date(at: datetime) -> date:
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return at.astimezone(CHINA_TZ).date()


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` ends in China, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), CHINA_TZ).astimezone(UTC)


def last_day_after_days(start: date, days: int, calendar: HolidayCalendar) -> date:
    last = start + timedelta(days=days)
    if calendar.roll_forward_to_working_day:
        last = calendar.next_working_day(last)
    return last


def last_day_after_working_days(start: date, days: int, calendar: HolidayCalendar) -> date:
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
    return day


def due_after(
    kind: DeadlineKind, start: datetime, calendar: HolidayCalendar, *, extra_days: int = 0
) -> datetime:
    """When a deadline of ``kind`` triggered at ``start`` falls due.

    ``extra_days`` lengthens the period (an approved extension, time spent in hearings).
    """
    limit = LIMITS[kind]
    first = local_date(start)
    if limit.working_days:
        return end_of_day(last_day_after_working_days(first, limit.days + extra_days, calendar))
    return end_of_day(last_day_after_days(first, limit.days + extra_days, calendar))


def due_on(day: date, calendar: HolidayCalendar) -> datetime:
    """A deadline set as a calendar date (an assignment's): due at the end of that day."""
    if calendar.roll_forward_to_working_day:
        day = calendar.next_working_day(day)
    return end_of_day(day)


def day_number(start: datetime, at: datetime) -> int:
    """Which day of a period ``at`` falls on (the day after ``start`` is day 1)."""
    return (local_date(at) - local_date(start)).days

"""Time limits of petition work (domain.md §2), computed by ``shared.deadlines``.

Real dates come from the packaged 2025/2026 calendar (State Council holiday notices); the
arithmetic itself is checked with an empty calendar that does not roll forward.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.deadlines import (
    CHINA_TZ,
    LIMITS,
    Bound,
    DeadlineKind,
    day_number,
    due_after,
    due_on,
    end_of_day,
    local_date,
)
from shared.holidays import HolidayCalendar, default_calendar

K = DeadlineKind
CAL = default_calendar()
PURE = HolidayCalendar(roll_forward_to_working_day=False)  # no holidays, no roll-forward
# The national holidays and 调休 days, but without Civil Code Art. 203 roll-forward.
NO_ROLL = HolidayCalendar(
    holidays=CAL.holidays, workdays=CAL.workdays, roll_forward_to_working_day=False
)


def cst(y: int, m: int, d: int, hh: int = 10, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=CHINA_TZ)


def last_day(due: datetime) -> date:
    """The last local day of a period whose first instant after it is ``due``."""
    return local_date(due - timedelta(microseconds=1))


def on_time(act: datetime, due: datetime) -> bool:
    return act < due


# -- the calendar data the tests below rely on -----------------------------------------------


def test_packaged_calendar_knows_the_2025_and_2026_holidays_and_adjusted_working_days() -> None:
    assert not CAL.is_working_day(date(2025, 10, 1))  # National Day
    assert not CAL.is_working_day(date(2025, 10, 8))
    assert CAL.is_working_day(date(2025, 10, 11))  # Saturday worked (调休)
    assert not CAL.is_working_day(date(2026, 2, 17))  # Spring Festival
    assert CAL.is_working_day(date(2026, 2, 14))  # Saturday worked
    assert CAL.is_working_day(date(2026, 2, 28))  # Saturday worked
    assert not CAL.is_working_day(date(2025, 3, 22))  # an ordinary Saturday
    assert CAL.roll_forward_to_working_day


def test_an_empty_calendar_treats_every_weekday_as_working_and_every_weekend_day_as_rest() -> None:
    assert PURE.is_working_day(date(2025, 10, 1))
    assert not PURE.is_working_day(date(2026, 2, 14))
    assert PURE.next_working_day(date(2025, 3, 22)) == date(2025, 3, 24)


# -- the limits table --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "days", "working_days", "bound"),
    [
        (K.ACCEPTANCE, 15, False, Bound.BODY),
        (K.OBJECTION, 5, True, Bound.OPTION),
        (K.HANDLING, 60, False, Bound.BODY),
        (K.REVIEW_REQUEST, 30, False, Bound.PETITIONER),
        (K.REVIEW_DECISION, 30, False, Bound.BODY),
        (K.FINAL_REVIEW_REQUEST, 30, False, Bound.PETITIONER),
        (K.FINAL_REVIEW_DECISION, 30, False, Bound.BODY),
    ],
)
def test_each_limit_of_the_regulation_has_its_length_day_type_and_bound(
    kind: DeadlineKind, days: int, working_days: bool, bound: Bound
) -> None:
    limit = LIMITS[kind]
    assert (limit.days, limit.working_days, limit.bound) == (days, working_days, bound)


def test_only_the_objection_is_counted_in_working_days() -> None:
    assert [k for k, limit in LIMITS.items() if limit.working_days] == [K.OBJECTION]


def test_an_assignment_has_no_fixed_limit_because_the_assigning_body_sets_the_date() -> None:
    assert K.ASSIGNMENT not in LIMITS


# -- acceptance: 15 days -----------------------------------------------------------------------


def test_acceptance_is_due_at_the_end_of_the_15th_day_after_registration() -> None:
    due = due_after(K.ACCEPTANCE, cst(2025, 3, 3), CAL)
    assert due == cst(2025, 3, 19, 0, 0)
    assert due.tzinfo is UTC


def test_acceptance_on_day_15_is_on_time() -> None:
    registered = cst(2025, 3, 3, 9)
    due = due_after(K.ACCEPTANCE, registered, CAL)
    act = cst(2025, 3, 18, 23, 59, 59)
    assert day_number(registered, act) == 15
    assert on_time(act, due)


def test_acceptance_on_day_16_is_late() -> None:
    registered = cst(2025, 3, 3, 9)
    due = due_after(K.ACCEPTANCE, registered, CAL)
    act = cst(2025, 3, 19, 0, 0)
    assert day_number(registered, act) == 16
    assert not on_time(act, due)


def test_the_day_of_registration_is_not_counted_whatever_the_hour() -> None:
    early = due_after(K.ACCEPTANCE, cst(2025, 3, 3, 0, 0), CAL)
    late = due_after(K.ACCEPTANCE, cst(2025, 3, 3, 23, 59), CAL)
    assert early == late == cst(2025, 3, 19, 0, 0)


def test_acceptance_whose_15th_day_is_a_saturday_rolls_to_monday() -> None:
    # Registered Friday 7 March 2025: day 15 is Saturday 22 March.
    assert last_day(due_after(K.ACCEPTANCE, cst(2025, 3, 7), CAL)) == date(2025, 3, 24)


def test_acceptance_whose_15th_day_is_a_saturday_does_not_roll_with_roll_forward_off() -> None:
    assert last_day(due_after(K.ACCEPTANCE, cst(2025, 3, 7), NO_ROLL)) == date(2025, 3, 22)
    assert last_day(due_after(K.ACCEPTANCE, cst(2025, 3, 7), PURE)) == date(2025, 3, 22)


def test_acceptance_whose_15th_day_falls_in_the_national_day_holiday_rolls_past_it() -> None:
    # Registered 17 September 2025: day 15 is 2 October; the holiday runs 1-8 October.
    assert last_day(due_after(K.ACCEPTANCE, cst(2025, 9, 17), CAL)) == date(2025, 10, 9)


def test_acceptance_in_the_national_day_holiday_does_not_roll_with_roll_forward_off() -> None:
    assert last_day(due_after(K.ACCEPTANCE, cst(2025, 9, 17), NO_ROLL)) == date(2025, 10, 2)


def test_a_15th_day_on_an_adjusted_working_saturday_does_not_roll() -> None:
    # Registered 26 September 2025: day 15 is Saturday 11 October, a working day (调休).
    assert last_day(due_after(K.ACCEPTANCE, cst(2025, 9, 26), CAL)) == date(2025, 10, 11)


def test_a_15th_day_on_a_working_day_is_the_same_with_and_without_roll_forward() -> None:
    start = cst(2025, 3, 3)
    assert due_after(K.ACCEPTANCE, start, CAL) == due_after(K.ACCEPTANCE, start, PURE)


# -- objection: 5 working days -----------------------------------------------------------------


def test_objection_is_due_after_5_working_days_skipping_the_weekend() -> None:
    # Received Thursday 6 March 2025: Fri 7, Mon 10, Tue 11, Wed 12, Thu 13.
    due = due_after(K.OBJECTION, cst(2025, 3, 6), CAL)
    assert last_day(due) == date(2025, 3, 13)
    assert on_time(cst(2025, 3, 13, 23, 59, 59), due)
    assert not on_time(cst(2025, 3, 14, 0, 0), due)


def test_objection_in_an_empty_calendar_still_skips_weekends() -> None:
    assert last_day(due_after(K.OBJECTION, cst(2025, 3, 6), PURE)) == date(2025, 3, 13)


def test_objection_over_spring_festival_counts_the_working_saturday_before_it() -> None:
    # Received Friday 13 Feb 2026: Sat 14 (worked), then the holiday 15-23, then Tue 24 ..
    # Fri 27 -> the 5th working day is 27 February.
    due = due_after(K.OBJECTION, cst(2026, 2, 13), CAL)
    assert last_day(due) == date(2026, 2, 27)


def test_objection_over_spring_festival_in_an_empty_calendar_ignores_the_holiday() -> None:
    # Without the holiday data: Mon 16 .. Fri 20.
    assert last_day(due_after(K.OBJECTION, cst(2026, 2, 13), PURE)) == date(2026, 2, 20)


def test_objection_after_spring_festival_counts_the_working_saturday_28_february() -> None:
    # Received Tuesday 24 Feb 2026: Wed 25, Thu 26, Fri 27, Sat 28 (worked), Mon 2 March.
    assert last_day(due_after(K.OBJECTION, cst(2026, 2, 24), CAL)) == date(2026, 3, 2)
    assert last_day(due_after(K.OBJECTION, cst(2026, 2, 24), PURE)) == date(2026, 3, 3)


def test_objection_received_on_a_holiday_counts_from_the_next_working_day() -> None:
    # Received on 1 October 2025 (holiday): Thu 9, Fri 10, Sat 11 (worked), Mon 13, Tue 14.
    assert last_day(due_after(K.OBJECTION, cst(2025, 10, 1), CAL)) == date(2025, 10, 14)


def test_objection_period_does_not_depend_on_roll_forward() -> None:
    start = cst(2026, 2, 13)
    assert due_after(K.OBJECTION, start, CAL) == due_after(K.OBJECTION, start, NO_ROLL)


# -- handling: 60 days, extension of up to 30 ---------------------------------------------------


def test_handling_is_due_60_days_after_acceptance() -> None:
    assert last_day(due_after(K.HANDLING, cst(2025, 3, 3), PURE)) == date(2025, 5, 2)


def test_handling_whose_60th_day_is_in_the_may_day_holiday_rolls_past_it() -> None:
    # Day 60 is Friday 2 May 2025; the holiday runs 1-5 May.
    assert last_day(due_after(K.HANDLING, cst(2025, 3, 3), CAL)) == date(2025, 5, 6)


def test_handling_with_a_30_day_extension_is_due_on_day_90() -> None:
    start = cst(2025, 4, 1)
    assert last_day(due_after(K.HANDLING, start, PURE, extra_days=30)) == date(2025, 6, 30)
    assert last_day(due_after(K.HANDLING, start, CAL, extra_days=30)) == date(2025, 6, 30)


def test_handling_extension_counts_from_acceptance_not_from_the_rolled_forward_due() -> None:
    # Day 60 (31 May 2025) is in the Dragon Boat holiday and rolls to 3 June, but an extension
    # of 1 day still ends on day 61 (1 June, holiday) -> also 3 June, not 4 June.
    start = cst(2025, 4, 1)
    assert last_day(due_after(K.HANDLING, start, CAL)) == date(2025, 6, 3)
    assert last_day(due_after(K.HANDLING, start, CAL, extra_days=1)) == date(2025, 6, 3)
    assert last_day(due_after(K.HANDLING, start, PURE, extra_days=1)) == date(2025, 6, 1)


def test_handling_extended_into_a_holiday_rolls_forward() -> None:
    # Accepted 3 March 2025 + 90 = Sunday 1 June (Dragon Boat holiday to 2 June).
    start = cst(2025, 3, 3)
    assert last_day(due_after(K.HANDLING, start, CAL, extra_days=30)) == date(2025, 6, 3)
    assert last_day(due_after(K.HANDLING, start, PURE, extra_days=30)) == date(2025, 6, 1)


@pytest.mark.parametrize("extra", [1, 7, 15, 29, 30])
def test_extra_days_lengthen_a_period_day_for_day_in_pure_arithmetic(extra: int) -> None:
    start = cst(2025, 3, 3)
    base = due_after(K.HANDLING, start, PURE)
    assert due_after(K.HANDLING, start, PURE, extra_days=extra) - base == timedelta(days=extra)


# -- review and final review: 30 days each, hearings excluded -----------------------------------


def test_review_request_is_due_30_days_after_the_reply_is_received() -> None:
    due = due_after(K.REVIEW_REQUEST, cst(2025, 6, 3), CAL)
    assert last_day(due) == date(2025, 7, 3)
    assert on_time(cst(2025, 7, 3, 23, 59), due)
    assert not on_time(cst(2025, 7, 4, 0, 0), due)


def test_review_decision_is_due_30_days_after_the_request() -> None:
    due = due_after(K.REVIEW_DECISION, cst(2025, 7, 1), CAL)
    assert last_day(due) == date(2025, 7, 31)
    assert not on_time(cst(2025, 8, 1, 0, 0), due)


def test_final_review_request_is_due_30_days_after_the_review_and_rolls_past_a_sunday() -> None:
    # 1 August 2025 + 30 = Sunday 31 August -> Monday 1 September.
    assert last_day(due_after(K.FINAL_REVIEW_REQUEST, cst(2025, 8, 1), PURE)) == date(2025, 8, 31)
    assert last_day(due_after(K.FINAL_REVIEW_REQUEST, cst(2025, 8, 1), CAL)) == date(2025, 9, 1)


def test_final_review_decision_is_due_30_days_after_the_request() -> None:
    assert last_day(due_after(K.FINAL_REVIEW_DECISION, cst(2025, 11, 3), CAL)) == date(2025, 12, 3)


def test_hearing_days_are_added_to_the_final_review_decision_period() -> None:
    start = cst(2025, 11, 3)
    assert last_day(due_after(K.FINAL_REVIEW_DECISION, start, CAL, extra_days=7)) == date(
        2025, 12, 10
    )
    # 30 + 10 ends on Saturday 13 December -> Monday 15 December.
    assert last_day(due_after(K.FINAL_REVIEW_DECISION, start, CAL, extra_days=10)) == date(
        2025, 12, 15
    )
    assert last_day(due_after(K.FINAL_REVIEW_DECISION, start, PURE, extra_days=10)) == date(
        2025, 12, 13
    )


def test_final_review_decision_rolls_past_national_day_but_not_past_a_worked_saturday() -> None:
    start = cst(2025, 9, 1)
    # Day 30 is 1 October -> 9 October; with 10 hearing days day 40 is Saturday 11 October,
    # an adjusted working day, so it does not roll.
    assert last_day(due_after(K.FINAL_REVIEW_DECISION, start, CAL)) == date(2025, 10, 9)
    assert last_day(due_after(K.FINAL_REVIEW_DECISION, start, CAL, extra_days=10)) == date(
        2025, 10, 11
    )


@pytest.mark.parametrize(
    "kind",
    [K.REVIEW_REQUEST, K.REVIEW_DECISION, K.FINAL_REVIEW_REQUEST, K.FINAL_REVIEW_DECISION],
)
def test_every_review_period_is_30_calendar_days_in_pure_arithmetic(kind: DeadlineKind) -> None:
    assert last_day(due_after(kind, cst(2025, 1, 31), PURE)) == date(2025, 3, 2)


# -- China time near midnight ------------------------------------------------------------------


def test_half_past_eleven_at_night_in_china_is_still_that_local_day() -> None:
    at = datetime.fromisoformat("2025-03-03T23:30:00+08:00")
    assert local_date(at) == date(2025, 3, 3)
    assert last_day(due_after(K.ACCEPTANCE, at, CAL)) == date(2025, 3, 18)


def test_half_past_four_in_the_afternoon_utc_is_the_next_local_day_in_china() -> None:
    at = datetime.fromisoformat("2025-03-03T16:30:00+00:00")
    assert local_date(at) == date(2025, 3, 4)
    assert last_day(due_after(K.ACCEPTANCE, at, CAL)) == date(2025, 3, 19)


def test_one_minute_before_midnight_china_and_one_minute_after_fall_on_different_days() -> None:
    before = datetime.fromisoformat("2025-03-03T15:59:00+00:00")
    after = datetime.fromisoformat("2025-03-03T16:01:00+00:00")
    assert due_after(K.ACCEPTANCE, after, CAL) - due_after(K.ACCEPTANCE, before, CAL) == (
        timedelta(days=1)
    )


def test_a_deadline_ends_at_midnight_china_time_which_is_16_00_utc() -> None:
    due = due_after(K.ACCEPTANCE, cst(2025, 3, 3), CAL)
    assert due == datetime(2025, 3, 18, 16, 0, tzinfo=UTC)
    assert end_of_day(date(2025, 3, 18)) == datetime(2025, 3, 18, 16, 0, tzinfo=UTC)


def test_an_act_at_23_59_china_time_on_the_last_day_given_in_utc_is_on_time() -> None:
    due = due_after(K.ACCEPTANCE, cst(2025, 3, 3), CAL)
    assert on_time(datetime(2025, 3, 18, 15, 59, 59, tzinfo=UTC), due)
    assert not on_time(datetime(2025, 3, 18, 16, 0, tzinfo=UTC), due)


def test_other_time_zones_are_converted_to_china_time() -> None:
    from datetime import timezone

    new_york = timezone(timedelta(hours=-5))
    at = datetime(2025, 3, 3, 12, 0, tzinfo=new_york)  # 17:00 UTC = 01:00 on 4 March in China
    assert local_date(at) == date(2025, 3, 4)


# -- naive datetimes ---------------------------------------------------------------------------


def test_local_date_rejects_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(datetime(2025, 3, 3, 10, 0))


@pytest.mark.parametrize("kind", list(LIMITS))
def test_due_after_rejects_a_naive_start(kind: DeadlineKind) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_after(kind, datetime(2025, 3, 3, 10, 0), CAL)


def test_day_number_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        day_number(cst(2025, 3, 3), datetime(2025, 3, 4, 10, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        day_number(datetime(2025, 3, 3, 10, 0), cst(2025, 3, 4))


# -- day_number --------------------------------------------------------------------------------


def test_day_number_is_zero_on_the_day_of_the_start() -> None:
    assert day_number(cst(2025, 3, 3, 9), cst(2025, 3, 3, 23, 59)) == 0


def test_day_number_is_one_just_after_local_midnight() -> None:
    assert day_number(cst(2025, 3, 3, 23, 59), cst(2025, 3, 4, 0, 1)) == 1


def test_day_number_counts_local_days_across_utc_instants() -> None:
    start = datetime.fromisoformat("2025-03-03T15:59:00+00:00")  # 23:59 on 3 March in China
    at = datetime.fromisoformat("2025-03-03T16:30:00+00:00")  # 00:30 on 4 March in China
    assert day_number(start, at) == 1


def test_day_number_ignores_holidays() -> None:
    assert day_number(cst(2025, 9, 30), cst(2025, 10, 9)) == 9


def test_day_number_of_the_last_day_of_a_pure_period_equals_its_length() -> None:
    start = cst(2025, 3, 3)
    for kind, limit in LIMITS.items():
        if limit.working_days:
            continue
        last = last_day(due_after(kind, start, PURE))
        assert day_number(start, datetime.combine(last, datetime.min.time(), CHINA_TZ)) == (
            limit.days
        ), kind


# -- due_on (an assignment's date) --------------------------------------------------------------


def test_an_assignment_date_is_due_at_the_end_of_that_day() -> None:
    assert due_on(date(2025, 3, 20), CAL) == cst(2025, 3, 21, 0, 0)


def test_an_assignment_date_on_a_holiday_rolls_forward_unless_roll_forward_is_off() -> None:
    assert last_day(due_on(date(2025, 10, 3), CAL)) == date(2025, 10, 9)
    assert last_day(due_on(date(2025, 10, 3), NO_ROLL)) == date(2025, 10, 3)


# -- properties of the arithmetic --------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2024, 12, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
calendar_kinds = st.sampled_from([k for k, limit in LIMITS.items() if not limit.working_days])


@settings(max_examples=200, deadline=None)
@given(start=starts, kind=calendar_kinds, extra=st.integers(0, 60))
def test_pure_calendar_periods_end_exactly_n_local_days_after_the_start(
    start: datetime, kind: DeadlineKind, extra: int
) -> None:
    due = due_after(kind, start, PURE, extra_days=extra)
    assert last_day(due) == local_date(start) + timedelta(days=LIMITS[kind].days + extra)
    assert due.astimezone(CHINA_TZ).time() == datetime.min.time()


@settings(max_examples=200, deadline=None)
@given(start=starts, kind=calendar_kinds, extra=st.integers(0, 60))
def test_rolled_forward_periods_end_on_the_first_working_day_on_or_after_the_pure_end(
    start: datetime, kind: DeadlineKind, extra: int
) -> None:
    pure_last = last_day(due_after(kind, start, PURE, extra_days=extra))
    rolled_last = last_day(due_after(kind, start, CAL, extra_days=extra))
    assert rolled_last >= pure_last
    assert CAL.is_working_day(rolled_last)
    day = pure_last
    while day < rolled_last:
        assert not CAL.is_working_day(day)
        day += timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(start=starts)
def test_objection_ends_on_the_5th_working_day_after_receipt(start: datetime) -> None:
    last = last_day(due_after(K.OBJECTION, start, CAL))
    assert CAL.is_working_day(last)
    day, working = local_date(start), 0
    while day < last:
        day += timedelta(days=1)
        working += CAL.is_working_day(day)
    assert working == 5


@settings(max_examples=200, deadline=None)
@given(a=starts, b=starts, kind=st.sampled_from(list(LIMITS)))
def test_a_later_start_never_gives_an_earlier_due(
    a: datetime, b: datetime, kind: DeadlineKind
) -> None:
    early, late = sorted((a, b))
    assert due_after(kind, early, CAL) <= due_after(kind, late, CAL)

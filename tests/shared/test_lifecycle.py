"""The petition-matter lifecycle (domain.md §2): the transition table, its guards and deadlines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from shared.deadlines import CHINA_TZ, Bound, DeadlineKind, due_after, due_on, local_date
from shared.errors import DomainError, ErrorCode
from shared.holidays import HolidayCalendar, default_calendar
from shared.lifecycle import (
    TERMINAL,
    TRANSITIONS,
    Action,
    CaseState,
    CaseStatus,
    Channel,
    Command,
    Deadline,
    Event,
    LegalChannel,
    ReplyOutcome,
    ReviewOutcome,
    Satisfaction,
    allowed_actions,
    apply,
    decide,
    execute,
    replay,
)

K = DeadlineKind
S = CaseStatus
CAL = default_calendar()
HOUR = timedelta(hours=1)
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=CHINA_TZ)  # a Monday


def cst(y: int, m: int, d: int, hh: int = 10, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=CHINA_TZ)


def all_fields(at: datetime) -> dict[str, Any]:
    """A value for every command field, each valid for any action that reads it."""
    return {
        "channel": Channel.VISIT,
        "received_from": "621100",
        "target": "621102",
        "due_date": local_date(at) + timedelta(days=10),
        "legal_channel": LegalChannel.LITIGATION,
        "reason": "the matter belongs to another body",
        "text": "written reply",
        "outcome": ReplyOutcome.SUPPORTED,
        "review_outcome": ReviewOutcome.UPHELD,
        "rating": Satisfaction.SATISFIED,
        "days": 10,
        "counselling": "counselled in person",
        "delivered_at": at,
    }


def valid_command(action: Action, state: CaseState | None, **overrides: Any) -> Command:
    """A command for ``action`` that passes every guard when ``state`` allows the action."""
    at = T0 if state is None else state.last_at + HOUR
    if action is Action.CLOSE and state is not None:
        # Closing waits until the petitioner's window for the next appeal has lapsed.
        kind = K.REVIEW_REQUEST if state.status is S.REPLIED else K.FINAL_REVIEW_REQUEST
        window = state.deadline(kind)
        if window is not None:
            at = max(at, window.due)
    fields = all_fields(at) | overrides
    return Command(action=action, at=fields.pop("at", at), actor="clerk-01", **fields)


def _shortest_paths() -> dict[CaseStatus, tuple[Action, ...]]:
    paths: dict[CaseStatus, tuple[Action, ...]] = {S.REGISTERED: (Action.REGISTER,)}
    queue = [S.REGISTERED]
    while queue:
        status = queue.pop(0)
        for t in TRANSITIONS.values():
            if status in t.sources and t.target is not None and t.target not in paths:
                paths[t.target] = (*paths[status], t.action)
                queue.append(t.target)
    return paths


PATHS = _shortest_paths()


# Acts that need earlier acts besides their status: the fast track's steps need the track.
PREPARED: dict[Action, tuple[Action, ...]] = {
    Action.RECORD_MEETING: (Action.FAST_TRACK,),
    Action.RECORD_FACTS: (Action.FAST_TRACK, Action.RECORD_MEETING),
}


def reach(status: CaseStatus, prepared: tuple[Action, ...] = ()) -> tuple[CaseState, list[Event]]:
    """A case in ``status``; ``prepared`` acts are done right after registration."""
    state: CaseState | None = None
    events: list[Event] = []
    path = PATHS[status]
    for action in (*path[:1], *prepared, *path[1:]):
        state, event = execute(state, valid_command(action, state), CAL)
        events.append(event)
    assert state is not None
    assert state.status is status
    return state, events


def refuse(state: CaseState | None, command: Command, code: ErrorCode) -> DomainError:
    with pytest.raises(DomainError) as info:
        decide(state, command, CAL)
    assert info.value.code is code, info.value
    return info.value


DEFAULTS: dict[Action, dict[str, Any]] = {
    Action.REGISTER: {"channel": Channel.LETTER},
    Action.TRANSFER: {"target": "621102", "reason": "competent body"},
    Action.ASSIGN: {"target": "621102"},
    Action.REDIRECT: {"legal_channel": LegalChannel.LITIGATION, "reason": "court matter"},
    Action.NOT_ACCEPT: {"reason": "pending below"},
    Action.RAISE_OBJECTION: {"reason": "outside our remit"},
    Action.RECORD_COMPLETION_REPORT: {"text": "done"},
    Action.SETTLE_BY_MEDIATION: {"text": "mediation agreement"},
    Action.END_MEDIATION: {"reason": "no agreement"},
    Action.EXTEND_HANDLING: {"days": 30, "reason": "complex facts"},
    Action.REPLY: {"outcome": ReplyOutcome.SUPPORTED, "text": "reply"},
    Action.RATE_SATISFACTION: {"rating": Satisfaction.SATISFIED},
    Action.REQUEST_REVIEW: {"reason": "disagree"},
    Action.RECORD_REVIEW_DECISION: {"review_outcome": ReviewOutcome.UPHELD, "text": "upheld"},
    Action.REQUEST_FINAL_REVIEW: {"reason": "still disagree"},
    Action.RECORD_HEARING: {"days": 7},
    Action.RECORD_FINAL_REVIEW_DECISION: {"review_outcome": ReviewOutcome.UPHELD, "text": "final"},
}


class Case:
    """A case driven step by step through ``execute``, keeping its event log."""

    def __init__(self, at: datetime = T0, calendar: HolidayCalendar = CAL, **fields: Any) -> None:
        self.calendar = calendar
        self.state: CaseState | None = None
        self.events: list[Event] = []
        self.do(Action.REGISTER, at, **fields)

    @property
    def s(self) -> CaseState:
        assert self.state is not None
        return self.state

    def command(self, action: Action, at: datetime, **fields: Any) -> Command:
        return Command(
            action=action, at=at, actor="clerk-01", **(DEFAULTS.get(action, {}) | fields)
        )

    def do(self, action: Action, at: datetime, **fields: Any) -> CaseState:
        self.state, event = execute(self.state, self.command(action, at, **fields), self.calendar)
        self.events.append(event)
        return self.state

    def refused(self, action: Action, at: datetime, code: ErrorCode, **fields: Any) -> DomainError:
        before = self.state
        with pytest.raises(DomainError) as info:
            decide(self.state, self.command(action, at, **fields), self.calendar)
        assert info.value.code is code, info.value
        assert self.state is before
        return info.value


def accepted_case(accepted_at: datetime, **fields: Any) -> Case:
    case = Case(accepted_at - timedelta(days=2), **fields)
    case.do(Action.ACCEPT, accepted_at)
    return case


def replied_case(
    reply_at: datetime,
    *,
    delivered_at: datetime | None = None,
    outcome: ReplyOutcome = ReplyOutcome.SUPPORTED,
) -> Case:
    case = accepted_case(reply_at - timedelta(days=20))
    case.do(Action.BEGIN_HANDLING, reply_at - timedelta(days=19))
    case.do(Action.REPLY, reply_at, outcome=outcome, delivered_at=delivered_at)
    return case


def reviewed_case(
    decision_at: datetime,
    *,
    outcome: ReplyOutcome = ReplyOutcome.SUPPORTED,
    review_outcome: ReviewOutcome = ReviewOutcome.UPHELD,
) -> Case:
    case = replied_case(decision_at - timedelta(days=20), outcome=outcome)
    case.do(Action.REQUEST_REVIEW, decision_at - timedelta(days=10))
    case.do(Action.RECORD_REVIEW_DECISION, decision_at, review_outcome=review_outcome)
    return case


def final_review_case(requested_at: datetime) -> Case:
    case = reviewed_case(requested_at - timedelta(days=5))
    case.do(Action.REQUEST_FINAL_REVIEW, requested_at)
    return case


# -- the table itself --------------------------------------------------------------------------

ALLOWED = [
    pytest.param(t.action, source, id=f"{t.action.value}-from-{source.value}")
    for t in TRANSITIONS.values()
    for source in sorted(t.sources)
]
DISALLOWED = [
    pytest.param(t.action, status, id=f"{t.action.value}-from-{status.value}")
    for t in TRANSITIONS.values()
    if t.action is not Action.REGISTER
    for status in sorted(set(CaseStatus) - t.sources)
]
TEXT_FIELDS = {name for name, value in all_fields(T0).items() if isinstance(value, str)}
REQUIRED = [
    pytest.param(t.action, name, missing, id=f"{t.action.value}-{name}-{label}")
    for t in TRANSITIONS.values()
    for name in t.requires
    for missing, label in [(None, "none"), ("", "empty"), ("   ", "blank")]
    if missing is None or name in TEXT_FIELDS
]


def test_every_action_has_exactly_one_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(Action)
    assert all(action is t.action for action, t in TRANSITIONS.items())


def test_every_status_is_reachable_from_registration() -> None:
    assert set(PATHS) == set(CaseStatus)


def test_terminal_statuses_allow_no_action_and_all_others_allow_some() -> None:
    for status in CaseStatus:
        assert (allowed_actions(status) == []) == (status in TERMINAL), status


def test_only_registration_is_allowed_before_a_case_exists() -> None:
    assert allowed_actions(None) == [Action.REGISTER]


def test_every_transition_has_at_least_one_disallowed_status() -> None:
    for t in TRANSITIONS.values():
        assert set(CaseStatus) - t.sources, t.action


@pytest.mark.parametrize(("action", "source"), ALLOWED)
def test_transition_is_accepted_from_each_allowed_status(
    action: Action, source: CaseStatus
) -> None:
    state, _ = reach(source, PREPARED.get(action, ()))
    command = valid_command(action, state)
    transition = TRANSITIONS[action]

    event = decide(state, command, CAL)
    after = apply(state, event, CAL)

    expected = transition.target or source
    assert (event.seq, event.from_status, event.to_status) == (state.version + 1, source, expected)
    assert after.status is expected
    assert after.version == state.version + 1
    assert after.last_at == command.at
    for kind in transition.meets:
        before = state.deadline(kind)
        if before is not None and before.met_at is None:
            assert after.deadlines[kind].met_at == command.at


@pytest.mark.parametrize(("action", "status"), DISALLOWED)
def test_transition_is_refused_from_a_disallowed_status(action: Action, status: CaseStatus) -> None:
    state, _ = reach(status)
    error = refuse(state, valid_command(action, state), ErrorCode.INVALID_TRANSITION)
    assert status.value in error.message


def test_registration_creates_a_registered_case_with_an_acceptance_deadline() -> None:
    state, event = execute(None, valid_command(Action.REGISTER, None, received_from=None), CAL)
    assert (event.seq, event.from_status, event.to_status) == (1, None, S.REGISTERED)
    assert state.status is S.REGISTERED
    assert state.registered_at == state.last_at == T0
    assert state.version == 1
    assert set(state.deadlines) == {K.ACCEPTANCE}
    assert state.deadlines[K.ACCEPTANCE].due == due_after(K.ACCEPTANCE, T0, CAL)


def test_registration_of_a_transferred_in_matter_also_opens_the_objection_window() -> None:
    state, _ = execute(None, valid_command(Action.REGISTER, None), CAL)
    assert state.received_from == "621100"
    assert state.deadlines[K.OBJECTION].due == due_after(K.OBJECTION, T0, CAL)


@pytest.mark.parametrize("status", list(CaseStatus))
def test_registering_an_existing_case_again_is_a_duplicate(status: CaseStatus) -> None:
    state, _ = reach(status)
    refuse(state, valid_command(Action.REGISTER, state), ErrorCode.DUPLICATE)


@pytest.mark.parametrize("action", [a for a in Action if a is not Action.REGISTER])
def test_any_action_on_a_case_that_does_not_exist_is_not_found(action: Action) -> None:
    refuse(None, valid_command(action, None), ErrorCode.NOT_FOUND)


@pytest.mark.parametrize(("action", "name", "missing"), REQUIRED)
def test_a_missing_required_field_is_bad_user_input_naming_the_field(
    action: Action, name: str, missing: str | None
) -> None:
    transition = TRANSITIONS[action]
    state = None if action is Action.REGISTER else reach(min(transition.sources))[0]
    complete = valid_command(action, state)
    incomplete: Any = {name: missing}
    error = refuse(state, replace(complete, **incomplete), ErrorCode.BAD_USER_INPUT)
    assert error.field == name


def test_the_required_fields_of_a_transition_are_the_only_ones_checked() -> None:
    state, _ = reach(S.ACCEPTED)
    bare = Command(action=Action.BEGIN_HANDLING, at=state.last_at + HOUR, actor="clerk-01")
    assert execute(state, bare, CAL)[0].status is S.HANDLING


# -- times -------------------------------------------------------------------------------------


def test_a_naive_time_is_bad_user_input() -> None:
    case = Case()
    error = case.refused(Action.ACCEPT, datetime(2025, 3, 4, 10, 0), ErrorCode.BAD_USER_INPUT)
    assert error.field == "at"


def test_registration_with_a_naive_time_is_bad_user_input() -> None:
    naive = replace(valid_command(Action.REGISTER, None), at=datetime(2025, 3, 3, 9, 0))
    assert refuse(None, naive, ErrorCode.BAD_USER_INPUT).field == "at"


def test_an_act_dated_before_the_last_event_is_bad_user_input() -> None:
    case = Case(T0)
    case.do(Action.ACCEPT, T0 + 2 * HOUR)
    error = case.refused(Action.BEGIN_HANDLING, T0 + HOUR, ErrorCode.BAD_USER_INPUT)
    assert error.field == "at"


def test_an_act_at_the_same_instant_as_the_last_event_is_allowed() -> None:
    case = Case(T0)
    assert case.do(Action.ACCEPT, T0).status is S.ACCEPTED


def test_event_order_compares_instants_not_wall_clock_times() -> None:
    case = Case(cst(2025, 3, 3, 9))  # 01:00 UTC
    case.refused(Action.ACCEPT, datetime(2025, 3, 3, 0, 30, tzinfo=UTC), ErrorCode.BAD_USER_INPUT)
    assert case.do(Action.ACCEPT, datetime(2025, 3, 3, 2, 0, tzinfo=UTC)).status is S.ACCEPTED


# -- acceptance ------------------------------------------------------------------------------


def test_acceptance_on_day_15_is_on_time() -> None:
    case = Case(cst(2025, 3, 3, 9), received_from=None)
    state = case.do(Action.ACCEPT, cst(2025, 3, 18, 23, 59, 59))
    acceptance = state.deadlines[K.ACCEPTANCE]
    assert acceptance.was_met_on_time()
    assert not acceptance.is_overdue(cst(2025, 6, 1))


def test_a_late_acceptance_is_allowed_but_recorded_as_not_met_on_time() -> None:
    case = Case(cst(2025, 3, 3, 9), received_from=None)
    state = case.do(Action.ACCEPT, cst(2025, 3, 19, 0, 0))
    acceptance = state.deadlines[K.ACCEPTANCE]
    assert state.status is S.ACCEPTED
    assert acceptance.met_at == cst(2025, 3, 19, 0, 0)
    assert not acceptance.was_met_on_time()
    assert acceptance.is_overdue(cst(2025, 3, 19, 0, 0))
    assert not state.is_overdue(cst(2025, 3, 20))  # met, late; the handling clock is running


def test_acceptance_starts_the_60_day_handling_period() -> None:
    state = accepted_case(cst(2025, 4, 1)).s
    handling = state.deadlines[K.HANDLING]
    assert handling.started_at == cst(2025, 4, 1)
    assert handling.due == due_after(K.HANDLING, cst(2025, 4, 1), CAL)
    assert handling.due == cst(2025, 6, 4, 0, 0)  # day 60 = 31 May, Dragon Boat -> 3 June
    assert handling.extra_days == 0


@pytest.mark.parametrize(
    "action", [Action.TRANSFER, Action.ASSIGN, Action.REDIRECT, Action.NOT_ACCEPT, Action.ACCEPT]
)
def test_routing_a_matter_in_any_way_meets_the_acceptance_deadline(action: Action) -> None:
    case = Case(T0, received_from=None)
    state = case.do(action, cst(2025, 3, 10), due_date=date(2025, 3, 31))
    assert state.deadlines[K.ACCEPTANCE].met_at == cst(2025, 3, 10)
    assert state.deadlines[K.ACCEPTANCE].was_met_on_time()


# -- on-the-spot notice ----------------------------------------------------------------------


def test_an_on_the_spot_notice_late_in_the_evening_of_the_registration_day_is_allowed() -> None:
    case = Case(datetime.fromisoformat("2025-03-03T23:30:00+08:00"))
    state = case.do(
        Action.ACCEPT, datetime.fromisoformat("2025-03-03T23:45:00+08:00"), notified_on_spot=True
    )
    assert state.notified_on_spot


def test_an_on_the_spot_notice_after_local_midnight_is_refused() -> None:
    case = Case(datetime.fromisoformat("2025-03-03T23:30:00+08:00"))
    error = case.refused(
        Action.ACCEPT,
        datetime.fromisoformat("2025-03-03T16:10:00+00:00"),  # 00:10 on 4 March in China
        ErrorCode.BAD_USER_INPUT,
        notified_on_spot=True,
    )
    assert error.field == "notified_on_spot"


def test_an_ordinary_acceptance_the_next_day_is_not_an_on_the_spot_notice() -> None:
    case = Case(T0)
    state = case.do(Action.ACCEPT, T0 + timedelta(days=1))
    assert not state.notified_on_spot


# -- objection -------------------------------------------------------------------------------


def test_a_matter_not_received_from_another_body_cannot_be_objected_to() -> None:
    case = Case(T0, received_from=None)
    assert case.s.deadline(K.OBJECTION) is None
    case.refused(Action.RAISE_OBJECTION, T0 + HOUR, ErrorCode.INVALID_TRANSITION)


def test_objection_on_the_5th_working_day_is_allowed() -> None:
    # Received Thursday 6 March 2025; 5th working day is Thursday 13 March.
    case = Case(cst(2025, 3, 6), received_from="621100")
    state = case.do(Action.RAISE_OBJECTION, cst(2025, 3, 13, 23, 59, 59))
    assert state.status is S.NOT_ACCEPTED
    assert state.deadlines[K.OBJECTION].was_met_on_time()
    assert state.deadlines[K.ACCEPTANCE].was_met_on_time()


def test_objection_after_5_working_days_is_deadline_passed() -> None:
    case = Case(cst(2025, 3, 6), received_from="621100")
    case.refused(Action.RAISE_OBJECTION, cst(2025, 3, 14, 0, 0), ErrorCode.DEADLINE_PASSED)


def test_objection_over_spring_festival_counts_only_working_days() -> None:
    # Received Friday 13 Feb 2026: Sat 14 (worked) .. Fri 27 after the holiday.
    case = Case(cst(2026, 2, 13), received_from="621100")
    assert case.do(Action.RAISE_OBJECTION, cst(2026, 2, 27, 17)).status is S.NOT_ACCEPTED
    late = Case(cst(2026, 2, 13), received_from="621100")
    # Saturday 28 February is a working day, but it is the 6th.
    late.refused(Action.RAISE_OBJECTION, cst(2026, 2, 28, 9), ErrorCode.DEADLINE_PASSED)


def test_after_the_objection_window_the_matter_can_still_be_accepted() -> None:
    case = Case(cst(2025, 3, 6), received_from="621100")
    assert case.do(Action.ACCEPT, cst(2025, 3, 17)).status is S.ACCEPTED


# -- extension of the handling period --------------------------------------------------------


def test_extended_handling_is_due_60_plus_the_extension_days_after_acceptance() -> None:
    case = accepted_case(cst(2025, 4, 1))
    state = case.do(Action.EXTEND_HANDLING, cst(2025, 5, 20), days=30)
    handling = state.deadlines[K.HANDLING]
    assert state.status is S.ACCEPTED
    assert state.handling_extended
    assert handling.started_at == cst(2025, 4, 1)
    assert handling.extra_days == 30
    assert handling.due == due_after(K.HANDLING, cst(2025, 4, 1), CAL, extra_days=30)
    assert handling.due == cst(2025, 7, 1, 0, 0)  # day 90 is Monday 30 June


def test_handling_can_be_extended_only_once() -> None:
    case = accepted_case(cst(2025, 4, 1))
    case.do(Action.EXTEND_HANDLING, cst(2025, 5, 1), days=10)
    case.refused(Action.EXTEND_HANDLING, cst(2025, 5, 2), ErrorCode.INVALID_TRANSITION, days=10)


@pytest.mark.parametrize("days", [1, 30])
def test_an_extension_of_1_to_30_days_is_allowed(days: int) -> None:
    case = accepted_case(cst(2025, 4, 1))
    state = case.do(Action.EXTEND_HANDLING, cst(2025, 5, 1), days=days)
    assert state.deadlines[K.HANDLING].extra_days == days


@pytest.mark.parametrize("days", [-1, 0, 31, 60])
def test_an_extension_outside_1_to_30_days_is_bad_user_input(days: int) -> None:
    case = accepted_case(cst(2025, 4, 1))
    error = case.refused(
        Action.EXTEND_HANDLING, cst(2025, 5, 1), ErrorCode.BAD_USER_INPUT, days=days
    )
    assert error.field == "days"


def test_an_extension_on_the_last_day_of_the_handling_period_is_allowed() -> None:
    case = accepted_case(cst(2025, 4, 1))  # due at the end of 3 June 2025 (rolled forward)
    assert case.do(Action.EXTEND_HANDLING, cst(2025, 6, 3, 23, 59, 59)).handling_extended


def test_an_extension_after_the_handling_deadline_is_deadline_passed() -> None:
    case = accepted_case(cst(2025, 4, 1))
    case.refused(Action.EXTEND_HANDLING, cst(2025, 6, 4, 0, 0), ErrorCode.DEADLINE_PASSED)


@pytest.mark.parametrize("status", [S.HANDLING, S.IN_MEDIATION])
def test_handling_can_be_extended_while_handling_or_in_mediation(status: CaseStatus) -> None:
    case = accepted_case(cst(2025, 4, 1))
    case.do(
        Action.BEGIN_HANDLING if status is S.HANDLING else Action.START_MEDIATION,
        cst(2025, 4, 2),
    )
    state = case.do(Action.EXTEND_HANDLING, cst(2025, 5, 1), days=5)
    assert state.status is status
    assert state.deadlines[K.HANDLING].extra_days == 5


def test_a_reply_on_day_90_of_an_extended_period_is_on_time() -> None:
    case = accepted_case(cst(2025, 4, 1))
    case.do(Action.EXTEND_HANDLING, cst(2025, 5, 1), days=30)
    state = case.do(Action.REPLY, cst(2025, 6, 30, 18))
    assert state.deadlines[K.HANDLING].was_met_on_time()


def test_a_reply_after_the_handling_deadline_is_allowed_but_late() -> None:
    case = accepted_case(cst(2025, 4, 1))
    state = case.do(Action.REPLY, cst(2025, 6, 4, 9))
    assert state.status is S.REPLIED
    assert not state.deadlines[K.HANDLING].was_met_on_time()


# -- reply, review and final review ------------------------------------------------------------


def test_a_reply_records_its_outcome_and_opens_the_30_day_review_window() -> None:
    state = replied_case(cst(2025, 6, 3), outcome=ReplyOutcome.EXPLAINED).s
    assert state.outcome is ReplyOutcome.EXPLAINED
    window = state.deadlines[K.REVIEW_REQUEST]
    assert window.started_at == cst(2025, 6, 3)
    assert window.due == cst(2025, 7, 4, 0, 0)


def test_settlement_by_mediation_is_the_reply_and_meets_the_handling_deadline() -> None:
    case = accepted_case(cst(2025, 4, 1))
    case.do(Action.START_MEDIATION, cst(2025, 4, 2))
    state = case.do(Action.SETTLE_BY_MEDIATION, cst(2025, 4, 20))
    assert state.status is S.REPLIED
    assert state.deadlines[K.HANDLING].was_met_on_time()
    assert state.deadlines[K.REVIEW_REQUEST].started_at == cst(2025, 4, 20)


def test_review_requested_on_day_30_after_the_reply_is_allowed() -> None:
    case = replied_case(cst(2025, 6, 3))
    state = case.do(Action.REQUEST_REVIEW, cst(2025, 7, 3, 23, 59, 59))
    assert state.status is S.UNDER_REVIEW
    assert state.deadlines[K.REVIEW_REQUEST].met_at == cst(2025, 7, 3, 23, 59, 59)


def test_review_requested_on_day_31_after_the_reply_is_deadline_passed() -> None:
    case = replied_case(cst(2025, 6, 3))
    case.refused(Action.REQUEST_REVIEW, cst(2025, 7, 4, 0, 0), ErrorCode.DEADLINE_PASSED)


def test_a_later_delivery_moves_the_review_window() -> None:
    case = replied_case(cst(2025, 6, 3), delivered_at=cst(2025, 6, 10, 15))
    window = case.s.deadlines[K.REVIEW_REQUEST]
    assert window.started_at == cst(2025, 6, 10, 15)
    assert window.due == cst(2025, 7, 11, 0, 0)
    # Day 35 after the reply but day 28 after delivery: on time.
    assert case.do(Action.REQUEST_REVIEW, cst(2025, 7, 8)).status is S.UNDER_REVIEW


def test_a_review_request_after_30_days_from_delivery_is_deadline_passed() -> None:
    case = replied_case(cst(2025, 6, 3), delivered_at=cst(2025, 6, 10, 15))
    case.refused(Action.REQUEST_REVIEW, cst(2025, 7, 11, 0, 0), ErrorCode.DEADLINE_PASSED)


def test_a_reply_delivered_before_it_was_given_is_bad_user_input() -> None:
    case = accepted_case(cst(2025, 5, 1))
    error = case.refused(
        Action.REPLY, cst(2025, 6, 3), ErrorCode.BAD_USER_INPUT, delivered_at=cst(2025, 6, 2)
    )
    assert error.field == "delivered_at"


def test_a_naive_delivery_time_is_bad_user_input() -> None:
    case = accepted_case(cst(2025, 5, 1))
    error = case.refused(
        Action.REPLY,
        cst(2025, 6, 3),
        ErrorCode.BAD_USER_INPUT,
        delivered_at=datetime(2025, 6, 4, 10, 0),
    )
    assert error.field == "delivered_at"


@pytest.mark.parametrize(
    "delivered_at",
    [datetime(2025, 6, 4, 10, 0), cst(2025, 6, 2)],
    ids=["naive", "before-settlement"],
)
def test_a_mediation_settlement_checks_its_delivery_time_like_a_reply(
    delivered_at: datetime,
) -> None:
    case = accepted_case(cst(2025, 5, 1))
    case.do(Action.START_MEDIATION, cst(2025, 5, 2))
    error = case.refused(
        Action.SETTLE_BY_MEDIATION,
        cst(2025, 6, 3),
        ErrorCode.BAD_USER_INPUT,
        delivered_at=delivered_at,
    )
    assert error.field == "delivered_at"


def test_a_review_request_starts_the_30_day_review_decision_period() -> None:
    case = replied_case(cst(2025, 6, 3))
    state = case.do(Action.REQUEST_REVIEW, cst(2025, 7, 1))
    decision = state.deadlines[K.REVIEW_DECISION]
    assert decision.started_at == cst(2025, 7, 1)
    assert decision.due == cst(2025, 8, 1, 0, 0)


def test_a_review_decision_records_its_outcome_and_opens_the_final_review_window() -> None:
    state = reviewed_case(cst(2025, 7, 29), review_outcome=ReviewOutcome.REVISED).s
    assert state.status is S.REVIEWED
    assert state.review_outcome is ReviewOutcome.REVISED
    assert state.deadlines[K.REVIEW_DECISION].was_met_on_time()
    assert state.deadlines[K.FINAL_REVIEW_REQUEST].due == cst(2025, 8, 29, 0, 0)


def test_final_review_requested_on_day_30_after_the_review_is_allowed() -> None:
    case = reviewed_case(cst(2025, 7, 29))
    state = case.do(Action.REQUEST_FINAL_REVIEW, cst(2025, 8, 28, 23, 59, 59))
    assert state.status is S.UNDER_FINAL_REVIEW
    assert state.deadlines[K.FINAL_REVIEW_REQUEST].was_met_on_time()


def test_final_review_requested_on_day_31_after_the_review_is_deadline_passed() -> None:
    case = reviewed_case(cst(2025, 7, 29))
    case.refused(Action.REQUEST_FINAL_REVIEW, cst(2025, 8, 29, 0, 0), ErrorCode.DEADLINE_PASSED)


def test_a_petitioners_window_ending_on_a_sunday_also_rolls_to_monday() -> None:
    # Review decided 31 July 2025: day 30 is Saturday 30 August -> Monday 1 September.
    case = reviewed_case(cst(2025, 7, 31))
    state = case.do(Action.REQUEST_FINAL_REVIEW, cst(2025, 9, 1, 15))
    assert state.status is S.UNDER_FINAL_REVIEW


def test_a_final_review_request_starts_the_30_day_decision_period() -> None:
    state = final_review_case(cst(2025, 11, 3)).s
    assert state.deadlines[K.FINAL_REVIEW_DECISION].due == cst(2025, 12, 4, 0, 0)


def test_hearing_days_extend_the_final_review_decision_deadline() -> None:
    case = final_review_case(cst(2025, 11, 3))
    state = case.do(Action.RECORD_HEARING, cst(2025, 11, 20), days=7)
    decision = state.deadlines[K.FINAL_REVIEW_DECISION]
    assert state.status is S.UNDER_FINAL_REVIEW
    assert decision.extra_days == 7
    assert decision.started_at == cst(2025, 11, 3)
    assert decision.due == cst(2025, 12, 11, 0, 0)


def test_hearing_days_of_several_hearings_add_up() -> None:
    case = final_review_case(cst(2025, 11, 3))
    case.do(Action.RECORD_HEARING, cst(2025, 11, 10), days=7)
    state = case.do(Action.RECORD_HEARING, cst(2025, 11, 20), days=3)
    decision = state.deadlines[K.FINAL_REVIEW_DECISION]
    assert decision.extra_days == 10
    # Day 40 is Saturday 13 December -> Monday 15 December.
    assert decision.due == cst(2025, 12, 16, 0, 0)


def test_a_final_review_decision_within_30_days_plus_hearings_is_on_time() -> None:
    case = final_review_case(cst(2025, 11, 3))
    case.do(Action.RECORD_HEARING, cst(2025, 11, 20), days=7)
    assert not case.s.is_overdue(cst(2025, 12, 8))  # overdue without the hearing
    state = case.do(Action.RECORD_FINAL_REVIEW_DECISION, cst(2025, 12, 10, 20))
    assert state.deadlines[K.FINAL_REVIEW_DECISION].was_met_on_time()


def test_a_final_review_decision_after_30_days_without_hearings_is_late() -> None:
    case = final_review_case(cst(2025, 11, 3))
    assert case.s.is_overdue(cst(2025, 12, 8))
    state = case.do(Action.RECORD_FINAL_REVIEW_DECISION, cst(2025, 12, 10, 20))
    assert not state.deadlines[K.FINAL_REVIEW_DECISION].was_met_on_time()


@pytest.mark.parametrize("days", [0, -3, 61])
def test_hearing_time_outside_1_to_60_days_is_bad_user_input(days: int) -> None:
    case = final_review_case(cst(2025, 11, 3))
    error = case.refused(
        Action.RECORD_HEARING, cst(2025, 11, 20), ErrorCode.BAD_USER_INPUT, days=days
    )
    assert error.field == "days"


def test_hearing_time_of_60_days_is_allowed() -> None:
    case = final_review_case(cst(2025, 11, 3))
    assert (
        case.do(Action.RECORD_HEARING, cst(2025, 11, 20), days=60)
        .deadlines[K.FINAL_REVIEW_DECISION]
        .extra_days
        == 60
    )


def test_hearings_add_at_most_60_days_in_all() -> None:
    case = final_review_case(cst(2025, 11, 3))
    case.do(Action.RECORD_HEARING, cst(2025, 11, 10), days=40)
    error = case.refused(
        Action.RECORD_HEARING, cst(2025, 11, 20), ErrorCode.BAD_USER_INPUT, days=21
    )
    assert error.field == "days"
    assert (
        case.do(Action.RECORD_HEARING, cst(2025, 11, 20), days=20)
        .deadlines[K.FINAL_REVIEW_DECISION]
        .extra_days
        == 60
    )


def test_a_hearing_cannot_cure_a_final_review_decision_already_late() -> None:
    case = final_review_case(cst(2025, 11, 3))
    assert case.s.is_overdue(cst(2025, 12, 8))
    case.refused(Action.RECORD_HEARING, cst(2025, 12, 8), ErrorCode.DEADLINE_PASSED, days=7)
    assert case.s.is_overdue(cst(2025, 12, 8))


def test_a_delivery_recorded_after_the_reply_restarts_the_review_window_from_receipt() -> None:
    case = replied_case(cst(2025, 6, 3))
    state = case.do(Action.RECORD_DELIVERY, cst(2025, 6, 12, 9), delivered_at=cst(2025, 6, 10, 15))
    window = state.deadlines[K.REVIEW_REQUEST]
    assert window.started_at == cst(2025, 6, 10, 15)
    assert window.due == cst(2025, 7, 11, 0, 0)  # day 30 after 10 June is 10 July
    assert state.status is S.REPLIED


def test_a_delivery_of_the_review_decision_restarts_the_final_review_window() -> None:
    case = reviewed_case(cst(2025, 7, 1))
    state = case.do(Action.RECORD_DELIVERY, cst(2025, 7, 9), delivered_at=cst(2025, 7, 8, 10))
    assert state.deadlines[K.FINAL_REVIEW_REQUEST].started_at == cst(2025, 7, 8, 10)


@pytest.mark.parametrize(
    ("delivered", "why"),
    [
        (cst(2025, 6, 13), "in the future of the record"),
        (cst(2025, 6, 2), "before the reply was given"),
    ],
)
def test_a_delivery_outside_reply_and_now_is_bad_user_input(delivered: datetime, why: str) -> None:
    case = replied_case(cst(2025, 6, 3))
    error = case.refused(
        Action.RECORD_DELIVERY, cst(2025, 6, 12), ErrorCode.BAD_USER_INPUT, delivered_at=delivered
    )
    assert error.field == "delivered_at", why


# -- three-tier finality -----------------------------------------------------------------------


def test_the_final_review_decision_closes_the_case_with_finality() -> None:
    case = final_review_case(cst(2025, 11, 3))
    state = case.do(
        Action.RECORD_FINAL_REVIEW_DECISION, cst(2025, 11, 25), review_outcome=ReviewOutcome.REVISED
    )
    assert state.status is S.CLOSED
    assert state.final
    assert state.review_outcome is ReviewOutcome.REVISED


@pytest.mark.parametrize("action", [a for a in Action if a is not Action.REGISTER])
def test_after_finality_every_further_command_is_an_invalid_transition(action: Action) -> None:
    case = final_review_case(cst(2025, 11, 3))
    state = case.do(Action.RECORD_FINAL_REVIEW_DECISION, cst(2025, 11, 25))
    refuse(state, valid_command(action, state), ErrorCode.INVALID_TRANSITION)


def test_after_finality_registering_the_same_case_id_again_is_a_duplicate() -> None:
    # Re-registration of the same matter under a new case is checked at the service layer.
    case = final_review_case(cst(2025, 11, 3))
    state = case.do(Action.RECORD_FINAL_REVIEW_DECISION, cst(2025, 11, 25))
    refuse(state, valid_command(Action.REGISTER, state), ErrorCode.DUPLICATE)


@pytest.mark.parametrize("status", [S.REPLIED, S.REVIEWED])
def test_closing_before_final_review_does_not_reach_finality(status: CaseStatus) -> None:
    state, _ = reach(status)
    after, _ = execute(state, valid_command(Action.CLOSE, state), CAL)
    assert after.status is S.CLOSED
    assert not after.final


# -- closing -----------------------------------------------------------------------------------


def test_closing_a_replied_case_while_the_review_window_is_open_is_refused() -> None:
    case = replied_case(cst(2025, 6, 3))
    error = case.refused(Action.CLOSE, cst(2025, 6, 10), ErrorCode.INVALID_TRANSITION)
    assert "review" in error.message


def test_closing_a_replied_case_with_a_dissatisfied_rating_in_the_window_is_refused() -> None:
    case = replied_case(cst(2025, 6, 3))
    case.do(Action.RATE_SATISFACTION, cst(2025, 6, 5), rating=Satisfaction.DISSATISFIED)
    case.refused(Action.CLOSE, cst(2025, 6, 10), ErrorCode.INVALID_TRANSITION)


@pytest.mark.parametrize("rating", [Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED])
def test_a_satisfied_petitioner_lets_the_case_close_inside_the_review_window(
    rating: Satisfaction,
) -> None:
    case = replied_case(cst(2025, 6, 3))
    case.do(Action.RATE_SATISFACTION, cst(2025, 6, 5), rating=rating)
    state = case.do(Action.CLOSE, cst(2025, 6, 6))
    assert state.status is S.CLOSED
    assert state.rating is rating


def test_closing_is_refused_until_the_last_instant_of_the_review_window() -> None:
    case = replied_case(cst(2025, 6, 3))  # window ends at the end of 3 July 2025
    case.refused(Action.CLOSE, cst(2025, 7, 3, 23, 59, 59), ErrorCode.INVALID_TRANSITION)


def test_closing_after_the_review_window_lapses_is_allowed_even_if_dissatisfied() -> None:
    case = replied_case(cst(2025, 6, 3))
    case.do(Action.RATE_SATISFACTION, cst(2025, 6, 5), rating=Satisfaction.DISSATISFIED)
    assert case.do(Action.CLOSE, cst(2025, 7, 4, 0, 0)).status is S.CLOSED


def test_closing_a_reviewed_case_waits_for_the_final_review_window() -> None:
    case = reviewed_case(cst(2025, 7, 29))
    case.refused(Action.CLOSE, cst(2025, 8, 28, 23), ErrorCode.INVALID_TRANSITION)
    assert case.do(Action.CLOSE, cst(2025, 8, 29, 0, 0)).status is S.CLOSED


def test_a_rating_given_before_the_review_does_not_count_after_it() -> None:
    case = replied_case(cst(2025, 6, 3))
    case.do(Action.RATE_SATISFACTION, cst(2025, 6, 5), rating=Satisfaction.SATISFIED)
    case.do(Action.REQUEST_REVIEW, cst(2025, 6, 6))
    assert case.s.rating is None
    case.do(Action.RECORD_REVIEW_DECISION, cst(2025, 6, 20))
    case.refused(Action.CLOSE, cst(2025, 6, 21), ErrorCode.INVALID_TRANSITION)
    case.do(Action.RATE_SATISFACTION, cst(2025, 6, 22), rating=Satisfaction.BASICALLY_SATISFIED)
    assert case.do(Action.CLOSE, cst(2025, 6, 23)).status is S.CLOSED


@pytest.mark.parametrize("counselling", [None, "", "   "])
def test_an_unsupported_claim_does_not_close_without_a_counselling_record(
    counselling: str | None,
) -> None:
    case = replied_case(cst(2025, 6, 3), outcome=ReplyOutcome.NOT_SUPPORTED)
    error = case.refused(
        Action.CLOSE, cst(2025, 7, 4, 0, 0), ErrorCode.BAD_USER_INPUT, counselling=counselling
    )
    assert error.field == "counselling"


def test_an_unsupported_claim_closes_with_a_counselling_record() -> None:
    case = replied_case(cst(2025, 6, 3), outcome=ReplyOutcome.NOT_SUPPORTED)
    state = case.do(Action.CLOSE, cst(2025, 7, 4, 0, 0), counselling="explained the policy")
    assert state.status is S.CLOSED
    assert state.counselled


def test_an_unsupported_claim_needs_counselling_even_when_the_petitioner_is_satisfied() -> None:
    case = replied_case(cst(2025, 6, 3), outcome=ReplyOutcome.NOT_SUPPORTED)
    case.do(Action.RATE_SATISFACTION, cst(2025, 6, 5), rating=Satisfaction.SATISFIED)
    case.refused(Action.CLOSE, cst(2025, 6, 6), ErrorCode.BAD_USER_INPUT)


@pytest.mark.parametrize("outcome", [ReplyOutcome.SUPPORTED, ReplyOutcome.EXPLAINED])
def test_a_supported_or_explained_claim_closes_without_counselling(outcome: ReplyOutcome) -> None:
    case = replied_case(cst(2025, 6, 3), outcome=outcome)
    assert case.do(Action.CLOSE, cst(2025, 7, 4, 0, 0)).status is S.CLOSED


def test_an_unsupported_claim_revised_on_review_closes_without_counselling() -> None:
    case = reviewed_case(
        cst(2025, 7, 29), outcome=ReplyOutcome.NOT_SUPPORTED, review_outcome=ReviewOutcome.REVISED
    )
    assert case.do(Action.CLOSE, cst(2025, 8, 29, 0, 0)).status is S.CLOSED


def test_an_unsupported_claim_upheld_on_review_still_needs_counselling() -> None:
    case = reviewed_case(cst(2025, 7, 29), outcome=ReplyOutcome.NOT_SUPPORTED)
    case.refused(Action.CLOSE, cst(2025, 8, 29, 0, 0), ErrorCode.BAD_USER_INPUT)


# -- rating ------------------------------------------------------------------------------------


def test_rating_twice_is_a_duplicate_and_keeps_the_first_rating() -> None:
    case = replied_case(cst(2025, 6, 3))
    case.do(Action.RATE_SATISFACTION, cst(2025, 6, 5), rating=Satisfaction.DISSATISFIED)
    case.refused(
        Action.RATE_SATISFACTION,
        cst(2025, 6, 6),
        ErrorCode.DUPLICATE,
        rating=Satisfaction.SATISFIED,
    )
    assert case.s.rating is Satisfaction.DISSATISFIED


def test_a_rating_does_not_change_the_status() -> None:
    case = replied_case(cst(2025, 6, 3))
    state = case.do(Action.RATE_SATISFACTION, cst(2025, 6, 5))
    assert state.status is S.REPLIED
    assert state.rating is Satisfaction.SATISFIED


# -- assignment --------------------------------------------------------------------------------


def test_an_assignment_sets_its_own_deadline_and_the_completion_report_meets_it() -> None:
    case = Case(cst(2025, 3, 3))
    state = case.do(Action.ASSIGN, cst(2025, 3, 4), due_date=date(2025, 3, 20))
    assert state.routed_to == "621102"
    assignment = state.deadlines[K.ASSIGNMENT]
    assert assignment.due == due_on(date(2025, 3, 20), CAL) == cst(2025, 3, 21, 0, 0)
    assert assignment.bound is Bound.BODY
    state = case.do(Action.RECORD_COMPLETION_REPORT, cst(2025, 3, 19))
    assert state.status is S.CLOSED
    assert state.deadlines[K.ASSIGNMENT].was_met_on_time()


@pytest.mark.parametrize("due", [date(2025, 3, 4), date(2025, 3, 3), date(2025, 6, 3)])
def test_an_assignment_due_today_in_the_past_or_over_90_days_ahead_is_bad_user_input(
    due: date,
) -> None:
    case = Case(cst(2025, 3, 3))
    error = case.refused(Action.ASSIGN, cst(2025, 3, 4), ErrorCode.BAD_USER_INPUT, due_date=due)
    assert error.field == "due_date"


@pytest.mark.parametrize("due", [date(2025, 3, 5), date(2025, 6, 2)])
def test_an_assignment_due_tomorrow_up_to_90_days_ahead_is_allowed(due: date) -> None:
    case = Case(cst(2025, 3, 3))
    assert case.do(Action.ASSIGN, cst(2025, 3, 4), due_date=due).status is S.ASSIGNED


def test_a_transfer_records_where_the_matter_went() -> None:
    state = Case(T0).do(Action.TRANSFER, T0 + HOUR, target="530000")
    assert state.status is S.TRANSFERRED
    assert state.routed_to == "530000"


# -- overdue -----------------------------------------------------------------------------------


def test_a_registered_case_becomes_overdue_when_the_acceptance_deadline_passes() -> None:
    state = Case(cst(2025, 3, 3), received_from=None).s
    due = state.deadlines[K.ACCEPTANCE].due
    assert not state.is_overdue(due - timedelta(microseconds=1))
    assert state.is_overdue(due)


def test_an_accepted_case_becomes_overdue_when_the_handling_deadline_passes() -> None:
    state = accepted_case(cst(2025, 4, 1)).s
    assert not state.is_overdue(cst(2025, 6, 3, 23, 59))
    assert state.is_overdue(cst(2025, 6, 4, 0, 0))


def test_an_extended_case_is_not_overdue_until_the_extended_deadline() -> None:
    case = accepted_case(cst(2025, 4, 1))
    state = case.do(Action.EXTEND_HANDLING, cst(2025, 5, 1), days=30)
    assert not state.is_overdue(cst(2025, 6, 20))
    assert state.is_overdue(cst(2025, 7, 1, 0, 0))


def test_an_assigned_case_becomes_overdue_after_its_due_date() -> None:
    case = Case(cst(2025, 3, 3))
    state = case.do(Action.ASSIGN, cst(2025, 3, 4), due_date=date(2025, 3, 20))
    assert not state.is_overdue(cst(2025, 3, 20, 23))
    assert state.is_overdue(cst(2025, 3, 21, 0, 0))


def test_a_lapsed_review_window_never_makes_a_replied_case_overdue() -> None:
    state = replied_case(cst(2025, 6, 3)).s
    window = state.deadlines[K.REVIEW_REQUEST]
    assert window.bound is Bound.PETITIONER
    assert not window.is_overdue(cst(2026, 1, 1))
    assert not state.is_overdue(cst(2026, 1, 1))


def test_a_lapsed_final_review_window_never_makes_a_reviewed_case_overdue() -> None:
    state = reviewed_case(cst(2025, 7, 29)).s
    assert state.deadlines[K.FINAL_REVIEW_REQUEST].bound is Bound.PETITIONER
    assert not state.is_overdue(cst(2026, 1, 1))


def test_a_case_under_review_becomes_overdue_when_the_review_decision_is_late() -> None:
    case = replied_case(cst(2025, 6, 3))
    state = case.do(Action.REQUEST_REVIEW, cst(2025, 7, 1))
    assert not state.is_overdue(cst(2025, 7, 31, 23))
    assert state.is_overdue(cst(2025, 8, 1, 0, 0))


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_a_terminal_case_is_never_overdue(status: CaseStatus) -> None:
    state, _ = reach(status)
    assert not state.is_overdue(state.last_at + timedelta(days=3650))


def test_a_deadline_met_on_time_is_never_overdue_later() -> None:
    deadline = Deadline(K.HANDLING, cst(2025, 4, 1), cst(2025, 6, 4, 0), met_at=cst(2025, 5, 1))
    assert not deadline.is_overdue(cst(2030, 1, 1))
    assert deadline.was_met_on_time()


def test_a_deadline_met_late_stays_overdue_and_an_open_one_is_overdue_from_its_due() -> None:
    late = Deadline(K.HANDLING, cst(2025, 4, 1), cst(2025, 6, 4, 0), met_at=cst(2025, 6, 4, 0))
    assert late.is_overdue(cst(2025, 5, 1))
    assert not late.was_met_on_time()
    open_ = Deadline(K.HANDLING, cst(2025, 4, 1), cst(2025, 6, 4, 0))
    assert open_.is_open()
    assert not open_.is_overdue(cst(2025, 6, 3, 23, 59))
    assert open_.is_overdue(cst(2025, 6, 4, 0))


@pytest.mark.parametrize("kind", [K.REVIEW_REQUEST, K.FINAL_REVIEW_REQUEST])
def test_a_petitioner_window_is_never_overdue_open_or_met_late(kind: DeadlineKind) -> None:
    window = Deadline(kind, cst(2025, 4, 1), cst(2025, 5, 2, 0))
    assert not window.is_overdue(cst(2030, 1, 1))
    assert not replace(window, met_at=cst(2025, 6, 1)).is_overdue(cst(2030, 1, 1))


def test_a_transferred_in_case_is_not_overdue_when_only_the_objection_window_has_lapsed() -> None:
    # Received Thursday 6 March 2025: objection window ends 13 March, acceptance 21 March.
    state = Case(cst(2025, 3, 6), received_from="621100").s
    objection = state.deadlines[K.OBJECTION]
    assert objection.bound is Bound.OPTION
    assert not objection.is_overdue(cst(2025, 3, 17))
    assert not state.is_overdue(cst(2025, 3, 17))
    assert state.is_overdue(cst(2025, 3, 22))  # the acceptance deadline still binds


def test_accepting_a_transferred_in_case_after_the_objection_window_is_not_a_late_act() -> None:
    case = Case(cst(2025, 3, 6), received_from="621100")
    state = case.do(Action.ACCEPT, cst(2025, 3, 17))
    assert state.deadlines[K.ACCEPTANCE].was_met_on_time()
    assert not state.deadlines[K.OBJECTION].is_overdue(cst(2025, 3, 17))


# -- replay ------------------------------------------------------------------------------------


def test_replaying_the_log_of_a_full_case_gives_the_same_state() -> None:
    case = final_review_case(cst(2025, 11, 3))
    case.do(Action.RECORD_HEARING, cst(2025, 11, 20), days=7)
    case.do(Action.RECORD_FINAL_REVIEW_DECISION, cst(2025, 12, 1))
    assert replay(case.events, CAL) == case.s
    assert [e.seq for e in case.events] == list(range(1, case.s.version + 1))


def test_replaying_an_empty_log_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        replay([], CAL)


def test_replaying_a_tampered_log_is_an_error() -> None:
    _, events = reach(S.HANDLING)
    tampered = [*events[:-1], replace(events[-1], to_status=S.REPLIED)]
    with pytest.raises(ValueError, match="does not follow"):
        replay(tampered, CAL)


def test_replaying_a_log_with_a_missing_event_is_refused() -> None:
    _, events = reach(S.HANDLING)
    with pytest.raises((ValueError, DomainError)):
        replay([events[0], events[2]], CAL)


def test_replaying_under_a_different_calendar_recomputes_the_deadlines() -> None:
    case = Case(cst(2025, 3, 7), received_from=None)  # day 15 is Saturday 22 March
    pure = HolidayCalendar(roll_forward_to_working_day=False)
    assert case.s.deadlines[K.ACCEPTANCE].due == cst(2025, 3, 25, 0, 0)
    assert replay(case.events, pure).deadlines[K.ACCEPTANCE].due == cst(2025, 3, 23, 0, 0)

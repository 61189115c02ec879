"""Property-based tests of the case engine: random command sequences against its invariants.

A rule-based state machine registers a case and then drives random commands (any action,
plausible random parameters, sometimes missing or invalid ones, random time steps from minutes
to 40 days) through ``execute``, keeping the log of accepted events. After every step:

(a) the status is one the table can reach, and a refused command changes nothing;
(b) ``replay(events)`` equals the current state;
(c) no deadline's ``due`` moves earlier, and it moves later only through EXTEND_HANDLING
    (the handling deadline) or RECORD_HEARING (the final-review decision deadline);
(d) once the case is TERMINAL, no command is accepted;
(e) the version equals the number of events, whose seqs are 1..n;
(f) a deadline's ``met_at`` once set never changes.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from shared.deadlines import CHINA_TZ, Bound, DeadlineKind, local_date
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
    Event,
    LegalChannel,
    ReplyOutcome,
    ReviewOutcome,
    Satisfaction,
    allowed_actions,
    execute,
    replay,
)

K = DeadlineKind
CALENDARS = [
    default_calendar(),
    HolidayCalendar(roll_forward_to_working_day=False),
    HolidayCalendar(),
]


def _reachable() -> frozenset[CaseStatus]:
    seen = {CaseStatus.REGISTERED}
    frontier = [CaseStatus.REGISTERED]
    while frontier:
        status = frontier.pop()
        for t in TRANSITIONS.values():
            if status in t.sources and t.target is not None and t.target not in seen:
                seen.add(t.target)
                frontier.append(t.target)
    return frozenset(seen)


REACHABLE = _reachable()
# The only events that may move a due date, and the deadline each may move.
MOVES: dict[Action, DeadlineKind] = {
    Action.EXTEND_HANDLING: K.HANDLING,
    Action.RECORD_HEARING: K.FINAL_REVIEW_DECISION,
}

# -- strategies --------------------------------------------------------------------------------

time_steps = st.one_of(
    st.integers(0, 120).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 48).map(lambda h: timedelta(hours=h)),
    st.integers(1, 40 * 24 * 60).map(lambda m: timedelta(minutes=m)),  # up to 40 days
    st.integers(1, 40).map(lambda d: timedelta(days=d)),
    st.integers(-180, -1).map(lambda m: timedelta(minutes=m)),  # dated before the last event
)
texts = st.sampled_from(["reason given", "书面答复", "", "   "])


def maybe(values: st.SearchStrategy[Any], none_weight: int = 1) -> st.SearchStrategy[Any]:
    """``values``, or ``None`` (missing) about one time in ``none_weight + 3``."""
    return st.one_of(*([st.none()] * none_weight), values, values, values)


@st.composite
def params(draw: st.DrawFn, at: datetime, plausible: bool) -> dict[str, Any]:
    """Random command fields; ``plausible`` makes each one usually present and valid."""
    gap = 1 if plausible else 3
    day = local_date(at)
    delivered: datetime | None = draw(
        maybe(st.integers(-60, 20 * 24 * 60).map(lambda m: at + timedelta(minutes=m)), gap)
    )
    if delivered is not None and draw(st.integers(0, 9)) == 0:
        delivered = delivered.replace(tzinfo=None)  # naive: invalid
    return {
        "channel": draw(maybe(st.sampled_from(Channel), gap)),
        "received_from": draw(maybe(st.just("621100"), gap)),
        "target": draw(maybe(st.sampled_from(["621102", "620000", ""]), gap)),
        "due_date": draw(maybe(st.integers(-2, 95).map(lambda n: day + timedelta(days=n)), gap)),
        "legal_channel": draw(maybe(st.sampled_from(LegalChannel), gap)),
        "reason": draw(maybe(texts, gap)),
        "text": draw(maybe(texts, gap)),
        "outcome": draw(maybe(st.sampled_from(ReplyOutcome), gap)),
        "review_outcome": draw(maybe(st.sampled_from(ReviewOutcome), gap)),
        "rating": draw(maybe(st.sampled_from(Satisfaction), gap)),
        "days": draw(maybe(st.integers(-2, 65) if not plausible else st.integers(1, 30), gap)),
        "notified_on_spot": draw(st.booleans()),
        "delivered_at": delivered,
        "counselling": draw(maybe(texts, gap)),
    }


# -- the machine -------------------------------------------------------------------------------


class CaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.calendar: HolidayCalendar = CALENDARS[0]
        self.state: CaseState | None = None
        self.events: list[Event] = []
        self.clock = datetime(2025, 1, 1, tzinfo=CHINA_TZ)
        self.accepted = 0
        self.refused = 0

    @initialize(
        calendar=st.sampled_from(CALENDARS),
        start=st.datetimes(
            min_value=datetime(2025, 1, 1),
            max_value=datetime(2026, 10, 31),
            timezones=st.just(CHINA_TZ),
        ),
        channel=st.sampled_from(Channel),
        received_from=st.sampled_from([None, "621100"]),
    )
    def register(
        self,
        calendar: HolidayCalendar,
        start: datetime,
        channel: Channel,
        received_from: str | None,
    ) -> None:
        self.calendar = calendar
        self.clock = start
        command = Command(
            Action.REGISTER, start, "clerk", channel=channel, received_from=received_from
        )
        self.state, event = execute(None, command, calendar)
        self.events.append(event)

    # -- rules ---------------------------------------------------------------------------------

    @rule(data=st.data(), step=time_steps)
    def allowed_action(self, data: st.DataObject, step: timedelta) -> None:
        """An action the status allows, with mostly valid parameters."""
        assert self.state is not None
        actions = allowed_actions(self.state.status) or [Action.CLOSE]
        action = data.draw(st.sampled_from(actions), label="action")
        self._drive(action, step, data, plausible=True)

    @rule(data=st.data(), action=st.sampled_from(Action), step=time_steps)
    def any_action(self, data: st.DataObject, action: Action, step: timedelta) -> None:
        """Any action at all, with parameters that are often missing or invalid."""
        self._drive(action, step, data, plausible=False)

    @precondition(lambda self: self.state is not None and self.state.status not in TERMINAL)
    @rule(step=time_steps)
    def naive_time(self, step: timedelta) -> None:
        assert self.state is not None
        action = allowed_actions(self.state.status)[0]
        at = (self.clock + step).replace(tzinfo=None)
        command = Command(action, at, "clerk", channel=Channel.LETTER)
        self._submit(command, expect_code=ErrorCode.BAD_USER_INPUT)

    # -- driving -------------------------------------------------------------------------------

    def _drive(
        self, action: Action, step: timedelta, data: st.DataObject, *, plausible: bool
    ) -> None:
        at = self.clock + step
        fields = data.draw(params(at, plausible), label="fields")
        self._submit(Command(action, at, "clerk", **fields))

    def _submit(self, command: Command, expect_code: ErrorCode | None = None) -> None:
        before = self.state
        assert before is not None
        snapshot = copy.deepcopy(before)
        try:
            after, event = execute(before, command, self.calendar)
        except DomainError as error:
            self.refused += 1
            # (a) a refused command changes nothing.
            assert self.state is before
            assert before == snapshot
            self._check_refusal(before, command, error)
            if expect_code is not None:
                assert error.code is expect_code
            return
        assert expect_code is None, f"expected {expect_code}, got {event}"
        self.accepted += 1
        # The input state is not mutated by executing a command on it.
        assert before == snapshot
        self._check_step(before, after, event)
        self.state = after
        self.events.append(event)
        self.clock = max(self.clock, command.at)

    def _check_refusal(self, state: CaseState, command: Command, error: DomainError) -> None:
        """The refusal is the first rule the command breaks, in the engine's order."""
        transition = TRANSITIONS[command.action]
        missing = [
            name
            for name in transition.requires
            if getattr(command, name) is None
            or (isinstance(getattr(command, name), str) and not getattr(command, name).strip())
        ]
        if missing:
            assert (error.code, error.field) == (ErrorCode.BAD_USER_INPUT, missing[0])
        elif command.at.tzinfo is None:
            assert (error.code, error.field) == (ErrorCode.BAD_USER_INPUT, "at")
        elif command.action is Action.REGISTER:
            assert error.code is ErrorCode.DUPLICATE
        elif state.status not in transition.sources:
            assert error.code is ErrorCode.INVALID_TRANSITION
        elif command.at < state.last_at:
            assert (error.code, error.field) == (ErrorCode.BAD_USER_INPUT, "at")
        else:  # a guard
            assert error.code in {
                ErrorCode.BAD_USER_INPUT,
                ErrorCode.INVALID_TRANSITION,
                ErrorCode.DEADLINE_PASSED,
                ErrorCode.DUPLICATE,
            }
            if error.code is ErrorCode.BAD_USER_INPUT:
                assert error.field is not None

    def _check_step(self, before: CaseState, after: CaseState, event: Event) -> None:
        command = event.command
        transition = TRANSITIONS[command.action]
        # (d) nothing is accepted once the case is terminal.
        assert before.status not in TERMINAL
        # (a) the status follows the table.
        assert before.status in transition.sources
        assert event.from_status is before.status
        assert event.to_status is (transition.target or before.status)
        assert after.status is event.to_status
        assert command.at >= before.last_at
        assert after.last_at == command.at
        # (e) one event per accepted command, numbered in sequence.
        assert event.seq == before.version + 1 == after.version
        # (c) and (f): deadlines never vanish, never move earlier, and met_at is written once.
        for kind, old in before.deadlines.items():
            new = after.deadlines.get(kind)
            assert new is not None, f"{kind} vanished after {command.action}"
            assert new.started_at == old.started_at
            assert new.due >= old.due, f"{kind} moved earlier after {command.action}"
            if new.due != old.due:
                assert MOVES.get(command.action) is kind, f"{kind} moved by {command.action}"
            if old.met_at is not None:
                assert new.met_at == old.met_at
            elif new.met_at is not None:
                assert kind in transition.meets
                assert new.met_at == command.at
        for kind in set(after.deadlines) - set(before.deadlines):
            assert after.deadlines[kind].met_at is None

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def status_is_reachable(self) -> None:
        if self.state is not None:
            assert isinstance(self.state.status, CaseStatus)
            assert self.state.status in REACHABLE

    @invariant()
    def replay_gives_the_current_state(self) -> None:
        if self.state is not None:
            assert replay(self.events, self.calendar) == self.state

    @invariant()
    def version_counts_the_events(self) -> None:
        if self.state is not None:
            assert self.state.version == len(self.events)
            assert [e.seq for e in self.events] == list(range(1, len(self.events) + 1))

    @invariant()
    def log_is_chained(self) -> None:
        for previous, event in zip(self.events, self.events[1:], strict=False):
            assert event.from_status is previous.to_status
            assert event.command.at >= previous.command.at

    @invariant()
    def terminal_case_accepts_nothing(self) -> None:
        if self.state is not None and self.state.status in TERMINAL:
            assert allowed_actions(self.state.status) == []
            assert not self.state.is_overdue(self.clock + timedelta(days=3650))

    @invariant()
    def finality_only_from_final_review(self) -> None:
        if self.state is not None and self.state.final:
            assert self.state.status is CaseStatus.CLOSED
            assert self.events[-1].command.action is Action.RECORD_FINAL_REVIEW_DECISION

    @invariant()
    def petitioner_windows_never_make_a_case_overdue(self) -> None:
        if self.state is None or self.state.status in TERMINAL:
            return
        later = self.clock + timedelta(days=400)
        body_open = any(
            d.bound is Bound.BODY and d.is_open() for d in self.state.deadlines.values()
        )
        assert self.state.is_overdue(later) == body_open


CaseMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
TestCaseMachine = CaseMachine.TestCase


# -- a direct check that random walks reach the interesting statuses ---------------------------


def test_random_walks_are_not_stuck_at_registration() -> None:
    """Guard against a machine that only ever produces refusals (vacuous invariants)."""
    statuses: set[CaseStatus] = set()
    actions: set[Action] = set()

    class Probe(CaseMachine):
        def teardown(self) -> None:
            statuses.update(e.to_status for e in self.events)
            actions.update(e.command.action for e in self.events)

    Probe.TestCase.settings = settings(
        max_examples=100, stateful_step_count=30, deadline=None, database=None
    )
    Probe.TestCase().runTest()
    assert {CaseStatus.REPLIED, CaseStatus.UNDER_REVIEW, CaseStatus.CLOSED} <= statuses
    assert {Action.EXTEND_HANDLING, Action.REPLY, Action.RATE_SATISFACTION} <= actions

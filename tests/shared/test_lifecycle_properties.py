"""Property-based tests of the case engine: random command sequences against its invariants.

A rule-based state machine registers a case and then drives random commands (any action,
plausible random parameters, sometimes missing or invalid ones, random time steps from minutes
to 40 days) through ``execute``, keeping the log of accepted events. After every step:

(a) the status is one the table can reach, and a refused command changes nothing;
(b) ``replay(events)`` equals the current state;
(c) no deadline's ``due`` moves earlier, and it moves later only through EXTEND_HANDLING
    (the handling deadline), RECORD_HEARING (the final-review decision deadline) or
    RECORD_DELIVERY (the petitioner's window, restarted from receipt);
(d) once the case is TERMINAL, no command is accepted;
(e) the version equals the number of events, whose seqs are 1..n;
(f) a deadline's ``met_at`` once set never changes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

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
MOVES: dict[Action, frozenset[DeadlineKind]] = {
    Action.EXTEND_HANDLING: frozenset({K.HANDLING}),
    Action.RECORD_HEARING: frozenset({K.FINAL_REVIEW_DECISION}),
    # a delivery record restarts the petitioner's window from receipt (Art. 35)
    Action.RECORD_DELIVERY: frozenset({K.REVIEW_REQUEST, K.FINAL_REVIEW_REQUEST}),
}

# -- strategies --------------------------------------------------------------------------------

time_steps = st.one_of(
    st.integers(0, 120).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 48).map(lambda h: timedelta(hours=h)),
    st.integers(1, 40 * 24 * 60).map(lambda m: timedelta(minutes=m)),  # up to 40 days
    st.integers(1, 40).map(lambda d: timedelta(days=d)),
    st.integers(-180, -1).map(lambda m: timedelta(minutes=m)),  # dated before the last event
)
short_steps = st.one_of(
    st.integers(0, 600).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 10).map(lambda d: timedelta(days=d)),
)
texts = st.sampled_from(["reason given", "书面答复", "", "   "])


def maybe(values: st.SearchStrategy[Any], plausible: bool) -> st.SearchStrategy[Any]:
    """``values``, or ``None`` (missing): one time in 8 if ``plausible``, else one in 2."""
    return st.one_of(st.none(), *[values] * (7 if plausible else 1))


def field_strategies(plausible: bool) -> dict[str, st.SearchStrategy[Any]]:
    """Random command fields (times as offsets from ``at``); ``plausible`` makes each one
    usually present and valid, otherwise they are often missing, blank or out of range."""
    text = maybe(
        texts if not plausible else st.sampled_from(["reason given", "书面答复"]), plausible
    )
    return {
        "channel": maybe(st.sampled_from(Channel), plausible),
        "received_from": maybe(st.just("621100"), plausible),
        "target": maybe(
            st.sampled_from(["621102", "620000", "" if not plausible else "630000"]), plausible
        ),
        "due_in_days": maybe(st.integers(-2, 95), plausible),
        "legal_channel": maybe(st.sampled_from(LegalChannel), plausible),
        "reason": text,
        "text": text,
        "outcome": maybe(st.sampled_from(ReplyOutcome), plausible),
        "review_outcome": maybe(st.sampled_from(ReviewOutcome), plausible),
        "rating": maybe(st.sampled_from(Satisfaction), plausible),
        "days": maybe(st.integers(1, 30) if plausible else st.integers(-2, 65), plausible),
        "notified_on_spot": st.booleans(),
        "delivered_in_minutes": maybe(st.integers(-60, 20 * 24 * 60), plausible),
        "naive_delivery": st.integers(0, 9).map(lambda n: n == 0),  # invalid
        "counselling": text,
    }


# The fields each action reads: its required ones plus those its guards and effects look at.
# Only these are drawn, which keeps generation fast; the engine ignores all the others.
RAW_NAME = {"due_date": "due_in_days", "delivered_at": "delivered_in_minutes"}
EXTRA_READS: dict[Action, tuple[str, ...]] = {
    Action.REGISTER: ("received_from",),
    Action.ACCEPT: ("notified_on_spot",),
    Action.REPLY: ("delivered_in_minutes", "naive_delivery"),
    Action.SETTLE_BY_MEDIATION: ("outcome", "delivered_in_minutes", "naive_delivery"),
    Action.CLOSE: ("counselling",),
    Action.RECORD_DELIVERY: ("naive_delivery",),
}


def _action_fields(plausible: bool) -> dict[Action, st.SearchStrategy[dict[str, Any]]]:
    strategies = field_strategies(plausible)
    return {
        action: st.fixed_dictionaries(
            {
                name: strategies[name]
                for name in (
                    *(RAW_NAME.get(n, n) for n in TRANSITIONS[action].requires),
                    *EXTRA_READS.get(action, ()),
                )
            }
        )
        for action in Action
    }


PLAUSIBLE_FIELDS = _action_fields(plausible=True)
WILD_FIELDS = _action_fields(plausible=False)


def command_for(action: Action, at: datetime, raw: dict[str, Any]) -> Command:
    fields = dict(raw)
    due_in = fields.pop("due_in_days", None)
    delivered_in = fields.pop("delivered_in_minutes", None)
    naive = fields.pop("naive_delivery", False)
    if delivered_in is not None and action is Action.RECORD_DELIVERY:
        delivered_in = -abs(delivered_in)  # a delivery is recorded after it happened
    delivered = None if delivered_in is None else at + timedelta(minutes=delivered_in)
    if delivered is not None and naive:
        delivered = delivered.replace(tzinfo=None)
    due_date = None if due_in is None else local_date(at) + timedelta(days=due_in)
    return Command(action, at, "clerk", due_date=due_date, delivered_at=delivered, **fields)


# -- the machine -------------------------------------------------------------------------------


class CaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.calendar: HolidayCalendar = CALENDARS[0]
        self.state: CaseState | None = None
        self.events: list[Event] = []
        self.clock = datetime(2025, 1, 1, tzinfo=CHINA_TZ)

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

    @rule(data=st.data(), pick=st.integers(0, 1000), step=short_steps)
    def progress(self, data: st.DataObject, pick: int, step: timedelta) -> None:
        """An allowed action that keeps the case open, soon after the last one, so that walks
        get deep into review and final review."""
        assert self.state is not None
        allowed = allowed_actions(self.state.status) or list(Action)
        onward = [a for a in allowed if TRANSITIONS[a].target not in TERMINAL] or allowed
        action = onward[pick % len(onward)]
        raw = data.draw(PLAUSIBLE_FIELDS[action], label=action.value)
        self._submit(command_for(action, self.clock + step, raw))

    @rule(data=st.data(), pick=st.integers(0, 1000), step=time_steps)
    def allowed_action(self, data: st.DataObject, pick: int, step: timedelta) -> None:
        """Any action the status allows, with mostly valid parameters."""
        assert self.state is not None
        actions = allowed_actions(self.state.status) or list(Action)
        action = actions[pick % len(actions)]
        raw = data.draw(PLAUSIBLE_FIELDS[action], label=action.value)
        self._submit(command_for(action, self.clock + step, raw))

    @rule(
        data=st.data(),
        action=st.sampled_from(Action),
        step=time_steps,
        naive=st.integers(0, 9).map(lambda n: n == 0),
    )
    def any_action(self, data: st.DataObject, action: Action, step: timedelta, naive: bool) -> None:
        """Any action at all, with parameters that are often missing or invalid, and now and
        then a time without a zone."""
        raw = data.draw(WILD_FIELDS[action], label=action.value)
        command = command_for(action, self.clock + step, raw)
        if naive:
            command = replace(command, at=command.at.replace(tzinfo=None))
        self._submit(command)

    # -- driving -------------------------------------------------------------------------------

    def _submit(self, command: Command) -> None:
        before = self.state
        assert before is not None
        snapshot = replace(before, deadlines=dict(before.deadlines))
        try:
            after, event = execute(before, command, self.calendar)
        except DomainError as error:
            # (a) a refused command changes nothing.
            assert self.state is before
            assert before == snapshot
            self._check_refusal(before, command, error)
            return
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
            if command.action is not Action.RECORD_DELIVERY:
                assert new.started_at == old.started_at
            assert new.started_at >= old.started_at
            assert new.due >= old.due, f"{kind} moved earlier after {command.action}"
            if new.due != old.due:
                assert kind in MOVES.get(command.action, ()), f"{kind} moved by {command.action}"
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
    def only_open_body_deadlines_make_a_case_overdue(self) -> None:
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


def test_random_walks_reach_deep_statuses_and_most_actions() -> None:
    """Guard against a machine that only ever produces refusals (vacuous invariants)."""
    statuses: set[CaseStatus] = set()
    actions: set[Action] = set()

    class Probe(CaseMachine):
        def teardown(self) -> None:
            statuses.update(e.to_status for e in self.events)
            actions.update(e.command.action for e in self.events)

    Probe.TestCase.settings = settings(
        max_examples=300, stateful_step_count=30, deadline=None, database=None, derandomize=True
    )
    Probe.TestCase().runTest()
    deep = {CaseStatus.REVIEWED, CaseStatus.UNDER_FINAL_REVIEW, CaseStatus.CLOSED}
    assert deep <= statuses
    assert len(set(CaseStatus) - statuses) <= 2, set(CaseStatus) - statuses
    assert {Action.EXTEND_HANDLING, Action.RECORD_HEARING, Action.RATE_SATISFACTION} <= actions
    assert len(set(Action) - actions) <= 4, set(Action) - actions

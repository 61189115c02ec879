"""The lifecycle of a petition matter (信访事项), as the Regulations on Letters and Visits Work
set it out (Arts. 19-37).

The transitions are a table (``TRANSITIONS``); ``decide`` checks one command against the table,
the guards and the deadlines, and returns the event to append; ``apply`` folds an event into a
``CaseState``. The state of a case is always ``replay(events)``: the event log is the truth and
the stored row is a cache of it. Nothing here does I/O; time comes in with the command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from shared.deadlines import (
    LIMITS,
    MAX_ASSIGNMENT_DAYS,
    MAX_HANDLING_EXTENSION_DAYS,
    MAX_HEARING_DAYS,
    Bound,
    DeadlineKind,
    due_after,
    due_on,
    local_date,
)
from shared.errors import DomainError, ErrorCode, bad_input
from shared.holidays import HolidayCalendar


class CaseStatus(StrEnum):
    REGISTERED = "REGISTERED"  # 登记
    TRANSFERRED = "TRANSFERRED"  # 转送: ownership moved to the competent node
    ASSIGNED = "ASSIGNED"  # 交办: handled elsewhere, completion report awaited
    NOT_ACCEPTED = "NOT_ACCEPTED"  # 不予受理, with a written reason
    REDIRECTED = "REDIRECTED"  # told to use litigation / arbitration / discipline channels
    ACCEPTED = "ACCEPTED"  # 受理
    IN_MEDIATION = "IN_MEDIATION"  # 调解 before formal handling
    HANDLING = "HANDLING"  # 办理
    REPLIED = "REPLIED"  # 答复
    UNDER_REVIEW = "UNDER_REVIEW"  # 复查 requested at the body one tier up
    REVIEWED = "REVIEWED"  # review decided; final review may be requested
    UNDER_FINAL_REVIEW = "UNDER_FINAL_REVIEW"  # 复核
    CLOSED = "CLOSED"  # 办结 / 三级终结


TERMINAL = frozenset(
    {CaseStatus.TRANSFERRED, CaseStatus.NOT_ACCEPTED, CaseStatus.REDIRECTED, CaseStatus.CLOSED}
)


class Channel(StrEnum):
    LETTER = "LETTER"
    VISIT = "VISIT"
    ONLINE = "ONLINE"
    PHONE = "PHONE"
    FAX = "FAX"
    HOTLINE_12345 = "HOTLINE_12345"
    GRID_REPORT = "GRID_REPORT"


class Action(StrEnum):
    REGISTER = "REGISTER"
    TRANSFER = "TRANSFER"
    ASSIGN = "ASSIGN"
    REDIRECT = "REDIRECT"
    NOT_ACCEPT = "NOT_ACCEPT"
    RAISE_OBJECTION = "RAISE_OBJECTION"
    ACCEPT = "ACCEPT"
    RECORD_COMPLETION_REPORT = "RECORD_COMPLETION_REPORT"
    START_MEDIATION = "START_MEDIATION"
    SETTLE_BY_MEDIATION = "SETTLE_BY_MEDIATION"
    END_MEDIATION = "END_MEDIATION"
    BEGIN_HANDLING = "BEGIN_HANDLING"
    EXTEND_HANDLING = "EXTEND_HANDLING"
    REPLY = "REPLY"
    RECORD_DELIVERY = "RECORD_DELIVERY"
    RATE_SATISFACTION = "RATE_SATISFACTION"
    REQUEST_REVIEW = "REQUEST_REVIEW"
    RECORD_REVIEW_DECISION = "RECORD_REVIEW_DECISION"
    REQUEST_FINAL_REVIEW = "REQUEST_FINAL_REVIEW"
    RECORD_HEARING = "RECORD_HEARING"
    RECORD_FINAL_REVIEW_DECISION = "RECORD_FINAL_REVIEW_DECISION"
    CLOSE = "CLOSE"
    # the township fast track (速办), see _FAST_TRACK below
    FAST_TRACK = "FAST_TRACK"
    RECORD_MEETING = "RECORD_MEETING"
    RECORD_FACTS = "RECORD_FACTS"


class ReplyOutcome(StrEnum):
    SUPPORTED = "SUPPORTED"  # 予以支持
    EXPLAINED = "EXPLAINED"  # 解释说明
    NOT_SUPPORTED = "NOT_SUPPORTED"  # 不予支持: closing needs a counselling record


class Satisfaction(StrEnum):
    SATISFIED = "SATISFIED"
    BASICALLY_SATISFIED = "BASICALLY_SATISFIED"
    DISSATISFIED = "DISSATISFIED"


class ReviewOutcome(StrEnum):
    UPHELD = "UPHELD"  # 维持
    REVISED = "REVISED"  # 撤销或变更


class LegalChannel(StrEnum):
    LITIGATION = "LITIGATION"  # 涉法涉诉: political-legal organs
    ARBITRATION = "ARBITRATION"
    ADMINISTRATIVE_RECONSIDERATION = "ADMINISTRATIVE_RECONSIDERATION"
    DISCIPLINE_INSPECTION = "DISCIPLINE_INSPECTION"  # accusations


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[CaseStatus]
    target: CaseStatus | None  # None: the status does not change
    requires: tuple[str, ...] = ()  # command fields that must be given
    meets: tuple[DeadlineKind, ...] = ()  # deadlines this act fulfils
    description: str = ""


def _t(
    action: Action,
    sources: Iterable[CaseStatus],
    target: CaseStatus | None,
    requires: tuple[str, ...] = (),
    meets: tuple[DeadlineKind, ...] = (),
    description: str = "",
) -> Transition:
    return Transition(action, frozenset(sources), target, requires, meets, description)


S = CaseStatus
K = DeadlineKind
_ROUTED = (K.ACCEPTANCE, K.OBJECTION)
_ACTIVE = (S.ACCEPTED, S.HANDLING)
_REPLY_MEETS = (K.HANDLING, K.FAST_TRACK_REPLY)
_OPEN_HERE = (S.REGISTERED, S.ACCEPTED, S.HANDLING, S.IN_MEDIATION)

# The township fast track (速办, domain.md §2): meet the petitioner within 5 days, establish the
# facts within 7, reply within 15, each counted from registration; the reply meets the last.
_FAST_TRACK = (
    _t(Action.FAST_TRACK, [S.REGISTERED, S.ACCEPTED], None, (), (), "速办: take the fast track"),
    _t(
        Action.RECORD_MEETING,
        _OPEN_HERE,
        None,
        ("text",),
        (K.FAST_TRACK_MEETING,),
        "record meeting the petitioner (fast track)",
    ),
    _t(
        Action.RECORD_FACTS,
        _OPEN_HERE,
        None,
        ("text",),
        (K.FAST_TRACK_FACTS,),
        "record the facts established (fast track)",
    ),
)

TRANSITIONS: Mapping[Action, Transition] = MappingProxyType(
    {
        t.action: t
        for t in (
            _t(Action.REGISTER, (), S.REGISTERED, ("channel",), (), "登记: record on receipt"),
            _t(
                Action.TRANSFER,
                [S.REGISTERED],
                S.TRANSFERRED,
                ("target", "reason"),
                _ROUTED,
                "转送 to the competent node",
            ),
            _t(
                Action.ASSIGN,
                [S.REGISTERED],
                S.ASSIGNED,
                ("target", "due_date"),
                _ROUTED,
                "交办 with a deadline and a completion report",
            ),
            _t(
                Action.REDIRECT,
                [S.REGISTERED],
                S.REDIRECTED,
                ("legal_channel", "reason"),
                _ROUTED,
                "point the petitioner to the legal channel",
            ),
            _t(
                Action.NOT_ACCEPT,
                [S.REGISTERED],
                S.NOT_ACCEPTED,
                ("reason",),
                _ROUTED,
                "不予受理, with a written reason",
            ),
            _t(
                Action.RAISE_OBJECTION,
                [S.REGISTERED],
                S.NOT_ACCEPTED,
                ("reason",),
                _ROUTED,
                "object that a transferred matter is outside this body's remit",
            ),
            _t(Action.ACCEPT, [S.REGISTERED], S.ACCEPTED, (), _ROUTED, "受理, written notice"),
            _t(
                Action.RECORD_COMPLETION_REPORT,
                [S.ASSIGNED],
                S.CLOSED,
                ("text",),
                (K.ASSIGNMENT,),
                "the assignee reported the matter done",
            ),
            _t(Action.START_MEDIATION, _ACTIVE, S.IN_MEDIATION, (), (), "调解 first"),
            _t(
                Action.SETTLE_BY_MEDIATION,
                [S.IN_MEDIATION],
                S.REPLIED,
                ("text",),
                _REPLY_MEETS,
                "mediation agreement, given as the reply",
            ),
            _t(
                Action.END_MEDIATION,
                [S.IN_MEDIATION],
                S.HANDLING,
                ("reason",),
                (),
                "mediation failed; formal handling goes on",
            ),
            _t(Action.BEGIN_HANDLING, [S.ACCEPTED], S.HANDLING, (), (), "办理"),
            _t(
                Action.EXTEND_HANDLING,
                (*_ACTIVE, S.IN_MEDIATION),
                None,
                ("days", "reason"),
                (),
                "one extension of at most 30 days, approved, reasons told",
            ),
            _t(Action.REPLY, _ACTIVE, S.REPLIED, ("outcome", "text"), _REPLY_MEETS, "答复"),
            _t(
                Action.RECORD_DELIVERY,
                [S.REPLIED, S.REVIEWED],
                None,
                ("delivered_at",),
                (),
                "record when the petitioner received the written reply or review decision",
            ),
            _t(
                Action.RATE_SATISFACTION,
                [S.REPLIED, S.REVIEWED],
                None,
                ("rating",),
                (),
                "the petitioner's rating",
            ),
            _t(
                Action.REQUEST_REVIEW,
                [S.REPLIED],
                S.UNDER_REVIEW,
                ("reason",),
                (K.REVIEW_REQUEST,),
                "复查 at the body one tier above the handler",
            ),
            _t(
                Action.RECORD_REVIEW_DECISION,
                [S.UNDER_REVIEW],
                S.REVIEWED,
                ("review_outcome", "text"),
                (K.REVIEW_DECISION,),
                "复查意见",
            ),
            _t(
                Action.REQUEST_FINAL_REVIEW,
                [S.REVIEWED],
                S.UNDER_FINAL_REVIEW,
                ("reason",),
                (K.FINAL_REVIEW_REQUEST,),
                "复核 at the body above the reviewer",
            ),
            _t(
                Action.RECORD_HEARING,
                [S.UNDER_FINAL_REVIEW],
                None,
                ("days",),
                (),
                "hearing time, not counted in the final-review period",
            ),
            _t(
                Action.RECORD_FINAL_REVIEW_DECISION,
                [S.UNDER_FINAL_REVIEW],
                S.CLOSED,
                ("review_outcome", "text"),
                (K.FINAL_REVIEW_DECISION,),
                "复核意见: three-tier finality",
            ),
            _t(Action.CLOSE, [S.REPLIED, S.REVIEWED], S.CLOSED, (), (), "办结"),
            *_FAST_TRACK,
        )
    }
)


@dataclass(frozen=True)
class Command:
    """One act on a case. Only the fields its transition requires are read."""

    action: Action
    at: datetime
    actor: str
    channel: Channel | None = None
    received_from: str | None = None  # node code a transferred matter came from
    target: str | None = None  # node code routed to
    due_date: date | None = None
    legal_channel: LegalChannel | None = None
    reason: str | None = None
    text: str | None = None
    outcome: ReplyOutcome | None = None
    review_outcome: ReviewOutcome | None = None
    rating: Satisfaction | None = None
    days: int | None = None
    notified_on_spot: bool = False
    delivered_at: datetime | None = None  # when the petitioner received the reply
    counselling: str | None = None  # 疏导 record, needed to close an unsupported claim


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    started_at: datetime
    due: datetime
    met_at: datetime | None = None
    extra_days: int = 0

    @property
    def bound(self) -> Bound:
        return LIMITS[self.kind].bound if self.kind in LIMITS else Bound.BODY

    def is_open(self) -> bool:
        return self.met_at is None

    def is_overdue(self, now: datetime) -> bool:
        if self.bound is not Bound.BODY:
            return False
        if self.met_at is not None:
            return self.met_at >= self.due
        return now >= self.due

    def was_met_on_time(self) -> bool:
        return self.met_at is not None and self.met_at < self.due


@dataclass(frozen=True)
class Event:
    """One line of a case's append-only log."""

    seq: int
    command: Command
    from_status: CaseStatus | None
    to_status: CaseStatus


@dataclass(frozen=True)
class CaseState:
    status: CaseStatus
    registered_at: datetime
    channel: Channel
    last_at: datetime
    version: int  # number of events applied
    deadlines: Mapping[DeadlineKind, Deadline] = field(default_factory=dict)
    routed_to: str | None = None
    received_from: str | None = None
    handling_extended: bool = False
    outcome: ReplyOutcome | None = None
    rating: Satisfaction | None = None
    review_outcome: ReviewOutcome | None = None
    final: bool = False  # three-tier finality reached: no re-acceptance (Art. 36)
    notified_on_spot: bool = False
    counselled: bool = False

    def deadline(self, kind: DeadlineKind) -> Deadline | None:
        return self.deadlines.get(kind)

    def is_overdue(self, now: datetime) -> bool:
        if self.status in TERMINAL:
            return False
        return any(d.is_open() and d.is_overdue(now) for d in self.deadlines.values())


def allowed_actions(status: CaseStatus | None) -> list[Action]:
    if status is None:
        return [Action.REGISTER]
    return [t.action for t in TRANSITIONS.values() if status in t.sources]


def decide(state: CaseState | None, command: Command, calendar: HolidayCalendar) -> Event:
    """Check ``command`` against the rules; the event to append, or a ``DomainError``."""
    transition = TRANSITIONS[command.action]
    _check_required(transition, command)
    if command.at.tzinfo is None:
        raise bad_input("time must carry a time zone", "at")
    if state is None:
        if command.action is not Action.REGISTER:
            raise DomainError(ErrorCode.NOT_FOUND, "no such case")
        return Event(1, command, None, CaseStatus.REGISTERED)
    if command.action is Action.REGISTER:
        raise DomainError(ErrorCode.DUPLICATE, "the case is already registered")
    if state.status not in transition.sources:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"cannot {command.action.value.lower().replace('_', ' ')} a case that is "
            f"{state.status.value}; allowed now: "
            + (", ".join(a.value for a in allowed_actions(state.status)) or "nothing (final)"),
        )
    if command.at < state.last_at:
        raise bad_input("an act cannot be dated before the case's last event", "at")
    _GUARDS.get(command.action, _no_guard)(state, command, calendar)
    return Event(state.version + 1, command, state.status, transition.target or state.status)


def apply(state: CaseState | None, event: Event, calendar: HolidayCalendar) -> CaseState:
    """The state after ``event``. Pure; used for writing and for replaying the log."""
    command = event.command
    if state is None:
        return _registered(command, calendar)
    transition = TRANSITIONS[command.action]
    deadlines = dict(state.deadlines)
    for kind in transition.meets:
        open_deadline = deadlines.get(kind)
        if open_deadline is not None and open_deadline.met_at is None:
            deadlines[kind] = replace(open_deadline, met_at=command.at)
    changes: dict[str, Any] = {}
    _EFFECTS.get(command.action, _no_effect)(state, command, calendar, deadlines, changes)
    return replace(
        state,
        status=event.to_status,
        last_at=command.at,
        version=event.seq,
        deadlines=deadlines,
        **changes,
    )


def replay(events: Iterable[Event], calendar: HolidayCalendar) -> CaseState:
    """Fold the log; raises if the log holds an event its state did not allow."""
    state: CaseState | None = None
    for event in events:
        expected = decide(state, event.command, calendar)
        if (expected.seq, expected.from_status, expected.to_status) != (
            event.seq,
            event.from_status,
            event.to_status,
        ):
            raise ValueError(f"event {event.seq} does not follow from the log before it")
        state = apply(state, event, calendar)
    if state is None:
        raise ValueError("an empty log has no state")
    return state


def execute(
    state: CaseState | None, command: Command, calendar: HolidayCalendar
) -> tuple[CaseState, Event]:
    event = decide(state, command, calendar)
    return apply(state, event, calendar), event


Guard = Callable[[CaseState, Command, HolidayCalendar], None]
Effect = Callable[
    [CaseState, Command, HolidayCalendar, dict[DeadlineKind, Deadline], dict[str, Any]], None
]


# -- guards: rules beyond "this action is allowed from this status" -------------------------


def _check_required(transition: Transition, command: Command) -> None:
    for name in transition.requires:
        value = getattr(command, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise bad_input(
                f"{name.replace('_', ' ')} is required to {transition.description}", name
            )


def _no_guard(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    return None


def _require_open_window(state: CaseState, kind: DeadlineKind, command: Command, what: str) -> None:
    window = state.deadline(kind)
    if window is None:
        raise DomainError(ErrorCode.INVALID_TRANSITION, f"this case has no {what} window")
    if command.at >= window.due:
        raise DomainError(
            ErrorCode.DEADLINE_PASSED,
            f"the {what} window closed at {window.due.isoformat()}",
        )


def _guard_assign(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    assert command.due_date is not None
    today = local_date(command.at)
    if command.due_date <= today:
        raise bad_input("an assignment's due date must be after today", "due_date")
    if (command.due_date - today).days > MAX_ASSIGNMENT_DAYS:
        raise bad_input(
            f"an assignment's due date may be at most {MAX_ASSIGNMENT_DAYS} days ahead", "due_date"
        )


def _guard_objection(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    if state.received_from is None:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            "only a matter transferred or assigned from another body can be objected to",
        )
    _require_open_window(state, DeadlineKind.OBJECTION, command, "objection (5 working days)")


def _guard_accept(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    if command.notified_on_spot and local_date(command.at) != local_date(state.registered_at):
        raise bad_input(
            "an on-the-spot notice is given on the day of registration", "notified_on_spot"
        )


def _guard_extend(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    assert command.days is not None
    if state.handling_extended:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION, "the handling period was already extended once"
        )
    if not 1 <= command.days <= MAX_HANDLING_EXTENSION_DAYS:
        raise bad_input(f"an extension is 1 to {MAX_HANDLING_EXTENSION_DAYS} days", "days")
    _require_open_window(state, DeadlineKind.HANDLING, command, "handling period")


def _guard_reply(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    if command.delivered_at is not None and command.delivered_at.tzinfo is None:
        raise bad_input("delivery time must carry a time zone", "delivered_at")
    if command.delivered_at is not None and command.delivered_at < command.at:
        raise bad_input("a reply cannot be delivered before it is given", "delivered_at")


def _guard_rate(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    if state.rating is not None:
        raise DomainError(ErrorCode.DUPLICATE, "the petitioner has already rated this reply")


def _guard_request_review(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    _require_open_window(state, DeadlineKind.REVIEW_REQUEST, command, "review request (30 days)")


def _guard_request_final(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    _require_open_window(
        state, DeadlineKind.FINAL_REVIEW_REQUEST, command, "final review request (30 days)"
    )


def _guard_hearing(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    assert command.days is not None
    if not 1 <= command.days <= MAX_HEARING_DAYS:
        raise bad_input(f"hearing time is 1 to {MAX_HEARING_DAYS} days", "days")
    decision = state.deadline(DeadlineKind.FINAL_REVIEW_DECISION)
    if decision is not None and decision.extra_days + command.days > MAX_HEARING_DAYS:
        raise bad_input(
            f"hearings may add at most {MAX_HEARING_DAYS} days in all; "
            f"{decision.extra_days} are recorded already",
            "days",
        )
    # Hearing time is recorded while the period runs; it cannot cure a decision already late.
    _require_open_window(
        state, DeadlineKind.FINAL_REVIEW_DECISION, command, "final review decision period"
    )


def _guard_close(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    window_kind = (
        DeadlineKind.REVIEW_REQUEST
        if state.status is CaseStatus.REPLIED
        else DeadlineKind.FINAL_REVIEW_REQUEST
    )
    window = state.deadline(window_kind)
    satisfied = state.rating in (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)
    if not satisfied and window is not None and command.at < window.due:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            "the petitioner has not said they are satisfied and may still ask for a "
            f"{'review' if window_kind is DeadlineKind.REVIEW_REQUEST else 'final review'} "
            f"until {window.due.isoformat()}",
        )
    unsupported = (
        state.outcome is ReplyOutcome.NOT_SUPPORTED
        and state.review_outcome is not ReviewOutcome.REVISED
    )
    if unsupported and not state.counselled and not (command.counselling or "").strip():
        raise bad_input(
            "an unsupported claim closes only with a counselling (疏导) record", "counselling"
        )


def _delivery_window(state: CaseState) -> DeadlineKind:
    if state.status is CaseStatus.REPLIED:
        return DeadlineKind.REVIEW_REQUEST
    return DeadlineKind.FINAL_REVIEW_REQUEST


def _guard_delivery(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    delivered = command.delivered_at
    assert delivered is not None
    if delivered.tzinfo is None:
        raise bad_input("delivery time must carry a time zone", "delivered_at")
    if delivered > command.at:
        raise bad_input("a delivery cannot be recorded before it happens", "delivered_at")
    window = state.deadline(_delivery_window(state))
    if window is not None and delivered < window.started_at:
        raise bad_input(
            "the petitioner's window already runs from a later time; a delivery record can only "
            "move it later",
            "delivered_at",
        )


def _guard_fast_track(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
    if state.deadline(DeadlineKind.FAST_TRACK_MEETING) is not None:
        raise DomainError(ErrorCode.DUPLICATE, "the case is already on the fast track")
    meeting_due = due_after(DeadlineKind.FAST_TRACK_MEETING, state.registered_at, calendar)
    if command.at >= meeting_due:
        raise DomainError(
            ErrorCode.DEADLINE_PASSED,
            f"the fast track's 5 days to meet the petitioner ended at {meeting_due.isoformat()}",
        )


def _fast_track_step(kind: DeadlineKind, before: DeadlineKind | None, what: str) -> Guard:
    def guard(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
        step = state.deadline(kind)
        if step is None:
            raise DomainError(ErrorCode.INVALID_TRANSITION, "the case is not on the fast track")
        if step.met_at is not None:
            raise DomainError(ErrorCode.DUPLICATE, f"{what} is already recorded")
        earlier = state.deadline(before) if before else None
        if earlier is not None and earlier.met_at is None:
            raise DomainError(
                ErrorCode.INVALID_TRANSITION, "meet the petitioner before recording the facts"
            )

    return guard


def _guard_fast_track_reply(reply_guard: Guard) -> Guard:
    """A fast-track case replies once its facts are established."""

    def guard(state: CaseState, command: Command, calendar: HolidayCalendar) -> None:
        reply_guard(state, command, calendar)
        facts = state.deadline(DeadlineKind.FAST_TRACK_FACTS)
        if facts is not None and facts.met_at is None:
            raise DomainError(
                ErrorCode.INVALID_TRANSITION,
                "a fast-track case replies after its facts are established",
            )

    return guard


_GUARDS: dict[Action, Guard] = {
    Action.ASSIGN: _guard_assign,
    Action.RAISE_OBJECTION: _guard_objection,
    Action.ACCEPT: _guard_accept,
    Action.EXTEND_HANDLING: _guard_extend,
    Action.REPLY: _guard_reply,
    Action.SETTLE_BY_MEDIATION: _guard_reply,  # the settlement is the reply (same delivery rule)
    Action.RECORD_DELIVERY: _guard_delivery,
    Action.RATE_SATISFACTION: _guard_rate,
    Action.REQUEST_REVIEW: _guard_request_review,
    Action.REQUEST_FINAL_REVIEW: _guard_request_final,
    Action.RECORD_HEARING: _guard_hearing,
    Action.CLOSE: _guard_close,
    Action.FAST_TRACK: _guard_fast_track,
    Action.RECORD_MEETING: _fast_track_step(K.FAST_TRACK_MEETING, None, "the meeting"),
    Action.RECORD_FACTS: _fast_track_step(K.FAST_TRACK_FACTS, K.FAST_TRACK_MEETING, "the facts"),
}
_GUARDS[Action.REPLY] = _guard_fast_track_reply(_guard_reply)
_GUARDS[Action.SETTLE_BY_MEDIATION] = _guard_fast_track_reply(_guard_reply)


# -- effects: what an event changes beyond its status and the deadlines it meets -------------


def _registered(command: Command, calendar: HolidayCalendar) -> CaseState:
    assert command.channel is not None
    at = command.at
    deadlines = {K.ACCEPTANCE: Deadline(K.ACCEPTANCE, at, due_after(K.ACCEPTANCE, at, calendar))}
    if command.received_from is not None:
        deadlines[K.OBJECTION] = Deadline(K.OBJECTION, at, due_after(K.OBJECTION, at, calendar))
    return CaseState(
        status=CaseStatus.REGISTERED,
        registered_at=at,
        channel=command.channel,
        last_at=at,
        version=1,
        deadlines=deadlines,
        received_from=command.received_from,
    )


def _start(kind: DeadlineKind, at: datetime, calendar: HolidayCalendar) -> Deadline:
    return Deadline(kind, at, due_after(kind, at, calendar))


def _no_effect(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    return None


def _effect_route(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    changes["routed_to"] = command.target


def _effect_assign(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    assert command.due_date is not None
    deadlines[K.ASSIGNMENT] = Deadline(K.ASSIGNMENT, command.at, due_on(command.due_date, calendar))
    changes["routed_to"] = command.target


def _effect_accept(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    deadlines[K.HANDLING] = _start(K.HANDLING, command.at, calendar)
    changes["notified_on_spot"] = command.notified_on_spot


def _effect_extend(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    assert command.days is not None
    handling = deadlines[K.HANDLING]
    deadlines[K.HANDLING] = replace(
        handling,
        extra_days=command.days,
        due=due_after(K.HANDLING, handling.started_at, calendar, extra_days=command.days),
    )
    changes["handling_extended"] = True


def _effect_reply(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    delivered = command.delivered_at or command.at
    deadlines[K.REVIEW_REQUEST] = _start(K.REVIEW_REQUEST, delivered, calendar)
    changes["outcome"] = command.outcome or ReplyOutcome.SUPPORTED


def _effect_rate(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    changes["rating"] = command.rating


def _effect_request_review(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    deadlines[K.REVIEW_DECISION] = _start(K.REVIEW_DECISION, command.at, calendar)
    changes["rating"] = None


def _effect_review_decision(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    deadlines[K.FINAL_REVIEW_REQUEST] = _start(K.FINAL_REVIEW_REQUEST, command.at, calendar)
    changes["review_outcome"] = command.review_outcome


def _effect_request_final(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    deadlines[K.FINAL_REVIEW_DECISION] = _start(K.FINAL_REVIEW_DECISION, command.at, calendar)
    changes["rating"] = None


def _effect_hearing(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    assert command.days is not None
    decision = deadlines[K.FINAL_REVIEW_DECISION]
    extra = decision.extra_days + command.days
    deadlines[K.FINAL_REVIEW_DECISION] = replace(
        decision,
        extra_days=extra,
        due=due_after(K.FINAL_REVIEW_DECISION, decision.started_at, calendar, extra_days=extra),
    )


def _effect_final_decision(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    changes["review_outcome"] = command.review_outcome
    changes["final"] = True


def _effect_close(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    if (command.counselling or "").strip():
        changes["counselled"] = True


def _effect_delivery(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    assert command.delivered_at is not None
    kind = _delivery_window(state)
    deadlines[kind] = _start(kind, command.delivered_at, calendar)


def _effect_fast_track(
    state: CaseState,
    command: Command,
    calendar: HolidayCalendar,
    deadlines: dict[DeadlineKind, Deadline],
    changes: dict[str, Any],
) -> None:
    for kind in (K.FAST_TRACK_MEETING, K.FAST_TRACK_FACTS, K.FAST_TRACK_REPLY):
        deadlines[kind] = _start(kind, state.registered_at, calendar)


_EFFECTS: dict[Action, Effect] = {
    Action.TRANSFER: _effect_route,
    Action.ASSIGN: _effect_assign,
    Action.ACCEPT: _effect_accept,
    Action.EXTEND_HANDLING: _effect_extend,
    Action.REPLY: _effect_reply,
    Action.SETTLE_BY_MEDIATION: _effect_reply,
    Action.RECORD_DELIVERY: _effect_delivery,
    Action.RATE_SATISFACTION: _effect_rate,
    Action.REQUEST_REVIEW: _effect_request_review,
    Action.RECORD_REVIEW_DECISION: _effect_review_decision,
    Action.REQUEST_FINAL_REVIEW: _effect_request_final,
    Action.RECORD_HEARING: _effect_hearing,
    Action.RECORD_FINAL_REVIEW_DECISION: _effect_final_decision,
    Action.CLOSE: _effect_close,
    Action.FAST_TRACK: _effect_fast_track,
}

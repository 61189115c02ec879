"""The township fast track in the pure lifecycle: three deadlines of their own kinds from
registration, met by their own acts and by the reply, rebuilt the same from the event log."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.deadlines import CHINA_TZ, DeadlineKind, due_after
from shared.holidays import default_calendar
from shared.lifecycle import Action, CaseState, Channel, Command, Event, execute, replay

CAL = default_calendar()
K = DeadlineKind
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=CHINA_TZ)  # a Monday
DAY = timedelta(days=1)


def run(steps: list[tuple[Action, datetime, dict[str, object]]]) -> tuple[CaseState, list[Event]]:
    state: CaseState | None = None
    events: list[Event] = []
    for action, at, fields in steps:
        command = Command(action, at, "clerk", **fields)  # type: ignore[arg-type]
        state, event = execute(state, command, CAL)
        events.append(event)
    assert state is not None
    return state, events


def test_the_three_periods_run_from_registration_whenever_the_track_is_taken() -> None:
    state, _ = run(
        [
            (Action.REGISTER, T0, {"channel": Channel.VISIT}),
            (Action.FAST_TRACK, T0 + 2 * DAY, {}),
        ]
    )
    for kind in (K.FAST_TRACK_MEETING, K.FAST_TRACK_FACTS, K.FAST_TRACK_REPLY):
        deadline = state.deadlines[kind]
        assert (deadline.started_at, deadline.due) == (T0, due_after(kind, T0, CAL))


def test_a_mediation_agreement_meets_the_fast_track_reply_and_the_log_rebuilds_it() -> None:
    state, events = run(
        [
            (Action.REGISTER, T0, {"channel": Channel.GRID_REPORT}),
            (Action.FAST_TRACK, T0 + DAY, {}),
            (Action.ACCEPT, T0 + DAY, {}),
            (Action.RECORD_MEETING, T0 + 2 * DAY, {"text": "met"}),
            (Action.RECORD_FACTS, T0 + 3 * DAY, {"text": "facts"}),
            (Action.START_MEDIATION, T0 + 3 * DAY, {}),
            (Action.SETTLE_BY_MEDIATION, T0 + 4 * DAY, {"text": "agreement"}),
        ]
    )
    assert state.deadlines[K.FAST_TRACK_REPLY].met_at == T0 + 4 * DAY
    assert all(
        state.deadlines[k].was_met_on_time() for k in state.deadlines if k.startswith("FAST")
    )
    assert replay(events, CAL) == state

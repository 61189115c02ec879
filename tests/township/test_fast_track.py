"""The township fast track (速办): meet in 5 days, facts in 7, reply in 15, from registration;
each a deadline of its own kind, judged at its boundary, and the township's figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from tests.conftest import TOWNSHIP, GraphQLClient
from tests.roles import ok, refusal, snapshot
from tests.township.conftest import act, register_at_centre

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
# Registered Monday 3 March 2025. Day 5 (8 March) and day 7 (10 March): 8 March is a Saturday,
# so the meeting period ends with Monday 10 March too (Civil Code Art. 203); day 15: 18 March.
MEETING_DUE = datetime.fromisoformat("2025-03-10T16:00:00+00:00")
FACTS_DUE = MEETING_DUE
REPLY_DUE = datetime.fromisoformat("2025-03-18T16:00:00+00:00")
FIGURES = (
    "{ fastTrackFigures { kind limitDays cases met metOnTime overdue onTimeRate averageDays } }"
)


def fast(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in case["deadlines"] if d["kind"].startswith("FAST_TRACK")}


async def test_the_fast_track_runs_three_deadlines_from_registration(
    town: GraphQLClient, clock: FixedClock
) -> None:
    case_id = (await register_at_centre(town, "fast-happy"))["id"]
    clock.advance(DAY)
    taken = ok(await act(town, "takeFastTrack", case_id), "takeFastTrack")
    steps = fast(taken)
    assert {k: datetime.fromisoformat(d["due"]) for k, d in steps.items()} == {
        "FAST_TRACK_MEETING": MEETING_DUE,
        "FAST_TRACK_FACTS": FACTS_DUE,
        "FAST_TRACK_REPLY": REPLY_DUE,
    }
    ok(await act(town, "acceptCase", case_id), "acceptCase")
    clock.advance(DAY)
    ok(
        await act(town, "recordFastTrackMeeting", case_id, text="约见信访人了解诉求"),
        "recordFastTrackMeeting",
    )
    clock.advance(2 * DAY)
    ok(
        await act(town, "recordFastTrackFacts", case_id, text="查明排水沟权属"),
        "recordFastTrackFacts",
    )
    clock.advance(3 * DAY)
    replied = ok(
        await act(town, "replyCase", case_id, outcome="SUPPORTED", text="予以支持"), "replyCase"
    )
    assert all(d["metOnTime"] for d in fast(replied).values())
    figures = ok(await town(FIGURES), "fastTrackFigures")
    assert [(f["kind"], f["limitDays"], f["met"], f["onTimeRate"]) for f in figures] == [
        ("FAST_TRACK_MEETING", 5, 1, 1.0),
        ("FAST_TRACK_FACTS", 7, 1, 1.0),
        ("FAST_TRACK_REPLY", 15, 1, 1.0),
    ]
    assert [f["averageDays"] for f in figures] == [2.0, 4.0, 7.0]  # days after registration


async def test_each_step_is_on_time_until_the_last_instant_of_its_period(
    town: GraphQLClient, clock: FixedClock
) -> None:
    case_id = (await register_at_centre(town, "fast-boundary"))["id"]
    ok(await act(town, "takeFastTrack", case_id), "takeFastTrack")
    clock.at = MEETING_DUE - SECOND
    met = fast(
        ok(
            await act(town, "recordFastTrackMeeting", case_id, text="见面"),
            "recordFastTrackMeeting",
        )
    )
    assert (met["FAST_TRACK_MEETING"]["metOnTime"], met["FAST_TRACK_FACTS"]["overdue"]) == (
        True,
        False,
    )
    clock.at = FACTS_DUE
    late = fast(
        ok(
            await act(town, "recordFastTrackFacts", case_id, text="查明事实"),
            "recordFastTrackFacts",
        )
    )
    assert (late["FAST_TRACK_FACTS"]["metOnTime"], late["FAST_TRACK_FACTS"]["overdue"]) == (
        False,
        True,
    )
    ok(await act(town, "acceptCase", case_id), "acceptCase")
    clock.at = REPLY_DUE - SECOND
    open_steps = ok(
        await town("query($id: ID!) { case(id: $id) { overdue } }", {"id": case_id}), "case"
    )
    assert open_steps == {"overdue": False}
    clock.at = REPLY_DUE
    overdue = ok(
        await town("query($id: ID!) { case(id: $id) { overdue } }", {"id": case_id}), "case"
    )
    assert overdue == {"overdue": True}  # the reply step is an obligation of the township
    figures = {f["kind"]: f for f in ok(await town(FIGURES), "fastTrackFigures")}
    assert (
        figures["FAST_TRACK_FACTS"]["metOnTime"],
        figures["FAST_TRACK_FACTS"]["onTimeRate"],
    ) == (0, 0.0)
    assert figures["FAST_TRACK_REPLY"]["overdue"] == 1
    stats = ok(await town("{ stats { overdue } }"), "stats")
    assert stats == {"overdue": 1}


async def test_the_fast_track_refuses_steps_out_of_order_and_writes_nothing(
    town: GraphQLClient, clock: FixedClock, clean_engine: AsyncEngine
) -> None:
    plain = (await register_at_centre(town, "fast-plain"))["id"]
    tracked = (await register_at_centre(town, "fast-tracked"))["id"]
    ok(await act(town, "takeFastTrack", tracked), "takeFastTrack")
    ok(await act(town, "acceptCase", tracked), "acceptCase")
    late = (await register_at_centre(town, "fast-late"))["id"]
    before = await snapshot(clean_engine, TOWNSHIP)
    assert refusal(await act(town, "recordFastTrackMeeting", plain, text="见面"))["code"] == (
        "INVALID_TRANSITION"
    )
    assert refusal(await act(town, "recordFastTrackFacts", tracked, text="事实"))["code"] == (
        "INVALID_TRANSITION"  # meet the petitioner first
    )
    assert (
        refusal(await act(town, "replyCase", tracked, outcome="SUPPORTED", text="答复"))["code"]
        == "INVALID_TRANSITION"
    )  # establish the facts first
    assert refusal(await act(town, "takeFastTrack", tracked))["code"] == "DUPLICATE"
    assert refusal(await act(town, "recordFastTrackMeeting", tracked, text=" "))["code"] == (
        "BAD_USER_INPUT"
    )
    clock.at = MEETING_DUE
    assert refusal(await act(town, "takeFastTrack", late))["code"] == "DEADLINE_PASSED"
    assert await snapshot(clean_engine, TOWNSHIP) == before

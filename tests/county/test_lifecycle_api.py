"""Every lifecycle mutation of the county subgraph, end to end over HTTP and PostgreSQL.

Dates: the clock starts on Monday 3 March 2025, 10:00 China time. A period of N days ends at the
end of the Nth day after the trigger (China time), rolled forward past holidays and weekends;
``due`` is the first instant after it, so a deadline ending on day D is ``D 16:00Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from tests.conftest import START, GraphQLClient
from tests.county.helpers import (
    PERSON_A,
    PERSON_A_LEGACY,
    PERSON_B,
    act,
    act_ok,
    at,
    code_of,
    deadlines_of,
    error_of,
    read_case,
    register,
    row_counts,
)

DAY = timedelta(days=1)
HANDLER = "handler@530102"


def check_step(
    case: dict[str, Any],
    *,
    status: str,
    action: str,
    from_status: str | None,
    actor: str = HANDLER,
) -> dict[str, Any]:
    """The case is in ``status`` and its log ends with the act that took it there."""
    assert case["status"] == status
    events = case["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert case["version"] == len(events)
    last: dict[str, Any] = events[-1]
    assert last["action"] == action
    assert last["fromStatus"] == from_status
    assert last["toStatus"] == status
    assert last["actor"] == actor
    for before, after in pairwise(events):
        assert after["fromStatus"] == before["toStatus"]
    return last


def due(case: dict[str, Any], kind: str) -> str:
    value: str = deadlines_of(case)[kind]["due"]
    return value


async def accepted_case(gql: GraphQLClient, **overrides: Any) -> str:
    case = await register(gql, **overrides)
    await act_ok(gql, "acceptCase", case["id"])
    return str(case["id"])


async def replied_case(gql: GraphQLClient, outcome: str = "SUPPORTED", **overrides: Any) -> str:
    case_id = await accepted_case(gql, **overrides)
    await act_ok(gql, "replyCase", case_id, outcome=outcome, text="答复意见书")
    return case_id


# -- the long road: acceptance, mediation, extension, reply, review, final review ------------


async def test_a_case_goes_through_every_stage_up_to_three_tier_finality(
    gql: GraphQLClient, clock: FixedClock, clean_engine: AsyncEngine
) -> None:
    # Day 0 (Mon 3 Mar): registration opens the 15-day acceptance deadline.
    case = await register(gql, actor="clerk@530102")
    case_id = case["id"]
    assert case_id == "530102-2025-000001"
    check_step(case, status="REGISTERED", action="REGISTER", from_status=None, actor="clerk@530102")
    assert case["repeatOf"] is None
    assert case["overdue"] is False
    deadlines = deadlines_of(case)
    assert set(deadlines) == {"ACCEPTANCE"}
    acceptance = deadlines["ACCEPTANCE"]
    assert at(acceptance["startedAt"]) == START
    assert at(acceptance["due"]) == at("2025-03-18T16:00:00+00:00")  # end of day 15
    assert acceptance["binds"] == "BODY"
    assert acceptance["metAt"] is None
    assert acceptance["metOnTime"] is None
    assert acceptance["overdue"] is False

    # Day 10 (Thu 13 Mar): accepted on time; 60 days of handling start.
    clock.advance(10 * DAY)
    case = await act_ok(gql, "acceptCase", case_id, actor="chief@530102")
    check_step(
        case, status="ACCEPTED", action="ACCEPT", from_status="REGISTERED", actor="chief@530102"
    )
    deadlines = deadlines_of(case)
    assert at(deadlines["ACCEPTANCE"]["metAt"]) == clock.now()
    assert deadlines["ACCEPTANCE"]["metOnTime"] is True
    assert deadlines["ACCEPTANCE"]["overdue"] is False
    handling = deadlines["HANDLING"]
    assert at(handling["startedAt"]) == clock.now()
    assert at(handling["due"]) == at("2025-05-12T16:00:00+00:00")  # 13 Mar + 60 days
    assert handling["extraDays"] == 0
    assert handling["metAt"] is None

    # Mediation first; it fails and formal handling goes on.
    clock.advance(DAY)
    case = await act_ok(gql, "startMediation", case_id)
    check_step(case, status="IN_MEDIATION", action="START_MEDIATION", from_status="ACCEPTED")
    clock.advance(3 * DAY)
    case = await act_ok(gql, "endMediation", case_id, reason="双方未达成一致")
    last = check_step(case, status="HANDLING", action="END_MEDIATION", from_status="IN_MEDIATION")
    assert last["reason"] == "双方未达成一致"
    assert deadlines_of(case)["HANDLING"]["metAt"] is None

    # One extension of 30 days: handling is due 90 days after acceptance (11 June).
    clock.advance(3 * DAY)
    case = await act_ok(
        gql, "extendHandling", case_id, days=30, reason="需要补充调查，经负责人批准"
    )
    check_step(case, status="HANDLING", action="EXTEND_HANDLING", from_status="HANDLING")
    handling = deadlines_of(case)["HANDLING"]
    assert handling["extraDays"] == 30
    assert at(handling["due"]) == at("2025-06-11T16:00:00+00:00")
    assert at(handling["startedAt"]) == START + 10 * DAY  # the period still runs from acceptance

    # Reply on Mon 14 Apr: handling met on time; the petitioner's 30-day review window opens.
    clock.advance(25 * DAY)
    replied_at = clock.now()
    case = await act_ok(gql, "replyCase", case_id, outcome="NOT_SUPPORTED", text="不予支持")
    last = check_step(case, status="REPLIED", action="REPLY", from_status="HANDLING")
    assert last["text"] == "不予支持"
    assert case["outcome"] == "NOT_SUPPORTED"
    deadlines = deadlines_of(case)
    assert at(deadlines["HANDLING"]["metAt"]) == replied_at
    assert deadlines["HANDLING"]["metOnTime"] is True
    window = deadlines["REVIEW_REQUEST"]
    assert window["binds"] == "PETITIONER"
    assert at(window["startedAt"]) == replied_at
    assert at(window["due"]) == at("2025-05-14T16:00:00+00:00")  # 14 Apr + 30 days

    clock.advance(DAY)
    case = await act_ok(gql, "rateSatisfaction", case_id, rating="DISSATISFIED")
    check_step(case, status="REPLIED", action="RATE_SATISFACTION", from_status="REPLIED")
    assert case["rating"] == "DISSATISFIED"

    # Day 30 after the reply (Wed 14 May), the last day: review requested in time.
    clock.advance(29 * DAY)
    case = await act_ok(gql, "requestReview", case_id, reason="对答复不服")
    check_step(case, status="UNDER_REVIEW", action="REQUEST_REVIEW", from_status="REPLIED")
    assert case["rating"] is None  # a new answer will be rated anew
    deadlines = deadlines_of(case)
    assert deadlines["REVIEW_REQUEST"]["metOnTime"] is True
    assert at(deadlines["REVIEW_DECISION"]["due"]) == at("2025-06-13T16:00:00+00:00")
    assert deadlines["REVIEW_DECISION"]["binds"] == "BODY"

    clock.advance(27 * DAY)  # Tue 10 June
    case = await act_ok(gql, "recordReviewDecision", case_id, outcome="UPHELD", text="维持原意见")
    check_step(case, status="REVIEWED", action="RECORD_REVIEW_DECISION", from_status="UNDER_REVIEW")
    assert case["reviewOutcome"] == "UPHELD"
    deadlines = deadlines_of(case)
    assert deadlines["REVIEW_DECISION"]["metOnTime"] is True
    assert at(deadlines["FINAL_REVIEW_REQUEST"]["due"]) == at("2025-07-10T16:00:00+00:00")
    assert deadlines["FINAL_REVIEW_REQUEST"]["binds"] == "PETITIONER"

    # Day 30 after the review decision (Thu 10 July): final review requested in time.
    clock.advance(30 * DAY)
    case = await act_ok(gql, "requestFinalReview", case_id, reason="申请复核")
    check_step(
        case, status="UNDER_FINAL_REVIEW", action="REQUEST_FINAL_REVIEW", from_status="REVIEWED"
    )
    decision = deadlines_of(case)["FINAL_REVIEW_DECISION"]
    # 10 July + 30 = Sat 9 Aug, rolled forward to Mon 11 Aug.
    assert at(decision["due"]) == at("2025-08-11T16:00:00+00:00")

    # A 10-day hearing is not counted: the decision is due on 19 Aug.
    clock.advance(5 * DAY)
    case = await act_ok(gql, "recordHearing", case_id, days=10)
    check_step(
        case, status="UNDER_FINAL_REVIEW", action="RECORD_HEARING", from_status="UNDER_FINAL_REVIEW"
    )
    decision = deadlines_of(case)["FINAL_REVIEW_DECISION"]
    assert decision["extraDays"] == 10
    assert at(decision["due"]) == at("2025-08-19T16:00:00+00:00")

    # Decided on 15 Aug: late without the hearing days, on time with them.
    clock.advance(31 * DAY)
    assert clock.now() > datetime(2025, 8, 11, 16, 0, tzinfo=UTC)
    case = await act_ok(
        gql, "recordFinalReviewDecision", case_id, outcome="UPHELD", text="复核维持"
    )
    check_step(
        case,
        status="CLOSED",
        action="RECORD_FINAL_REVIEW_DECISION",
        from_status="UNDER_FINAL_REVIEW",
    )
    assert case["final"] is True
    assert case["overdue"] is False
    decision = deadlines_of(case)["FINAL_REVIEW_DECISION"]
    assert decision["metOnTime"] is True
    assert decision["overdue"] is False
    assert case["version"] == 12
    assert [e["action"] for e in case["events"]] == [
        "REGISTER",
        "ACCEPT",
        "START_MEDIATION",
        "END_MEDIATION",
        "EXTEND_HANDLING",
        "REPLY",
        "RATE_SATISFACTION",
        "REQUEST_REVIEW",
        "RECORD_REVIEW_DECISION",
        "REQUEST_FINAL_REVIEW",
        "RECORD_HEARING",
        "RECORD_FINAL_REVIEW_DECISION",
    ]
    assert await read_case(gql, case_id) == case  # the read model agrees with the answer

    # Three-tier finality: the same person on the same matter is not accepted again, neither
    # with the 18-character ID nor with the old 15-digit card. Everything received is
    # registered (Art. 19): the new case is refused at once, in writing, and linked as a repeat.
    for id_number in (PERSON_A, PERSON_A_LEGACY):
        again = await register(gql, petitionerIdNumber=id_number, summary="同一事项再次信访")
        assert again["status"] == "NOT_ACCEPTED"
        assert again["repeatOf"] == {"id": case_id}
        assert [e["action"] for e in again["events"]] == ["REGISTER", "NOT_ACCEPT"]
        assert case_id in again["events"][1]["reason"]
        assert "Art. 36" in again["events"][1]["reason"]
        refusal = await gql(
            "query($id: ID!) { case(id: $id) { refusalCode repeat } }", {"id": again["id"]}
        )
        assert refusal["data"]["case"] == {"refusalCode": "NO_REACCEPTANCE", "repeat": True}

    # Another matter of the same person, or the same matter of someone else, is accepted.
    other_matter = await register(gql, category="劳动争议")
    assert other_matter["repeatOf"] is None
    other_person = await register(gql, petitionerIdNumber=PERSON_B)
    assert other_person["repeatOf"] is None
    assert other_person["id"] == "530102-2025-000005"  # the refused ones were registered too


async def test_a_supported_reply_rated_satisfied_can_be_closed_at_once(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = (await register(gql))["id"]
    clock.advance(DAY)
    await act_ok(gql, "acceptCase", case_id)
    case = await act_ok(gql, "beginHandling", case_id)
    check_step(case, status="HANDLING", action="BEGIN_HANDLING", from_status="ACCEPTED")
    clock.advance(DAY)
    case = await act_ok(gql, "replyCase", case_id, outcome="SUPPORTED", text="予以支持")
    check_step(case, status="REPLIED", action="REPLY", from_status="HANDLING")
    case = await act_ok(gql, "rateSatisfaction", case_id, rating="SATISFIED")
    assert case["rating"] == "SATISFIED"
    case = await act_ok(gql, "closeCase", case_id)
    check_step(case, status="CLOSED", action="CLOSE", from_status="REPLIED")
    assert case["final"] is False
    assert case["overdue"] is False
    # An ordinary closure is not finality: the petitioner may petition again (a repeat).
    again = await register(gql)
    assert again["repeatOf"] == {"id": case_id}


async def test_an_unsupported_claim_closes_only_with_a_counselling_record_after_the_window(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = await replied_case(gql, outcome="NOT_SUPPORTED")
    refused = await act(gql, "closeCase", case_id)
    assert code_of(refused) == "INVALID_TRANSITION"  # the review window is still open
    clock.advance(31 * DAY)
    refused = await act(gql, "closeCase", case_id)
    assert code_of(refused) == "BAD_USER_INPUT"
    assert error_of(refused)["extensions"]["field"] == "counselling"
    case = await act_ok(gql, "closeCase", case_id, counselling="当面疏导，释法明理")
    check_step(case, status="CLOSED", action="CLOSE", from_status="REPLIED")


async def test_mediation_settles_the_case_as_its_reply(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = await accepted_case(gql)
    clock.advance(2 * DAY)
    case = await act_ok(gql, "startMediation", case_id)
    check_step(case, status="IN_MEDIATION", action="START_MEDIATION", from_status="ACCEPTED")
    clock.advance(DAY)
    case = await act_ok(gql, "settleByMediation", case_id, text="调解协议：三日内支付补偿款")
    last = check_step(
        case, status="REPLIED", action="SETTLE_BY_MEDIATION", from_status="IN_MEDIATION"
    )
    assert last["text"] == "调解协议：三日内支付补偿款"
    assert case["outcome"] == "SUPPORTED"
    deadlines = deadlines_of(case)
    assert deadlines["HANDLING"]["metOnTime"] is True
    assert at(deadlines["REVIEW_REQUEST"]["startedAt"]) == clock.now()
    # Nobody rated and the window (to Mon 7 Apr, after Qingming) lapsed: it may be closed.
    assert at(deadlines["REVIEW_REQUEST"]["due"]) == at("2025-04-07T16:00:00+00:00")
    clock.advance(31 * DAY)  # Sun 6 Apr: still open
    assert code_of(await act(gql, "closeCase", case_id)) == "INVALID_TRANSITION"
    clock.advance(2 * DAY)
    case = await act_ok(gql, "closeCase", case_id)
    check_step(case, status="CLOSED", action="CLOSE", from_status="REPLIED")


async def test_a_transfer_routes_the_case_and_meets_the_acceptance_deadline(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = (await register(gql))["id"]
    clock.advance(2 * DAY)
    case = await act_ok(gql, "transferCase", case_id, to="530102001", reason="属华山街道管辖")
    last = check_step(case, status="TRANSFERRED", action="TRANSFER", from_status="REGISTERED")
    assert last["reason"] == "属华山街道管辖"
    assert case["routedTo"] == {"code": "530102001"}
    assert deadlines_of(case)["ACCEPTANCE"]["metOnTime"] is True
    clock.advance(30 * DAY)
    assert (await read_case(gql, case_id))["overdue"] is False
    refused = await act(gql, "acceptCase", case_id)
    assert code_of(refused) == "INVALID_TRANSITION"


async def test_an_assignment_carries_a_due_date_and_closes_on_its_completion_report(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = (await register(gql))["id"]
    case = await act_ok(
        gql, "assignCase", case_id, to="530102001", due="2025-03-20", note="请于期限内报结"
    )
    check_step(case, status="ASSIGNED", action="ASSIGN", from_status="REGISTERED")
    assert case["routedTo"] == {"code": "530102001"}
    deadlines = deadlines_of(case)
    assert deadlines["ACCEPTANCE"]["metOnTime"] is True
    assignment = deadlines["ASSIGNMENT"]
    assert at(assignment["due"]) == at("2025-03-20T16:00:00+00:00")  # end of 20 March
    assert assignment["binds"] == "BODY"
    # One day past the due date without a report: the case is overdue.
    clock.advance(18 * DAY)
    late = await read_case(gql, case_id)
    assert late["overdue"] is True
    assert deadlines_of(late)["ASSIGNMENT"]["overdue"] is True
    case = await act_ok(gql, "recordCompletionReport", case_id, text="已办结，补偿款已发放")
    check_step(case, status="CLOSED", action="RECORD_COMPLETION_REPORT", from_status="ASSIGNED")
    assignment = deadlines_of(case)["ASSIGNMENT"]
    assert assignment["metOnTime"] is False
    assert case["overdue"] is False  # closed cases are never overdue


async def test_a_litigation_matter_is_redirected_to_the_legal_channel(gql: GraphQLClient) -> None:
    case_id = (await register(gql))["id"]
    case = await act_ok(
        gql, "redirectCase", case_id, legalChannel="LITIGATION", reason="属涉法涉诉事项"
    )
    last = check_step(case, status="REDIRECTED", action="REDIRECT", from_status="REGISTERED")
    assert last["reason"] == "属涉法涉诉事项"
    assert deadlines_of(case)["ACCEPTANCE"]["metOnTime"] is True


async def test_a_matter_can_be_refused_at_intake_with_a_written_reason(gql: GraphQLClient) -> None:
    case_id = (await register(gql))["id"]
    case = await act_ok(gql, "notAcceptCase", case_id, reason="已进入诉讼程序")
    last = check_step(case, status="NOT_ACCEPTED", action="NOT_ACCEPT", from_status="REGISTERED")
    assert last["reason"] == "已进入诉讼程序"
    refused = await act(gql, "acceptCase", case_id)
    assert code_of(refused) == "INVALID_TRANSITION"
    assert "NOT_ACCEPTED" in error_of(refused)["message"]


async def test_a_transferred_in_matter_can_be_objected_to_within_five_working_days(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    early = await register(gql, receivedFrom="530103")
    late = await register(gql, receivedFrom="530103", petitionerIdNumber=PERSON_B)
    assert early["receivedFrom"] == {"code": "530103"}
    objection = deadlines_of(early)["OBJECTION"]
    # Mon 3 Mar + 5 working days = Mon 10 Mar.
    assert at(objection["due"]) == at("2025-03-10T16:00:00+00:00")
    clock.advance(7 * DAY)  # Mon 10 Mar: the last working day
    case = await act_ok(gql, "raiseCompetenceObjection", early["id"], reason="不属本机关职权范围")
    check_step(case, status="NOT_ACCEPTED", action="RAISE_OBJECTION", from_status="REGISTERED")
    assert deadlines_of(case)["OBJECTION"]["metOnTime"] is True
    clock.advance(DAY)
    refused = await act(gql, "raiseCompetenceObjection", late["id"], reason="不属本机关职权范围")
    assert code_of(refused) == "DEADLINE_PASSED"
    assert (await read_case(gql, late["id"]))["status"] == "REGISTERED"


# -- time limits -----------------------------------------------------------------------------


async def test_acceptance_on_day_15_is_on_time_and_on_day_16_is_late(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    on_time = (await register(gql))["id"]
    late = (await register(gql, petitionerIdNumber=PERSON_B))["id"]

    clock.advance(15 * DAY)  # Tue 18 Mar, 10:00: day 15
    waiting = await read_case(gql, late)
    assert waiting["overdue"] is False
    assert deadlines_of(waiting)["ACCEPTANCE"]["overdue"] is False
    case = await act_ok(gql, "acceptCase", on_time)
    acceptance = deadlines_of(case)["ACCEPTANCE"]
    assert acceptance["metOnTime"] is True
    assert acceptance["overdue"] is False

    clock.advance(DAY)  # day 16
    waiting = await read_case(gql, late)
    assert waiting["overdue"] is True
    assert deadlines_of(waiting)["ACCEPTANCE"]["overdue"] is True
    assert deadlines_of(waiting)["ACCEPTANCE"]["metOnTime"] is None
    case = await act_ok(gql, "acceptCase", late)
    acceptance = deadlines_of(case)["ACCEPTANCE"]
    assert acceptance["metOnTime"] is False
    assert acceptance["overdue"] is True  # stays on record as missed
    assert case["overdue"] is False  # but nothing is open and past due now


async def test_handling_is_due_after_60_days_and_an_unextended_case_becomes_overdue(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    clock.advance(10 * DAY)  # Thu 13 Mar
    case_id = await accepted_case(gql)
    case = await read_case(gql, case_id)
    assert at(due(case, "HANDLING")) == at("2025-05-12T16:00:00+00:00")
    clock.advance(60 * DAY)  # Mon 12 May: day 60, still on time
    assert (await read_case(gql, case_id))["overdue"] is False
    clock.advance(DAY)
    overdue = await read_case(gql, case_id)
    assert overdue["overdue"] is True
    assert deadlines_of(overdue)["HANDLING"]["overdue"] is True
    # Too late to extend: the period already ended.
    refused = await act(gql, "extendHandling", case_id, days=10, reason="补充调查")
    assert code_of(refused) == "DEADLINE_PASSED"
    case = await act_ok(gql, "replyCase", case_id, outcome="EXPLAINED", text="解释说明")
    assert deadlines_of(case)["HANDLING"]["metOnTime"] is False


async def test_a_review_request_on_day_31_after_the_reply_is_refused(
    gql: GraphQLClient, clock: FixedClock, clean_engine: AsyncEngine
) -> None:
    clock.advance(42 * DAY)  # Mon 14 Apr: the window ends on Wed 14 May
    case_id = await replied_case(gql)
    clock.advance(31 * DAY)
    before = await row_counts(clean_engine)
    refused = await act(gql, "requestReview", case_id, reason="不服")
    assert code_of(refused) == "DEADLINE_PASSED"
    assert "2025-05-14T16:00:00+00:00" in error_of(refused)["message"]
    assert await row_counts(clean_engine) == before
    assert (await read_case(gql, case_id))["status"] == "REPLIED"


async def test_a_final_review_request_on_day_30_is_accepted_and_on_day_31_refused(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    in_time = await replied_case(gql)
    too_late = await replied_case(gql, petitionerIdNumber=PERSON_B)
    for case_id in (in_time, too_late):
        await act_ok(gql, "requestReview", case_id, reason="不服")
    clock.advance(99 * DAY)  # Tue 10 June
    for case_id in (in_time, too_late):
        case = await act_ok(gql, "recordReviewDecision", case_id, outcome="UPHELD", text="维持")
        assert at(due(case, "FINAL_REVIEW_REQUEST")) == at("2025-07-10T16:00:00+00:00")
    clock.advance(30 * DAY)  # Thu 10 July, day 30
    case = await act_ok(gql, "requestFinalReview", in_time, reason="申请复核")
    assert case["status"] == "UNDER_FINAL_REVIEW"
    assert deadlines_of(case)["FINAL_REVIEW_REQUEST"]["metOnTime"] is True
    clock.advance(DAY)  # day 31
    refused = await act(gql, "requestFinalReview", too_late, reason="申请复核")
    assert code_of(refused) == "DEADLINE_PASSED"
    assert (await read_case(gql, too_late))["status"] == "REVIEWED"


async def test_a_final_review_window_ending_on_a_holiday_runs_to_the_next_working_day(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = await replied_case(gql)
    clock.advance(DAY)
    await act_ok(gql, "requestReview", case_id, reason="不服")
    clock.advance(DAY)  # Wed 5 Mar
    case = await act_ok(gql, "recordReviewDecision", case_id, outcome="REVISED", text="变更")
    window = deadlines_of(case)["FINAL_REVIEW_REQUEST"]
    # 5 Mar + 30 = Fri 4 Apr (Qingming), rolled forward past the weekend to Mon 7 Apr.
    assert at(window["due"]) == at("2025-04-07T16:00:00+00:00")
    clock.advance(33 * DAY)  # Mon 7 Apr, the last day of the rolled window
    case = await act_ok(gql, "rateSatisfaction", case_id, rating="BASICALLY_SATISFIED")
    assert case["status"] == "REVIEWED"
    clock.advance(DAY)
    refused = await act(gql, "requestFinalReview", case_id, reason="申请复核")
    assert code_of(refused) == "DEADLINE_PASSED"
    assert (await read_case(gql, case_id))["status"] == "REVIEWED"
    case = await act_ok(gql, "closeCase", case_id)
    check_step(case, status="CLOSED", action="CLOSE", from_status="REVIEWED")
    assert case["final"] is False


async def test_a_hearing_extends_the_final_review_decision_due(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = await replied_case(gql)
    await act_ok(gql, "requestReview", case_id, reason="不服")
    await act_ok(gql, "recordReviewDecision", case_id, outcome="UPHELD", text="维持")
    clock.advance(DAY)  # Tue 4 Mar
    case = await act_ok(gql, "requestFinalReview", case_id, reason="申请复核")
    assert at(due(case, "FINAL_REVIEW_DECISION")) == at("2025-04-03T16:00:00+00:00")
    case = await act_ok(gql, "recordHearing", case_id, days=7)
    decision = deadlines_of(case)["FINAL_REVIEW_DECISION"]
    assert decision["extraDays"] == 7
    assert at(decision["due"]) == at("2025-04-10T16:00:00+00:00")  # 4 Mar + 37 days
    case = await act_ok(gql, "recordHearing", case_id, days=5)  # hearings add up
    decision = deadlines_of(case)["FINAL_REVIEW_DECISION"]
    assert decision["extraDays"] == 12
    assert at(decision["due"]) == at("2025-04-15T16:00:00+00:00")  # 4 Mar + 42 days
    clock.advance(42 * DAY)  # Tue 15 Apr: the last day counting the hearings
    assert (await read_case(gql, case_id))["overdue"] is False
    clock.advance(DAY)
    assert (await read_case(gql, case_id))["overdue"] is True


# -- repeats and finality --------------------------------------------------------------------


async def test_a_repeat_petition_on_a_pending_matter_links_to_the_first_case(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    first = await register(gql)
    clock.advance(DAY)
    repeat = await register(gql, channel="LETTER", summary="再次反映征地补偿问题")
    assert repeat["repeatOf"] == {"id": first["id"]}
    clock.advance(DAY)
    # The old card of the same person is the same person.
    legacy = await register(gql, petitionerIdNumber=PERSON_A_LEGACY, channel="PHONE")
    assert legacy["repeatOf"] == {"id": first["id"]}
    different_place = await register(gql, issueLocality="530102002")
    assert different_place["repeatOf"] is None
    anonymous = await register(gql, petitionerIdNumber=None)
    assert anonymous["repeatOf"] is None
    read = await gql(
        "query($id: ID!) { case(id: $id) { repeatOf { id status category } } }",
        {"id": repeat["id"]},
    )
    assert read["data"]["case"]["repeatOf"] == {
        "id": first["id"],
        "status": "REGISTERED",
        "category": "土地征收",
    }


async def test_no_reacceptance_also_holds_after_a_revised_final_review(
    gql: GraphQLClient, clock: FixedClock, clean_engine: AsyncEngine
) -> None:
    case_id = await replied_case(gql, petitionerIdNumber=PERSON_B)
    await act_ok(gql, "requestReview", case_id, reason="不服")
    await act_ok(gql, "recordReviewDecision", case_id, outcome="UPHELD", text="维持")
    await act_ok(gql, "requestFinalReview", case_id, reason="申请复核")
    case = await act_ok(
        gql, "recordFinalReviewDecision", case_id, outcome="REVISED", text="撤销原意见"
    )
    assert case["final"] is True
    assert case["reviewOutcome"] == "REVISED"
    clock.advance(100 * DAY)
    refused = await register(gql, petitionerIdNumber=PERSON_B, channel="ONLINE", summary="又来")
    assert refused["status"] == "NOT_ACCEPTED"
    assert refused["repeatOf"] == {"id": case_id}
    read = await gql("query($id: ID!) { case(id: $id) { refusalCode } }", {"id": refused["id"]})
    assert read["data"]["case"]["refusalCode"] == "NO_REACCEPTANCE"


async def test_a_reply_received_days_later_opens_the_review_window_from_receipt(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = await replied_case(gql)  # replied on Monday 3 March 2025 (China time)
    replied_window = deadlines_of(await read_case(gql, case_id))["REVIEW_REQUEST"]
    assert at(replied_window["due"]) == datetime(2025, 4, 2, 16, tzinfo=UTC)  # day 30: 2 April
    clock.advance(6 * DAY)
    received = START + 4 * DAY  # the letter reached the petitioner on Friday 7 March
    case = await act_ok(gql, "recordDelivery", case_id, deliveredAt=received.isoformat())
    check_step(case, status="REPLIED", action="RECORD_DELIVERY", from_status="REPLIED")
    window = deadlines_of(case)["REVIEW_REQUEST"]
    assert at(window["startedAt"]) == received
    assert at(window["due"]) == datetime(2025, 4, 7, 16, tzinfo=UTC)  # day 30 is Sun 6 April
    # A request on the 31st day after the reply, but within 30 days of receipt, is in time.
    clock.advance(27 * DAY)
    case = await act_ok(gql, "requestReview", case_id, reason="不服答复意见")
    assert case["status"] == "UNDER_REVIEW"


async def test_a_transfer_to_a_body_where_the_matter_did_not_arise_is_refused(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    case_id = (await register(gql))["id"]  # arose in 华山街道 (530102001)
    before = await row_counts(clean_engine)
    refused = await act(gql, "transferCase", case_id, to="530103", reason="属盘龙区管辖")
    assert code_of(refused) == "BAD_USER_INPUT"
    assert error_of(refused)["extensions"]["field"] == "to"
    assert await row_counts(clean_engine) == before
    assert (await read_case(gql, case_id))["status"] == "REGISTERED"

"""A township's reply reviewed at its county and finally reviewed at its city, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from shared.validation import id_check_char
from tests.conftest import CITY, COUNTY, TOWNSHIP
from tests.messaging.network import Network, eventually, network

DAY = timedelta(days=1)
PERSON = "53010219750307123"
PERSON += id_check_char(PERSON)
CASE = "id status final events { action actor } trail { action node { code } remoteId }"
REVIEW = "id level status due hearingDays outcome refusal caseId caseOwner { code }"


@pytest.fixture
async def province(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Network]:
    async with network(clean_engine, clock, [TOWNSHIP, COUNTY, CITY]) as net:
        yield net


async def replied_township_case(net: Network, clock: FixedClock, key: str) -> str:
    data = await net.gql(
        TOWNSHIP,
        "mutation($i: RegisterPetitionInput!, $k: String!) "
        "{ registerPetition(input: $i, idempotencyKey: $k) { id } }",
        i={
            "channel": "VISIT",
            "category": "农村农业",
            "summary": "反映土地承包经营权纠纷",
            "issueLocality": TOWNSHIP,
            "petitionerName": "孙七",
            "petitionerIdNumber": PERSON,
        },
        k=key,
    )
    case_id: str = data["registerPetition"]["id"]
    clock.advance(DAY)
    await net.gql(TOWNSHIP, "mutation($id: ID!) { acceptCase(id: $id) { id } }", id=case_id)
    clock.advance(10 * DAY)
    await net.gql(
        TOWNSHIP,
        'mutation($id: ID!) { replyCase(id: $id, outcome: NOT_SUPPORTED, text: "不予支持") '
        "{ id } }",
        id=case_id,
    )
    return case_id


async def review_at(net: Network, node: str, review_id: str) -> dict[str, Any]:
    data = await net.gql(
        node, f"query($id: ID!) {{ review(id: $id) {{ {REVIEW} }} }}", id=review_id
    )
    review: dict[str, Any] = data["review"]
    return review


async def case_at_township(net: Network, case_id: str) -> dict[str, Any]:
    data = await net.gql(TOWNSHIP, f"query($id: ID!) {{ case(id: $id) {{ {CASE} }} }}", id=case_id)
    case: dict[str, Any] = data["case"]
    return case


async def test_a_township_reply_is_reviewed_at_its_county_and_finally_at_its_city(
    province: Network, clock: FixedClock
) -> None:
    net = province
    case_id = await replied_township_case(net, clock, "review-chain-1")
    clock.advance(5 * DAY)
    opened = await net.gql(
        COUNTY,
        f'mutation($c: ID!) {{ openReview(caseId: $c, reason: "对答复不服") {{ {REVIEW} }} }}',
        c=case_id,
    )
    review_id = opened["openReview"]["id"]
    assert review_id.startswith(f"{COUNTY}-RV-2025-")
    assert opened["openReview"]["status"] == "REQUESTED"

    async def county_review_open() -> dict[str, Any] | None:
        review = await review_at(net, COUNTY, review_id)
        return review if review["status"] == "OPEN" else None

    review = await eventually(county_review_open)
    assert review["caseOwner"] == {"code": TOWNSHIP}
    assert review["due"] is not None
    assert (await case_at_township(net, case_id))["status"] == "UNDER_REVIEW"

    clock.advance(20 * DAY)
    await net.gql(
        COUNTY,
        'mutation($id: ID!) { decideReview(id: $id, outcome: UPHELD, text: "维持原答复") { id } }',
        id=review_id,
    )

    async def township_reviewed() -> dict[str, Any] | None:
        case = await case_at_township(net, case_id)
        return case if case["status"] == "REVIEWED" else None

    await eventually(township_reviewed)

    clock.advance(3 * DAY)
    final = await net.gql(
        CITY,
        f'mutation($c: ID!) {{ openFinalReview(caseId: $c, reason: "仍不服") {{ {REVIEW} }} }}',
        c=case_id,
    )
    final_id = final["openFinalReview"]["id"]
    assert final_id.startswith(f"{CITY}-FR-2025-")

    async def city_review_open() -> dict[str, Any] | None:
        found = await review_at(net, CITY, final_id)
        return found if found["status"] == "OPEN" else None

    opened_final = await eventually(city_review_open)
    clock.advance(5 * DAY)
    heard = await net.gql(
        CITY,
        f"mutation($id: ID!) {{ recordReviewHearing(id: $id, days: 7) {{ {REVIEW} }} }}",
        id=final_id,
    )
    assert heard["recordReviewHearing"]["hearingDays"] == 7
    assert heard["recordReviewHearing"]["due"] > opened_final["due"]
    clock.advance(10 * DAY)
    await net.gql(
        CITY,
        'mutation($id: ID!) { decideReview(id: $id, outcome: UPHELD, text: "复核维持") { id } }',
        id=final_id,
    )

    async def township_final() -> dict[str, Any] | None:
        case = await case_at_township(net, case_id)
        return case if case["final"] else None

    case = await eventually(township_final)
    assert case["status"] == "CLOSED"
    assert [e["action"] for e in case["events"]] == [
        "REGISTER",
        "ACCEPT",
        "REPLY",
        "REQUEST_REVIEW",
        "RECORD_REVIEW_DECISION",
        "REQUEST_FINAL_REVIEW",
        "RECORD_HEARING",
        "RECORD_FINAL_REVIEW_DECISION",
    ]
    assert [(s["action"], s["node"]["code"], s["remoteId"]) for s in case["trail"]] == [
        ("REVIEWED_AT", COUNTY, review_id),
        ("FINAL_REVIEWED_AT", CITY, final_id),
    ]
    # The other end of each link: the reviewing nodes hold the reviews of this case, decided,
    # and nothing else about it.
    for node, held, level in ((COUNTY, review_id, "REVIEW"), (CITY, final_id, "FINAL_REVIEW")):
        listed = await net.gql(node, f"{{ reviews {{ {REVIEW} }} }}")
        [review_here] = listed["reviews"]
        assert (review_here["id"], review_here["level"], review_here["status"]) == (
            held,
            level,
            "DECIDED",
        )
        assert (review_here["caseId"], review_here["caseOwner"]) == (case_id, {"code": TOWNSHIP})
        assert review_here["outcome"] == "UPHELD"
        cases_here = await net.gql(node, "{ cases { totalCount } }")
        assert cases_here["cases"]["totalCount"] == 0
    again = await net.call(
        TOWNSHIP,
        "mutation($i: RegisterPetitionInput!) "
        '{ registerPetition(input: $i, idempotencyKey: "review-chain-again") '
        "{ status refusalCode repeatOfId } }",
        i={
            "channel": "LETTER",
            "category": "农村农业",
            "summary": "再次反映土地承包纠纷",
            "issueLocality": TOWNSHIP,
            "petitionerName": "孙七",
            "petitionerIdNumber": PERSON,
        },
    )
    assert again["data"]["registerPetition"] == {
        "status": "NOT_ACCEPTED",
        "refusalCode": "NO_REACCEPTANCE",
        "repeatOfId": case_id,
    }


async def test_a_review_asked_after_the_30_day_window_is_refused_by_the_owner(
    province: Network, clock: FixedClock
) -> None:
    net = province
    case_id = await replied_township_case(net, clock, "review-late-1")
    clock.advance(40 * DAY)
    opened = await net.gql(
        COUNTY,
        f'mutation($c: ID!) {{ openReview(caseId: $c, reason: "迟到的复查申请") {{ {REVIEW} }} }}',
        c=case_id,
    )
    review_id = opened["openReview"]["id"]

    async def refused() -> dict[str, Any] | None:
        review = await review_at(net, COUNTY, review_id)
        return review if review["status"] == "REFUSED" else None

    review = await eventually(refused)
    assert "window closed" in review["refusal"]
    assert (await case_at_township(net, case_id))["status"] == "REPLIED"


async def test_a_review_is_held_only_by_the_node_one_tier_above_the_handler(
    province: Network, clock: FixedClock
) -> None:
    case_id = await replied_township_case(province, clock, "review-wrong-node")
    wrong = await province.call(
        CITY, 'mutation($c: ID!) { openReview(caseId: $c, reason: "越级") { id } }', c=case_id
    )
    assert wrong["errors"][0]["extensions"]["code"] == "WRONG_NODE"
    assert COUNTY in wrong["errors"][0]["message"]

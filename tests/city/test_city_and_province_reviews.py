"""The city reviews (复查) a county's reply and the province finally reviews (复核) it: both
served by their own subgraphs, over HTTP, each time limit judged at its last instant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from tests.conftest import CITY, COUNTY, PROVINCE
from tests.messaging.network import Network, eventually, network
from tests.roles import petition

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
REVIEW = "id level status due overdue outcome caseOwner { code }"
CASE = "status final deadlines { kind due metOnTime } events { action }"


@pytest.fixture
async def net(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Network]:
    async with network(clean_engine, clock, [COUNTY, CITY, PROVINCE]) as running:
        yield running


async def county_case(net: Network) -> dict[str, Any]:
    data = await net.gql(
        COUNTY, "query($id: ID!) { case(id: $id) { " + CASE + " } }", id=f"{COUNTY}-2025-000001"
    )
    case: dict[str, Any] = data["case"]
    return case


def due_of(case: dict[str, Any], kind: str) -> datetime:
    return datetime.fromisoformat({d["kind"]: d for d in case["deadlines"]}[kind]["due"])


async def opened(net: Network, node: str, review_id: str) -> dict[str, Any] | None:
    data = await net.gql(
        node, f"query($id: ID!) {{ review(id: $id) {{ {REVIEW} }} }}", id=review_id
    )
    review: dict[str, Any] = data["review"]
    return review if review["status"] == "OPEN" else None


async def test_a_county_reply_is_reviewed_at_the_city_and_finally_at_the_province(
    net: Network, clock: FixedClock
) -> None:
    registered = await net.gql(
        COUNTY,
        "mutation($i: RegisterPetitionInput!) "
        '{ registerPetition(input: $i, idempotencyKey: "city-review-1") { id } }',
        i=petition(COUNTY),
    )
    case_id = registered["registerPetition"]["id"]
    await net.gql(COUNTY, "mutation($id: ID!) { acceptCase(id: $id) { id } }", id=case_id)
    clock.advance(10 * DAY)
    await net.gql(
        COUNTY,
        'mutation($id: ID!) { replyCase(id: $id, outcome: NOT_SUPPORTED, text: "不予支持") '
        "{ id } }",
        id=case_id,
    )
    clock.at = due_of(await county_case(net), "REVIEW_REQUEST") - SECOND  # the window's last second
    review = (
        await net.gql(
            CITY,
            f'mutation($c: ID!) {{ openReview(caseId: $c, reason: "不服答复") {{ {REVIEW} }} }}',
            c=case_id,
        )
    )["openReview"]
    assert review["id"].startswith(f"{CITY}-RV-2025-")
    review = await eventually(lambda: opened(net, CITY, review["id"]))
    assert review["caseOwner"] == {"code": COUNTY}
    clock.at = datetime.fromisoformat(review["due"]) - SECOND
    assert (await opened(net, CITY, review["id"]) or {})["overdue"] is False
    clock.at = datetime.fromisoformat(review["due"])
    assert (await opened(net, CITY, review["id"]) or {})["overdue"] is True
    await net.gql(
        CITY,
        'mutation($id: ID!) { decideReview(id: $id, outcome: UPHELD, text: "维持") { id } }',
        id=review["id"],
    )

    async def reviewed() -> dict[str, Any] | None:
        case = await county_case(net)
        return case if case["status"] == "REVIEWED" else None

    case = await eventually(reviewed)
    late = {d["kind"]: d for d in case["deadlines"]}["REVIEW_DECISION"]
    assert late["metOnTime"] is False  # decided at the instant it fell due: late, recorded
    clock.advance(5 * DAY)
    final = (
        await net.gql(
            PROVINCE,
            f'mutation($c: ID!) {{ openFinalReview(caseId: $c, reason: "仍不服") {{ {REVIEW} }} }}',
            c=case_id,
        )
    )["openFinalReview"]
    assert final["id"].startswith(f"{PROVINCE}-FR-2025-")
    await eventually(lambda: opened(net, PROVINCE, final["id"]))
    await net.gql(
        PROVINCE,
        'mutation($id: ID!) { decideReview(id: $id, outcome: UPHELD, text: "复核维持") { id } }',
        id=final["id"],
    )

    async def closed() -> dict[str, Any] | None:
        case = await county_case(net)
        return case if case["final"] else None

    case = await eventually(closed)
    assert case["status"] == "CLOSED"
    wrong = await net.call(
        CITY, 'mutation($c: ID!) { openFinalReview(caseId: $c, reason: "x") { id } }', c=case_id
    )
    assert wrong["errors"][0]["extensions"]["code"] == "WRONG_NODE"  # the province holds it

"""A city's supervision order answered by a county, over HTTP; the levels are configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from tests.conftest import CITY, COUNTY, PROVINCE
from tests.messaging.network import Network, eventually, network

DAY = timedelta(days=1)
ORDER = "id caseId status severity flagged due replyText overdue issuer { code } caseOwner { code }"


@pytest.fixture
async def net(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Network]:
    async with network(clean_engine, clock, [COUNTY, CITY, PROVINCE]) as running:
        yield running


async def county_case(net: Network) -> str:
    data = await net.gql(
        COUNTY,
        "mutation($i: RegisterPetitionInput!) "
        '{ registerPetition(input: $i, idempotencyKey: "supervised-case-1") { id } }',
        i={
            "channel": "ONLINE",
            "category": "住房保障",
            "summary": "反映保障房分配不公",
            "issueLocality": COUNTY,
            "petitionerName": "周八",
        },
    )
    case_id: str = data["registerPetition"]["id"]
    return case_id


async def test_a_city_supervision_order_is_answered_in_writing_by_the_county(
    net: Network, clock: FixedClock
) -> None:
    case_id = await county_case(net)
    clock.advance(20 * DAY)  # the acceptance deadline passed: reason enough to supervise
    issued = await net.gql(
        CITY,
        f'mutation($c: ID!) {{ issueSupervisionOrder(caseId: $c, severity: "yellow", '
        f'text: "请于期限内受理并书面回复") {{ {ORDER} }} }}',
        c=case_id,
    )
    order = issued["issueSupervisionOrder"]
    assert order["id"].startswith(f"{CITY}-SO-2025-")
    assert (order["severity"], order["status"], order["issuer"]) == (
        "YELLOW",
        "ISSUED",
        {"code": CITY},
    )
    assert order["caseOwner"] == {"code": COUNTY}
    assert order["due"] == "2025-04-02T16:00:00+00:00"  # 10 days after Sun 23 Mar: Wed 2 Apr

    async def received() -> list[dict[str, Any]]:
        data = await net.gql(COUNTY, f"{{ supervisionOrdersReceived {{ {ORDER} }} }}")
        found: list[dict[str, Any]] = data["supervisionOrdersReceived"]
        return found

    [at_county] = await eventually(received)
    assert at_county["id"] == order["id"]
    assert at_county["issuer"] == {"code": CITY}
    case = await net.gql(
        COUNTY,
        "query($id: ID!) { case(id: $id) { trail { action node { code } remoteId } } }",
        id=case_id,
    )
    assert case["case"]["trail"] == [
        {"action": "SUPERVISED_BY", "node": {"code": CITY}, "remoteId": order["id"]}
    ]
    clock.advance(3 * DAY)
    await net.gql(
        COUNTY,
        'mutation($id: ID!) { replySupervisionOrder(id: $id, text: "已受理，正在办理") { id } }',
        id=order["id"],
    )

    async def answered() -> dict[str, Any] | None:
        data = await net.gql(CITY, f"{{ supervisionOrdersIssued {{ {ORDER} }} }}")
        [found] = data["supervisionOrdersIssued"]
        return found if found["status"] == "REPLIED" else None

    done = await eventually(answered)
    assert done["replyText"] == "已受理，正在办理"
    # Both ends of the link agree: the city's order names the county's case and owner.
    assert (done["id"], done["caseId"], done["caseOwner"]) == (
        order["id"],
        case_id,
        {"code": COUNTY},
    )
    [at_county] = await received()
    assert (at_county["status"], at_county["caseId"]) == ("REPLIED", case_id)
    assert done["overdue"] is False
    again = await net.call(
        COUNTY,
        'mutation($id: ID!) { replySupervisionOrder(id: $id, text: "再次回复") { id } }',
        id=order["id"],
    )
    assert again["errors"][0]["extensions"]["code"] == "DUPLICATE"


async def test_supervision_goes_only_downwards_and_uses_a_configured_level(
    net: Network,
) -> None:
    case_id = await county_case(net)
    unknown = await net.call(
        CITY,
        'mutation($c: ID!) { issueSupervisionOrder(caseId: $c, severity: "PURPLE", '
        'text: "督办") { id } }',
        c=case_id,
    )
    assert unknown["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "severity"}
    flagged = await net.gql(
        PROVINCE,
        'mutation($c: ID!) { issueSupervisionOrder(caseId: $c, severity: "RED", '
        'text: "挂牌督办", flagged: true, due: "2025-03-10") { flagged due } }',
        c=case_id,
    )
    assert flagged["issueSupervisionOrder"] == {"flagged": True, "due": "2025-03-10T16:00:00+00:00"}
    levels = await net.gql(COUNTY, "{ supervisionLevels { code replyDays } }")
    assert [lv["code"] for lv in levels["supervisionLevels"]] == ["BLUE", "YELLOW", "RED"]

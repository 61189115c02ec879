"""Flagged supervision (挂牌督办): the province's highest-level order on a county's case and its
leader, listed publicly at the province, answered in writing by the county over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from tests.conftest import CITY, COUNTY, PROVINCE
from tests.messaging.network import Network, eventually, network
from tests.roles import petition, refusal, snapshot, trail_noted

ORDER = "id severity flagged leader due status overdue replyText caseOwner { code } issuer { code }"
FLAG = f"""mutation($c: ID!, $l: String!, $d: Date) {{ placeUnderFlaggedSupervision(caseId: $c,
  leader: $l, text: "限期化解并书面报告", due: $d) {{ {ORDER} }} }}"""
DUE = datetime.fromisoformat("2025-03-14T16:00:00+00:00")  # end of Friday 14 March in China


@pytest.fixture
async def net(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Network]:
    async with network(clean_engine, clock, [COUNTY, CITY, PROVINCE]) as running:
        yield running


async def county_case(net: Network) -> str:
    data = await net.gql(
        COUNTY,
        "mutation($i: RegisterPetitionInput!) "
        '{ registerPetition(input: $i, idempotencyKey: "flagged-case-1") { id } }',
        i=petition(COUNTY),
    )
    case_id: str = data["registerPetition"]["id"]
    return case_id


async def test_a_flagged_order_names_the_leader_is_listed_and_is_overdue_from_its_due_instant(
    net: Network, clock: FixedClock
) -> None:
    case_id = await county_case(net)
    placed = (await net.gql(PROVINCE, FLAG, c=case_id, l="张明", d="2025-03-14"))[
        "placeUnderFlaggedSupervision"
    ]
    assert (placed["severity"], placed["flagged"], placed["leader"]) == ("RED", True, "张明")
    assert datetime.fromisoformat(placed["due"]) == DUE
    await net.gql(
        PROVINCE,
        'mutation($c: ID!) { issueSupervisionOrder(caseId: $c, severity: "BLUE", text: "督办") '
        "{ id } }",
        c=case_id,
    )
    listed = (await net.gql(PROVINCE, f"{{ flaggedSupervision {{ {ORDER} }} }}"))[
        "flaggedSupervision"
    ]
    assert [o["id"] for o in listed] == [placed["id"]]  # the ordinary order is not listed
    assert listed[0]["caseOwner"] == {"code": COUNTY}

    async def received() -> list[dict[str, Any]]:
        data = await net.gql(COUNTY, "{ supervisionOrdersReceived { id leader flagged } }")
        found = [o for o in data["supervisionOrdersReceived"] if o["flagged"]]
        return found

    assert await eventually(received) == [{"id": placed["id"], "leader": "张明", "flagged": True}]
    clock.at = DUE - timedelta(seconds=1)
    [still_due] = (await net.gql(PROVINCE, "{ flaggedSupervision { overdue } }"))[
        "flaggedSupervision"
    ]
    assert still_due == {"overdue": False}
    clock.at = DUE
    [late] = (await net.gql(PROVINCE, "{ flaggedSupervision { overdue } }"))["flaggedSupervision"]
    assert late == {"overdue": True}
    await net.gql(
        COUNTY,
        'mutation($id: ID!) { replySupervisionOrder(id: $id, text: "已化解，报告附后") { id } }',
        id=placed["id"],
    )

    async def answered() -> dict[str, Any] | None:
        data = await net.gql(PROVINCE, f"{{ flaggedSupervision(status: REPLIED) {{ {ORDER} }} }}")
        return data["flaggedSupervision"][0] if data["flaggedSupervision"] else None

    done = await eventually(answered)
    assert (done["replyText"], done["overdue"]) == ("已化解，报告附后", True)  # replied late


async def test_bad_flagged_orders_are_refused_and_write_nothing(
    net: Network, clean_engine: AsyncEngine
) -> None:
    case_id = await county_case(net)
    await eventually(lambda: trail_noted(clean_engine, PROVINCE, case_id))  # then nothing moves
    before = await snapshot(clean_engine, PROVINCE)
    attempts: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (FLAG, {"c": case_id, "l": "张明3"}, {"code": "BAD_USER_INPUT", "field": "leader"}),
        (
            FLAG,
            {"c": case_id, "l": "张明", "d": "2025-03-03"},
            {"code": "BAD_USER_INPUT", "field": "due"},
        ),
        (
            FLAG,
            {"c": f"{PROVINCE}-2025-000001", "l": "张明"},
            {"code": "WRONG_NODE", "field": "caseId"},
        ),
        (
            'mutation($c: ID!) { issueSupervisionOrder(caseId: $c, severity: "YELLOW", '
            'text: "挂牌", flagged: true) { id } }',
            {"c": case_id},
            {"code": "BAD_USER_INPUT", "field": "severity"},
        ),
    ]
    for query, variables, expected in attempts:
        assert refusal(await net.call(PROVINCE, query, **variables)) == expected, variables
    assert await snapshot(clean_engine, PROVINCE) == before

"""Assessment rankings at the province from statistics reports the nodes below sent up as
messages (Art. 41; docs/adr/0011): four tier services over HTTP, no node reading another's
tables."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.access import NodeCredential
from shared.casework import FixedClock
from shared.divisions import Tier, division_tree
from shared.messaging.relay import MESSAGE_PURPOSE
from tests.conftest import CITY, COUNTY, OTHER_COUNTY, PROVINCE, TOWNSHIP
from tests.messaging.network import Network, eventually, network
from tests.roles import petition, refusal, snapshot

DAY = timedelta(days=1)
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}
FILE = "mutation($p: Period!) { fileStatisticsReport(period: $p) { messageId to { code } } }"
RANK = """query($t: Tier!, $p: Period!, $b: RankingMetric!) { assessmentRanking(tier: $t,
  period: $p, by: $b) { tier by units { rank unit { code } reporters
  stats { eventCount timelyAcceptanceRate backlog } } notReported { code } } }"""


@pytest.fixture
async def net(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Network]:
    async with network(clean_engine, clock, [TOWNSHIP, COUNTY, OTHER_COUNTY, CITY, PROVINCE]) as n:
        yield n


async def registered(net: Network, node: str, key: str) -> str:
    data = await net.gql(
        node,
        "mutation($i: RegisterPetitionInput!, $k: String!) "
        "{ registerPetition(input: $i, idempotencyKey: $k) { id } }",
        i=petition(node),
        k=key,
    )
    case_id: str = data["registerPetition"]["id"]
    return case_id


async def accept(net: Network, node: str, case_id: str) -> None:
    await net.gql(node, "mutation($id: ID!) { acceptCase(id: $id) { id } }", id=case_id)


async def ranking(net: Network, tier: str, by: str) -> dict[str, Any] | None:
    data = await net.gql(PROVINCE, RANK, t=tier, p=MARCH, b=by)
    found: dict[str, Any] = data["assessmentRanking"]
    return found


async def test_the_province_ranks_counties_and_cities_on_the_reports_sent_up(
    net: Network, clock: FixedClock
) -> None:
    late = await registered(net, COUNTY, "rank-county-1")
    prompt = await registered(net, OTHER_COUNTY, "rank-other-1")
    township = await registered(net, TOWNSHIP, "rank-township-1")
    clock.advance(DAY)
    await accept(net, OTHER_COUNTY, prompt)
    await accept(net, TOWNSHIP, township)
    clock.advance(16 * DAY)  # past the county's 15 days to accept
    await accept(net, COUNTY, late)
    for node in (COUNTY, OTHER_COUNTY, TOWNSHIP, CITY):
        filed = (await net.gql(node, FILE, p=MARCH))["fileStatisticsReport"]
        assert filed["to"] == {"code": PROVINCE}

    async def counties_ranked() -> dict[str, Any] | None:
        found = await ranking(net, "COUNTY", "TIMELY_ACCEPTANCE_RATE")
        reporters = sum(u["reporters"] for u in found["units"]) if found else 0
        return found if reporters == 3 else None  # both counties' reports and the township's

    counties = await eventually(counties_ranked)
    assert [
        (u["rank"], u["unit"]["code"], u["reporters"], u["stats"]["timelyAcceptanceRate"])
        for u in counties["units"]
    ] == [(1, OTHER_COUNTY, 1, 1.0), (2, COUNTY, 2, 0.5)]  # 五华区 counts its township too
    all_counties = [d.code for d in division_tree().subtree(PROVINCE) if d.tier is Tier.COUNTY]
    assert len(counties["notReported"]) == len(all_counties) - 2

    async def city_ranked() -> dict[str, Any] | None:
        found = await ranking(net, "CITY", "TIMELY_ACCEPTANCE_RATE")
        return found if found and found["units"] and found["units"][0]["reporters"] == 4 else None

    [kunming] = (await eventually(city_ranked))["units"]
    assert (kunming["unit"], kunming["reporters"], kunming["stats"]["eventCount"]) == (
        {"code": CITY},
        4,
        3,
    )
    assert kunming["stats"]["timelyAcceptanceRate"] == 2 / 3
    by_backlog = await ranking(net, "COUNTY", "BACKLOG")
    assert by_backlog is not None
    assert [u["unit"]["code"] for u in by_backlog["units"]] == [COUNTY, OTHER_COUNTY]  # tie: code

    # A later report for the same period replaces the earlier one; it is never added twice.
    await registered(net, OTHER_COUNTY, "rank-other-2")  # 20 March, never accepted
    clock.advance(20 * DAY)  # its 15 days end on 7 April (Qingming holidays 4-6 April)
    await net.gql(OTHER_COUNTY, FILE, p=MARCH)

    async def replaced() -> dict[str, Any] | None:
        found = await ranking(net, "COUNTY", "TIMELY_ACCEPTANCE_RATE")
        assert found is not None
        units = {u["unit"]["code"]: u for u in found["units"]}
        return found if units[OTHER_COUNTY]["stats"]["eventCount"] == 2 else None

    now = await eventually(replaced)
    assert [(u["unit"]["code"], u["stats"]["timelyAcceptanceRate"]) for u in now["units"]] == [
        (COUNTY, 0.5),
        (OTHER_COUNTY, 0.5),
    ]


async def test_reports_and_rankings_refuse_bad_requests_and_write_nothing(
    net: Network, clean_engine: AsyncEngine
) -> None:
    before = {node: await snapshot(clean_engine, node) for node in (COUNTY, PROVINCE)}
    backwards = {"from": "2025-03-31", "to": "2025-03-01"}
    assert refusal(await net.call(COUNTY, FILE, p=backwards)) == {
        "code": "BAD_USER_INPUT",
        "field": "period",
    }
    future = {"from": "2025-04-01", "to": "2025-04-30"}
    assert refusal(await net.call(COUNTY, FILE, p=future))["code"] == "BAD_USER_INPUT"
    assert refusal(await net.call(PROVINCE, RANK, t="TOWNSHIP", p=MARCH, b="BACKLOG")) == {
        "code": "BAD_USER_INPUT",
        "field": "tier",
    }
    assert (
        refusal(await net.call(PROVINCE, RANK, t="CITY", p=backwards, b="BACKLOG"))["code"]
        == "BAD_USER_INPUT"
    )
    foreign = json.dumps(
        {
            "id": "110101-M-forged",
            "sender": "110101",  # a Beijing district: not assessed by Yunnan
            "recipient": PROVINCE,
            "kind": "STATISTICS_REPORT",
            "payload": {"periodFrom": "2025-03-01", "periodTo": "2025-03-31", "asOf": "x"},
            "createdAt": "2025-03-03T02:00:00+00:00",
        }
    ).encode()
    forged = await net.http.post(  # signed with the platform's secret: judged on its content
        net.registry.messages_url(PROVINCE),
        content=foreign,
        headers=NodeCredential.from_env().headers(MESSAGE_PURPOSE, "110101", PROVINCE, foreign),
    )
    assert forged.json()["status"] == "rejected"
    after = {node: await snapshot(clean_engine, node) for node in (COUNTY, PROVINCE)}
    assert after[COUNTY] == before[COUNTY]
    assert after[PROVINCE]["statistics_reports"] == before[PROVINCE]["statistics_reports"] == []
    assert [row[4] for row in after[PROVINCE]["inbox"]] == ["REJECTED"]  # recorded, not applied

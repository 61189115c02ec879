"""The county's own roles inside one node: petition bureau intake and leader-owned cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from tests.conftest import COUNTY, OTHER_COUNTY, TOWNSHIP, GraphQLClient
from tests.roles import ok, petition, refusal, snapshot, tier_client

DAY = timedelta(days=1)
BUREAU = """mutation($i: RegisterPetitionInput!, $k: String!, $j: Boolean!) {
  registerAtPetitionBureau(input: $i, idempotencyKey: $k, jointReception: $j) { id status } }"""
OWNERSHIP = "caseId leader title since until assignedBy note case { id }"
ASSIGN = f"""mutation($id: ID!, $l: String!, $n: String!) {{
  assignCaseLeader(id: $id, leader: $l, title: "副区长", note: $n) {{ {OWNERSHIP} }} }}"""
HAND_OVER = f"""mutation($id: ID!, $l: String!, $r: String!) {{
  handOverLeaderCase(id: $id, leader: $l, title: "区长", reason: $r) {{ {OWNERSHIP} }} }}"""


@pytest.fixture
async def county(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[GraphQLClient]:
    async with tier_client(clean_engine, clock, COUNTY) as gql:
        yield gql


async def at_bureau(gql: GraphQLClient, key: str, joint: bool = False) -> str:
    result = await gql(BUREAU, {"i": petition(TOWNSHIP), "k": key, "j": joint})
    case_id: str = ok(result, "registerAtPetitionBureau")["id"]
    return case_id


async def test_the_bureau_records_its_desk_with_the_registration(county: GraphQLClient) -> None:
    bureau = await at_bureau(county, "bureau-intake-1")
    joint = await at_bureau(county, "bureau-intake-2", joint=True)
    assert await at_bureau(county, "bureau-intake-1") == bureau  # a retry writes nothing new
    listed = ok(
        await county("{ petitionBureauIntakes { caseId jointReception case { status } } }"),
        "petitionBureauIntakes",
    )
    assert [(i["caseId"], i["jointReception"]) for i in listed] == [(joint, True), (bureau, False)]


async def test_a_named_leader_owns_a_case_and_hands_it_over_on_record(
    county: GraphQLClient, clock: FixedClock
) -> None:
    case_id = await at_bureau(county, "leader-case-1")
    other = await at_bureau(county, "leader-case-2")
    first = ok(
        await county(ASSIGN, {"id": case_id, "l": "张明", "n": "群体性疑难案件"}),
        "assignCaseLeader",
    )
    assert (first["leader"], first["until"], first["case"]) == ("张明", None, {"id": case_id})
    ok(await county(ASSIGN, {"id": other, "l": "李华", "n": "历史遗留问题"}), "assignCaseLeader")
    clock.advance(10 * DAY)
    second = ok(
        await county(HAND_OVER, {"id": case_id, "l": "王强", "r": "张明调任"}), "handOverLeaderCase"
    )
    assert (second["leader"], second["title"], second["note"]) == ("王强", "区长", "张明调任")
    history = ok(
        await county(
            "query($id: ID!) { caseLeaders(id: $id) { leader since until } }", {"id": case_id}
        ),
        "caseLeaders",
    )
    assert [h["leader"] for h in history] == ["张明", "王强"]
    assert history[0]["until"] == history[1]["since"]
    assert history[1]["until"] is None
    current = ok(await county("{ leaderOwnedCases { caseId leader } }"), "leaderOwnedCases")
    assert current == [{"caseId": case_id, "leader": "王强"}, {"caseId": other, "leader": "李华"}]
    by_leader = ok(
        await county('{ leaderOwnedCases(leader: "李华") { caseId } }'), "leaderOwnedCases"
    )
    assert by_leader == [{"caseId": other}]


async def test_bad_leader_acts_are_refused_and_write_nothing(
    county: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    owned = await at_bureau(county, "leader-bad-1")
    ok(await county(ASSIGN, {"id": owned, "l": "张明", "n": "疑难"}), "assignCaseLeader")
    unowned = await at_bureau(county, "leader-bad-2")
    ok(
        await county(
            'mutation($id: ID!) { notAcceptCase(id: $id, reason: "不属于信访事项") { id } }',
            {"id": unowned},
        ),
        "notAcceptCase",
    )
    fresh = await at_bureau(county, "leader-bad-3")
    before = await snapshot(clean_engine, COUNTY)
    attempts: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (ASSIGN, {"id": owned, "l": "李华", "n": "再包"}, {"code": "DUPLICATE", "field": "id"}),
        (
            ASSIGN,
            {"id": unowned, "l": "李华", "n": "已结"},
            {"code": "INVALID_TRANSITION", "field": "id"},
        ),
        (
            ASSIGN,
            {"id": fresh, "l": "李华1", "n": "包案"},
            {"code": "BAD_USER_INPUT", "field": "leader"},
        ),
        (ASSIGN, {"id": fresh, "l": "李华", "n": ""}, {"code": "BAD_USER_INPUT", "field": "note"}),
        (
            ASSIGN,
            {"id": f"{OTHER_COUNTY}-2025-000001", "l": "李华", "n": "包案"},
            {"code": "NOT_FOUND", "field": "id"},
        ),
        (
            HAND_OVER,
            {"id": fresh, "l": "李华", "r": "调任"},
            {"code": "INVALID_TRANSITION", "field": "id"},
        ),
        (
            HAND_OVER,
            {"id": owned, "l": "张明", "r": "调任"},
            {"code": "BAD_USER_INPUT", "field": "leader"},
        ),
    ]
    for query, variables, expected in attempts:
        assert refusal(await county(query, variables)) == expected, variables
    assert await snapshot(clean_engine, COUNTY) == before

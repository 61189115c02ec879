"""Joint-meeting decisions on disputed competence (Art. 24), applied through the transfer flow:
a county and a township as two real services over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from tests.conftest import COUNTY, TOWNSHIP
from tests.messaging.network import Network, eventually, network
from tests.roles import petition, refusal, snapshot

NEIGHBOUR = "530102002"  # 护国街道, beside 华山街道 in 五华区
DISPUTE = "id status text bodies { code } competentBody { code } decisionText case { status }"
RECORD = f"""mutation($c: ID!, $b: [ID!]!, $t: String!) {{
  recordCompetenceDispute(caseId: $c, bodies: $b, text: $t) {{ {DISPUTE} }} }}"""
DECIDE = f"""mutation($id: ID!, $b: ID!, $t: String!) {{
  decideCompetenceDispute(id: $id, competentBody: $b, text: $t) {{ {DISPUTE} }} }}"""


@pytest.fixture
async def net(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Network]:
    async with network(clean_engine, clock, [COUNTY, TOWNSHIP]) as running:
        yield running


async def registered(net: Network, key: str) -> str:
    data = await net.gql(
        COUNTY,
        "mutation($i: RegisterPetitionInput!, $k: String!) "
        "{ registerPetition(input: $i, idempotencyKey: $k) { id } }",
        i=petition(TOWNSHIP),
        k=key,
    )
    case_id: str = data["registerPetition"]["id"]
    return case_id


async def test_the_joint_meeting_names_the_competent_body_and_the_case_is_transferred_there(
    net: Network,
) -> None:
    case_id = await registered(net, "dispute-case-1")
    raised = await net.gql(
        COUNTY, RECORD, c=case_id, b=[TOWNSHIP, NEIGHBOUR], t="两街道均称不属本辖区"
    )
    dispute = raised["recordCompetenceDispute"]
    assert dispute["id"] == f"{COUNTY}-JM-2025-000001"
    assert (dispute["status"], dispute["bodies"], dispute["competentBody"]) == (
        "OPEN",
        [{"code": TOWNSHIP}, {"code": NEIGHBOUR}],
        None,
    )
    decided = (await net.gql(COUNTY, DECIDE, id=dispute["id"], b=TOWNSHIP, t="事发地在华山街道"))[
        "decideCompetenceDispute"
    ]
    assert (decided["status"], decided["competentBody"], decided["case"]) == (
        "DECIDED",
        {"code": TOWNSHIP},
        {"status": "TRANSFERRED"},
    )

    async def arrived() -> list[dict[str, Any]]:
        data = await net.gql(TOWNSHIP, "{ cases { edges { node { id receivedFrom { code } } } } }")
        edges: list[dict[str, Any]] = data["cases"]["edges"]
        return edges

    [edge] = await eventually(arrived)
    assert edge["node"]["receivedFrom"] == {"code": COUNTY}
    trail = await net.gql(
        COUNTY,
        "query($id: ID!) { case(id: $id) { trail { action node { code } } events { reason } } }",
        id=case_id,
    )
    assert trail["case"]["trail"] == [{"action": "TRANSFERRED_TO", "node": {"code": TOWNSHIP}}]
    assert trail["case"]["events"][-1]["reason"].startswith(f"联席会议决定 ({dispute['id']})")
    listed = await net.gql(COUNTY, "{ competenceDisputes(status: DECIDED) { id } }")
    assert listed["competenceDisputes"] == [{"id": dispute["id"]}]


async def test_bad_disputes_and_decisions_are_refused_and_write_nothing(
    net: Network, clean_engine: AsyncEngine
) -> None:
    case_id = await registered(net, "dispute-case-2")
    dispute_id = (await net.gql(COUNTY, RECORD, c=case_id, b=[TOWNSHIP, NEIGHBOUR], t="争议"))[
        "recordCompetenceDispute"
    ]["id"]
    before = await snapshot(clean_engine, COUNTY)
    attempts: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        (
            RECORD,
            {"c": case_id, "b": [TOWNSHIP, NEIGHBOUR], "t": "再议"},
            {"code": "DUPLICATE", "field": "caseId"},
        ),
        (
            RECORD,
            {"c": case_id, "b": [TOWNSHIP], "t": "争议"},
            {"code": "BAD_USER_INPUT", "field": "bodies"},
        ),
        (
            RECORD,
            {"c": case_id, "b": [TOWNSHIP, "530103001"], "t": "争议"},
            {"code": "BAD_USER_INPUT", "field": "bodies"},
        ),
        (
            RECORD,
            {"c": "530102-2025-000099", "b": [TOWNSHIP, NEIGHBOUR], "t": "争议"},
            {"code": "NOT_FOUND", "field": "caseId"},
        ),
        (
            DECIDE,
            {"id": dispute_id, "b": "530102003", "t": "决定"},
            {"code": "BAD_USER_INPUT", "field": "competentBody"},
        ),
        (
            DECIDE,
            {"id": f"{COUNTY}-JM-2025-000009", "b": TOWNSHIP, "t": "决定"},
            {"code": "NOT_FOUND", "field": "id"},
        ),
        (
            DECIDE,
            {"id": dispute_id, "b": TOWNSHIP, "t": ""},
            {"code": "BAD_USER_INPUT", "field": "text"},
        ),
    ]
    for query, variables, expected in attempts:
        assert refusal(await net.call(COUNTY, query, **variables)) == expected, variables
    assert await snapshot(clean_engine, COUNTY) == before
    # The decision goes through the transfer's own rules: the matter arose in 华山街道.
    elsewhere = await net.call(COUNTY, DECIDE, id=dispute_id, b=NEIGHBOUR, t="由护国街道办理")
    assert refusal(elsewhere) == {"code": "BAD_USER_INPUT", "field": "competentBody"}
    assert await snapshot(clean_engine, COUNTY) == before
    await net.gql(COUNTY, DECIDE, id=dispute_id, b=TOWNSHIP, t="由华山街道办理")
    again = await net.call(COUNTY, DECIDE, id=dispute_id, b=TOWNSHIP, t="改判")
    assert refusal(again) == {"code": "INVALID_TRANSITION", "field": "id"}

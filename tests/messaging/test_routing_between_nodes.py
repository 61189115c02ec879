"""Transfer and assignment between a county and a township: two real tier services over HTTP,
their outboxes relayed, every message applied once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from county.app import create_county_app
from shared.access import NodeCredential
from shared.casework import FixedClock
from shared.divisions import Tier
from shared.holidays import default_calendar
from shared.messaging.relay import MESSAGE_PURPOSE
from shared.persistence.links import links_of
from shared.persistence.migrate import schema_for
from shared.persistence.repository import NodeDatabase
from shared.registry import NodeRegistry
from tests.conftest import COUNTY, SECRET, TOWNSHIP
from tests.identity import ActAs
from tests.messaging.servers import RunningServer, free_port, serving
from township.app import create_township_app

T = TypeVar("T")
DAY = timedelta(days=1)


@dataclass
class Pair:
    county: RunningServer
    township: RunningServer
    registry: NodeRegistry
    http: httpx.AsyncClient
    engine: AsyncEngine

    async def gql(self, server: RunningServer, node: str, query: str, **variables: Any) -> Any:
        response = await self.http.post(
            f"{server.url}/nodes/{node}/graphql", json={"query": query, "variables": variables}
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


def township_app(engine: AsyncEngine, clock: FixedClock, registry: NodeRegistry) -> Any:
    return create_township_app(
        engine,
        [TOWNSHIP],
        calendar=default_calendar(),
        person_key_secret=SECRET,
        clock=clock,
        registry=registry,
    )


@pytest.fixture
async def pair(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Pair]:
    county_port, township_port = free_port(), free_port()
    registry = NodeRegistry(
        tiers={
            Tier.COUNTY: f"http://127.0.0.1:{county_port}",
            Tier.TOWNSHIP: f"http://127.0.0.1:{township_port}",
        }
    )
    county = create_county_app(
        clean_engine,
        [COUNTY],
        calendar=default_calendar(),
        person_key_secret=SECRET,
        clock=clock,
        registry=registry,
    )
    async with (
        serving(county, county_port) as county_server,
        serving(township_app(clean_engine, clock, registry), township_port) as township_server,
        httpx.AsyncClient(timeout=10, auth=ActAs()) as http,
    ):
        yield Pair(county_server, township_server, registry, http, clean_engine)


async def eventually(check: Callable[[], Awaitable[T | None]], seconds: float = 10.0) -> T:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not delivered in time")
        await asyncio.sleep(0.05)


REGISTER = """mutation($i: RegisterPetitionInput!, $k: String!) {
  registerPetition(input: $i, idempotencyKey: $k) { id } }"""
PETITION = {
    "channel": "VISIT",
    "category": "城乡建设",
    "summary": "反映小区道路破损",
    "issueLocality": TOWNSHIP,
    "petitionerName": "赵六",
    "petitionerPhone": "13700001111",
}


async def township_cases(pair: Pair) -> list[dict[str, Any]]:
    data = await pair.gql(
        pair.township,
        TOWNSHIP,
        "{ cases { edges { node { id status receivedFrom { code } summary "
        "deadlines { kind } } } } }",
    )
    return [edge["node"] for edge in data["cases"]["edges"]]


async def test_a_transfer_arrives_at_the_township_once_and_both_sides_keep_the_link(
    pair: Pair, clean_engine: AsyncEngine
) -> None:
    case_id = (await pair.gql(pair.county, COUNTY, REGISTER, i=PETITION, k="route-transfer-1"))[
        "registerPetition"
    ]["id"]
    await pair.gql(
        pair.county,
        COUNTY,
        'mutation($id: ID!) { transferCase(id: $id, to: "530102001", reason: "属地办理") { id } }',
        id=case_id,
    )
    received = await eventually(lambda: township_cases(pair))
    assert len(received) == 1
    township_case = received[0]
    assert township_case["id"].startswith(f"{TOWNSHIP}-2025-")
    assert township_case["receivedFrom"] == {"code": COUNTY}
    assert township_case["summary"] == PETITION["summary"]
    assert {d["kind"] for d in township_case["deadlines"]} == {"ACCEPTANCE", "OBJECTION"}

    async def county_link() -> Any:
        async with NodeDatabase(clean_engine, COUNTY).connect() as conn:
            links = (await links_of(conn, [case_id]))[case_id]
        return links if links and links[0].remote_id else None

    links = await eventually(county_link)
    assert [(link.kind.value, link.remote_node, link.remote_id) for link in links] == [
        ("TRANSFERRED_TO", TOWNSHIP, township_case["id"])
    ]
    async with NodeDatabase(clean_engine, TOWNSHIP).connect() as conn:
        back = (await links_of(conn, [township_case["id"]]))[township_case["id"]]
    assert [(link.kind.value, link.remote_node, link.remote_id) for link in back] == [
        ("TRANSFERRED_FROM", COUNTY, case_id)
    ]
    # Redelivering the same message changes nothing.
    async with clean_engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    f'SELECT id, payload, created_at FROM "{schema_for(COUNTY)}".outbox '
                    "WHERE kind = 'TRANSFER'"
                )
            )
        ).one()
    repeated = json.dumps(
        {
            "id": row.id,
            "sender": COUNTY,
            "recipient": TOWNSHIP,
            "kind": "TRANSFER",
            "payload": row.payload,
            "createdAt": row.created_at.isoformat(),
        }
    ).encode()
    again = await pair.http.post(  # signed as the county's relay signs it
        pair.registry.messages_url(TOWNSHIP),
        content=repeated,
        headers=NodeCredential.from_env().headers(MESSAGE_PURPOSE, COUNTY, TOWNSHIP, repeated),
    )
    assert again.json()["status"] == "duplicate"
    assert len(await township_cases(pair)) == 1


async def test_an_assignment_comes_back_as_a_completion_report_that_closes_the_county_case(
    pair: Pair, clock: FixedClock
) -> None:
    case_id = (await pair.gql(pair.county, COUNTY, REGISTER, i=PETITION, k="route-assign-1"))[
        "registerPetition"
    ]["id"]
    await pair.gql(
        pair.county,
        COUNTY,
        'mutation($id: ID!) { assignCase(id: $id, to: "530102001", due: "2025-03-20") '
        "{ status deadlines { kind due } } }",
        id=case_id,
    )
    township_case = (await eventually(lambda: township_cases(pair)))[0]

    async def assignee_knows_its_origin() -> bool:
        async with NodeDatabase(pair.engine, TOWNSHIP).connect() as conn:
            links = (await links_of(conn, [township_case["id"]]))[township_case["id"]]
        return bool(links and links[0].remote_id == case_id)

    assert await eventually(assignee_knows_its_origin)
    clock.advance(2 * DAY)
    for mutation in (
        "acceptCase(id: $id) { id }",
        'replyCase(id: $id, outcome: SUPPORTED, text: "已修复道路") { id }',
    ):
        await pair.gql(
            pair.township, TOWNSHIP, f"mutation($id: ID!) {{ {mutation} }}", id=township_case["id"]
        )

    async def county_status() -> str | None:
        data = await pair.gql(
            pair.county, COUNTY, "query($id: ID!) { case(id: $id) { status } }", id=case_id
        )
        status: str = data["case"]["status"]
        return status if status == "CLOSED" else None

    assert await eventually(county_status) == "CLOSED"
    data = await pair.gql(
        pair.county,
        COUNTY,
        "query($id: ID!) { case(id: $id) { events { action actor } "
        "deadlines { kind metOnTime } } }",
        id=case_id,
    )
    assert [e["action"] for e in data["case"]["events"]] == [
        "REGISTER",
        "ASSIGN",
        "RECORD_COMPLETION_REPORT",
    ]
    assert {d["kind"]: d["metOnTime"] for d in data["case"]["deadlines"]}["ASSIGNMENT"] is True
    # Each trail names the other end: assigned to / by, and the report sent back.
    trail = "query($id: ID!) { case(id: $id) { trail { action node { code } remoteId } } }"
    at_county = await pair.gql(pair.county, COUNTY, trail, id=case_id)
    assert at_county["case"]["trail"] == [
        {"action": "ASSIGNED_TO", "node": {"code": TOWNSHIP}, "remoteId": township_case["id"]}
    ]
    at_township = await pair.gql(pair.township, TOWNSHIP, trail, id=township_case["id"])
    assert at_township["case"]["trail"] == [
        {"action": "ASSIGNED_BY", "node": {"code": COUNTY}, "remoteId": case_id},
        {"action": "COMPLETION_REPORTED_TO", "node": {"code": COUNTY}, "remoteId": case_id},
    ]

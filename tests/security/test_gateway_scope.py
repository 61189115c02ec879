"""The gateway's own check (the first of two, ADR 0015): an operation reaching outside the
caller's subtree is refused before planning, so no subgraph is asked at all; an entity fetch
the planner makes for a node outside it is not sent. Without a valid token only /health,
/ready and the dashboard's shell answer."""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.auth import Role
from shared.divisions import Tier, tier_of
from shared.graphql.app import create_service_app
from shared.holidays import default_calendar
from shared.local_platform import SUPERGRAPH
from shared.registry import NodeRegistry
from shared.service import TierService
from tests.conftest import CITY, COUNTY, OTHER_COUNTY, SECRET, TEST_NODES, TOWNSHIP
from tests.gateway.servers import RecordingApp, serving
from tests.identity import User, suite_verifier

COUNTY_LEADER = User(COUNTY, (Role.LEADER,))
CITY_HANDLER = User(CITY, (Role.HANDLER,))


@dataclass
class Gateway:
    url: str
    services: RecordingApp
    http: httpx.AsyncClient

    async def ask(self, user: User | None, query: str, **variables: Any) -> httpx.Response:
        headers = user.headers() if user is not None else {}
        return await self.http.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, headers=headers
        )


@pytest.fixture
async def gateway(clean_engine: AsyncEngine) -> AsyncIterator[Gateway]:
    registry = NodeRegistry()
    parts = []
    for tier in Tier:
        schema = importlib.import_module(f"{tier.value.lower()}.schema").schema
        service = TierService(
            tier=tier,
            engine=clean_engine,
            calendar=default_calendar(),
            person_key_secret=SECRET,
            registry=registry,
        )
        service.host([code for code in TEST_NODES if tier_of(code) is tier])
        parts.append((service, schema))
    services = RecordingApp(create_service_app(parts, on_shutdown_dispose=False, relay=False))
    async with serving(services) as base, httpx.AsyncClient(timeout=30) as http:
        registry.tiers.update(dict.fromkeys(Tier, base))
        fallback = {t.value.lower(): f"{base}/tiers/{t.value.lower()}/graphql" for t in Tier}
        app = create_gateway_app(
            SUPERGRAPH.read_text(encoding="utf-8"),
            verifier=suite_verifier(),
            router=KeyRouter(registry, fallback),
        )
        async with serving(app) as url:
            yield Gateway(url, services, http)


async def test_a_query_outside_the_subtree_is_refused_before_any_subgraph_is_asked(
    gateway: Gateway,
) -> None:
    answer = await gateway.ask(
        COUNTY_LEADER,
        "query($c: ID!) { jurisdiction(code: $c) { stats { eventCount } } }",
        c=OTHER_COUNTY,
    )
    body = answer.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "FORBIDDEN",
        "field": "jurisdiction",
        "jurisdiction": OTHER_COUNTY,
    }
    assert error["path"] == ["jurisdiction"]
    assert gateway.services.requests == []


async def test_mutations_are_refused_unless_a_handler_acts_at_its_own_node(
    gateway: Gateway,
) -> None:
    accept = "mutation($id: ID!) { acceptCase(id: $id) { id } }"
    case_id = f"{COUNTY}-2025-000001"
    for user, expected in (
        (COUNTY_LEADER, "only a handler writes"),  # its own node, the wrong role
        (CITY_HANDLER, "writes at node 530102 are for its own handlers"),  # a node below
    ):
        body = (await gateway.ask(user, accept, id=case_id)).json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert expected in error["message"]
    assert gateway.services.requests == []
    # Its own handler's mutation goes on to the node (no such case there: NOT_FOUND).
    body = (await gateway.ask(User(COUNTY), accept, id=case_id)).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]
    assert len(gateway.services.requests) == 1


async def test_a_root_field_naming_no_node_runs_at_the_callers_own_node(gateway: Gateway) -> None:
    """``registerPetition`` names no node: through the gateway it runs at the handler's own
    (its token's jurisdiction), as do node-less lists such as ``reviews``; never elsewhere."""
    register = """mutation($i: RegisterPetitionInput!) {
      registerPetition(input: $i, idempotencyKey: "home-routing-1") { id } }"""
    petition = {
        "channel": "LETTER",
        "category": "劳动社保",
        "summary": "反映欠薪",
        "issueLocality": TOWNSHIP,
        "petitionerName": "郑十",
    }
    body = (await gateway.ask(User(TOWNSHIP), register, i=petition)).json()
    assert "errors" not in body, body
    assert body["data"]["registerPetition"]["id"].startswith(f"{TOWNSHIP}-")
    assert gateway.services.requests[-1]["query"].lstrip().startswith("mutation")
    reviews = "{ reviews(first: 5) { id } }"
    body = (await gateway.ask(COUNTY_LEADER, reviews)).json()
    assert body == {"data": {"reviews": []}}
    # A tier's own mutation at a caller's node of another tier: refused, naming the tiers.
    grid = """mutation { reportGridDispute(input: {gridWorker: "网格员", grid: "一网格",
      locality: "530102", category: "邻里纠纷", summary: "占道", personCount: 1}) { id } }"""
    sent = len(gateway.services.requests)
    body = (await gateway.ask(User(COUNTY), grid)).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "WRONG_TIER"
    assert error["extensions"]["tiers"] == ["TOWNSHIP"]
    assert len(gateway.services.requests) == sent  # refused before any node was asked


async def test_the_hotline_is_imported_and_converted_through_the_gateway_at_the_handlers_node(
    gateway: Gateway,
) -> None:
    """docs/hotline.md: ``importHotlineTickets`` and ``convertHotlineTicket`` name no node, so
    through the gateway they run at the handler's own node, as ``registerPetition`` does; a
    ticket of another division is that row's WRONG_NODE; a leader is refused before any node
    is asked."""
    rows = [
        {
            "ticketNumber": f"YN12345-GW-{n}",
            "receivedAt": "2025-03-01T09:30:00+08:00",
            "callerName": "李四",
            "divisionCode": division,
            "category": "劳动社保",
            "content": "工资拖欠三个月",
            "isPetition": n == 1,
            "state": "DISPATCHED",
        }
        for n, division in ((1, COUNTY), (2, COUNTY), (3, TOWNSHIP))
    ]
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
    imported = """mutation($data: String!) {
      importHotlineTickets(data: $data, format: JSON, convert: false) {
        rows imported rejected errors { row code } } }"""
    sent = len(gateway.services.requests)
    body = (await gateway.ask(COUNTY_LEADER, imported, data=data)).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert len(gateway.services.requests) == sent
    body = (await gateway.ask(User(COUNTY), imported, data=data)).json()
    assert "errors" not in body, body
    assert body["data"]["importHotlineTickets"] == {
        "rows": 3,
        "imported": 2,
        "rejected": 1,
        "errors": [{"row": 3, "code": "WRONG_NODE"}],
    }
    assert gateway.services.requests[-1]["query"].lstrip().startswith("mutation")
    converted = """mutation { convertHotlineTicket(ticketId: "YN12345-GW-1") {
      id channel hotlineTicket { ticketNumber converted } } }"""
    body = (await gateway.ask(User(COUNTY), converted)).json()
    assert "errors" not in body, body
    case = body["data"]["convertHotlineTicket"]
    assert case["id"].startswith(f"{COUNTY}-")
    assert case["channel"] == "HOTLINE_12345"
    assert case["hotlineTicket"] == {"ticketNumber": "YN12345-GW-1", "converted": True}


async def test_an_entity_fetch_climbing_out_of_the_subtree_is_not_sent(gateway: Gateway) -> None:
    query = """query($c: ID!) { jurisdiction(code: $c) {
      code stats { eventCount } parent { code name stats { eventCount } } } }"""
    body = (await gateway.ask(COUNTY_LEADER, query, c=COUNTY)).json()
    found = body["data"]["jurisdiction"]
    assert found["stats"] == {"eventCount": 0}
    assert found["parent"] == {"code": CITY, "name": "昆明市", "stats": None}
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["jurisdiction"] == CITY
    assert error["path"] == ["jurisdiction", "parent"]
    sent = [r["variables"] for r in gateway.services.entity_calls()]
    assert all(CITY not in str(variables) for variables in sent), sent
    # The city's own leader gets the same figure.
    body = (await gateway.ask(User(CITY, (Role.LEADER,)), query, c=COUNTY)).json()
    assert "errors" not in body, body
    assert body["data"]["jurisdiction"]["parent"]["stats"] == {"eventCount": 0}


async def test_without_a_valid_token_only_the_probes_and_the_dashboard_shell_answer(
    gateway: Gateway,
) -> None:
    answer = await gateway.ask(None, "{ __typename }")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    garbage = await gateway.http.post(
        f"{gateway.url}/graphql",
        json={"query": "{ __typename }"},
        headers={"authorization": "Bearer not.a.token"},
    )
    assert garbage.status_code == 401
    get = await gateway.http.get(f"{gateway.url}/graphql", params={"query": "{ __typename }"})
    assert get.status_code == 401
    for path in ("/health", "/ready", "/dashboard"):
        assert (await gateway.http.get(f"{gateway.url}{path}")).status_code == 200, path
    assert gateway.services.requests == []

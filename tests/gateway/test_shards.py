"""Key-routed shards through the gateway: a whole province on real tier services over HTTP.

Every node of Yunnan (1,607) is hosted by one multi-tier service, except county 盘龙区
(530103), which runs its own service on its own port, found through the node registry.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from strawberry.federation import Schema

from gateway.persisted import PersistedQueries
from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.divisions import Tier, tier_of
from shared.graphql.app import create_service_app
from shared.holidays import default_calendar
from shared.persistence.database import create_engine
from shared.persistence.migrate import schema_for
from shared.registry import NodeRegistry
from shared.service import TierService
from tests.gateway.province import SECRET, ensure_province_database, figures_by_sql, province_nodes
from tests.gateway.servers import RecordingApp, free_port, serving
from tests.identity import ActAs, leader, suite_verifier

ROOT = Path(__file__).resolve().parents[2]
SUPERGRAPH = (ROOT / "gateway" / "supergraph" / "xinfang.supergraph.graphql").read_text()
OWN_COUNTY = "530103"  # 盘龙区, on its own service
KUNMING = "5301"

FIGURES = "code stats { eventCount personCount }"
PROVINCE_QUERY = f"""query Province {{
  jurisdiction(code: "53") {{ {FIGURES}
    children {{ {FIGURES} children {{ {FIGURES} children {{ {FIGURES} }} }} }}
  }}
}}"""
CITY_QUERY = f'{{ jurisdiction(code: "{KUNMING}") {{ {FIGURES} children {{ {FIGURES} }} }} }}'


def tier_service_app(
    engine: AsyncEngine, nodes: Sequence[str], registry: NodeRegistry
) -> Starlette:
    parts: list[tuple[TierService, Schema]] = []
    for tier in Tier:
        hosted = [code for code in nodes if tier_of(code) is tier]
        if hosted:
            service = TierService(
                tier=tier,
                engine=engine,
                calendar=default_calendar(),
                person_key_secret=SECRET,
                registry=registry,
            )
            service.host(hosted)
            parts.append((service, importlib.import_module(f"{tier.value.lower()}.schema").schema))
    return create_service_app(parts, on_shutdown_dispose=False, relay=False)


class Gate:
    """Holds requests to one path until released (to act between two stages of a plan)."""

    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        self.path = path
        self.armed = False
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.armed and scope["type"] == "http" and scope["path"] == self.path:
            self.arrived.set()
            await self.release.wait()
        await self.app(scope, receive, send)


@dataclass
class Province:
    engine: AsyncEngine
    main_url: str
    main: RecordingApp
    gate: Gate
    registry_tiers: dict[Tier, str]


@pytest.fixture(scope="module")
async def province(database_server: str) -> AsyncIterator[Province]:
    name = await ensure_province_database(database_server)
    engine = create_engine(database_server, name, pool_size=10)
    port = free_port()
    main_url = f"http://127.0.0.1:{port}"
    registry = NodeRegistry(tiers=dict.fromkeys(Tier, main_url))
    nodes = [code for code in province_nodes() if code != OWN_COUNTY]
    main = RecordingApp(tier_service_app(engine, nodes, registry))
    gate = Gate(main, f"/nodes/{KUNMING}/graphql")
    async with serving(gate, port):
        yield Province(engine, main_url, main, gate, dict(registry.tiers))
    await engine.dispose()


@dataclass
class Shards:
    gateway: httpx.AsyncClient
    county: RecordingApp
    stop_county: Any


@asynccontextmanager
async def shards(
    province: Province, *, persisted: PersistedQueries | None = None, **router_options: Any
) -> AsyncIterator[Shards]:
    province.main.requests.clear()
    province.main.headers.clear()
    async with AsyncExitStack() as stack:
        county_stack = await stack.enter_async_context(AsyncExitStack())
        registry = NodeRegistry(tiers=province.registry_tiers)
        county = RecordingApp(tier_service_app(province.engine, [OWN_COUNTY], registry))
        county_url = await county_stack.enter_async_context(serving(county))
        registry = NodeRegistry(tiers=province.registry_tiers, nodes={OWN_COUNTY: county_url})
        fallback = {
            tier.value.lower(): f"{province.main_url}/tiers/{tier.value.lower()}/graphql"
            for tier in Tier
        }
        router = KeyRouter(registry, fallback, **router_options)
        app = create_gateway_app(
            SUPERGRAPH, verifier=suite_verifier(), router=router, timeout=120, persisted=persisted
        )
        url = await stack.enter_async_context(serving(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=url, timeout=60, auth=ActAs())
        )
        yield Shards(client, county, county_stack.aclose)


async def ask(client: httpx.AsyncClient, query: str, **headers: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def flatten(jurisdiction: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    out = {jurisdiction["code"]: jurisdiction["stats"]}
    for child in jurisdiction.get("children") or ():
        out.update(flatten(child))
    return out


async def test_a_province_wide_query_adds_up_every_node_of_yunnan(province: Province) -> None:
    async with shards(province) as shard:
        body = await ask(shard.gateway, PROVINCE_QUERY)
        county_calls = shard.county.entity_calls()
    assert "errors" not in body, body["errors"][:3]
    figures = flatten(body["data"]["jurisdiction"])
    codes = province_nodes()
    assert len(codes) == 1607
    assert set(figures) == set(codes)
    expected = await figures_by_sql(province.engine, codes)
    answered = {
        code: (stats["eventCount"], stats["personCount"])
        for code, stats in figures.items()
        if stats is not None
    }
    assert answered == expected
    assert sum(cases for cases, _ in expected.values()) == 3 * 1607
    # One _entities call per service URL and tier level: cities, counties, townships.
    main_calls = province.main.entity_calls()
    assert len(main_calls) == 3
    assert len(county_calls) == 1
    assert [r["variables"]["representations"] for r in county_calls] == [
        [{"__typename": "Jurisdiction", "code": OWN_COUNTY}]
    ]
    sizes = sorted(len(r["variables"]["representations"]) for r in main_calls)
    assert sizes == [16, 128, 1461]


async def test_the_default_limits_refuse_every_case_of_every_township_before_any_fetch(
    province: Province,
) -> None:
    """The sweep above (every node's figures) keeps the default limits; one asking each
    township's cases costs a thousand times more and is refused whole, no node asked."""
    sweep = """{ jurisdiction(code: "53") { children { children { children {
      cases(first: 50) { edges { node { id summary events { action at } } } } } } } } }"""
    async with shards(province) as shard:
        response = await shard.gateway.post("/graphql", json={"query": sweep})
        county_calls = shard.county.requests
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["actual"] > 10 * error["extensions"]["limit"]
    assert province.main.requests == []
    assert county_calls == []


async def test_a_county_stopped_mid_query_leaves_partial_data_naming_it(
    province: Province,
) -> None:
    async with shards(province) as shard:
        province.gate.armed = True
        try:
            asking = asyncio.create_task(ask(shard.gateway, CITY_QUERY))
            await asyncio.wait_for(province.gate.arrived.wait(), 30)
            await shard.stop_county()  # its process is gone before the entity fetch
            province.gate.release.set()
            body = await asking
        finally:
            province.gate.armed = False
            province.gate.arrived.clear()
            province.gate.release.set()
            province.gate.release = asyncio.Event()
    city = body["data"]["jurisdiction"]
    assert city["stats"] is not None
    counties = {c["code"]: c["stats"] for c in city["children"]}
    assert counties[OWN_COUNTY] is None
    assert all(stats is not None for code, stats in counties.items() if code != OWN_COUNTY)
    [error] = body["errors"]
    index = [c["code"] for c in city["children"]].index(OWN_COUNTY)
    assert error["path"] == ["jurisdiction", "children", index]
    assert error["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
    assert error["extensions"]["nodes"] == [OWN_COUNTY]


async def test_a_slow_node_times_out_alone(province: Province) -> None:
    async with shards(province, node_timeouts={OWN_COUNTY: 0.3}) as shard:
        shard.county.delay = 2.0
        body = await ask(shard.gateway, CITY_QUERY)
    counties = {c["code"]: c["stats"] for c in body["data"]["jurisdiction"]["children"]}
    assert counties[OWN_COUNTY] is None
    assert sum(1 for stats in counties.values() if stats is not None) == len(counties) - 1
    [error] = body["errors"]
    assert error["extensions"]["nodes"] == [OWN_COUNTY]
    assert "no answer within 0.3 s" in error["message"]


async def test_authorization_and_traceparent_reach_every_node(province: Province) -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with shards(province) as shard:
        token = f"Bearer {leader(KUNMING).token()}"
        body = await ask(shard.gateway, CITY_QUERY, authorization=token, traceparent=trace)
        seen = [*province.main.headers, *shard.county.headers]
        paths = [r["query"] for r in [*province.main.requests, *shard.county.requests]]
    assert "errors" not in body
    assert len(seen) == 3, paths  # the city's node endpoint, then one _entities per service
    for headers in seen:
        assert headers["authorization"] == token
        assert headers["traceparent"] == trace


async def test_a_seeded_case_of_a_township_has_its_trail_at_the_province(
    province: Province,
) -> None:
    township = "530102001"  # 华山街道: its cases' steps were seeded into the province's index
    async with province.engine.connect() as conn:
        found = await conn.execute(
            text(f'SELECT id, status FROM "{schema_for(township)}".cases ORDER BY id LIMIT 1')
        )
        case_id, status = found.one()
    query = (
        f'{{ escalationTrail(caseId: "{case_id}") '
        "{ action role node { code } case { id status } } }"
    )
    async with shards(province) as shard:
        body = await ask(shard.gateway, query)
    assert "errors" not in body, body["errors"]
    trail = body["data"]["escalationTrail"]
    assert trail, "a seeded case has a trail"
    assert (trail[0]["action"], trail[0]["role"], trail[0]["node"]) == (
        "REGISTERED",
        "INTAKE",
        {"code": township},
    )
    assert all(step["case"] == {"id": case_id, "status": status} for step in trail)


async def test_the_province_overview_is_the_sum_over_every_node_from_one_node(
    province: Province,
) -> None:
    """The seeded figures were reported up hop by hop (docs/adr/0013): the province node
    answers for all 1,607 nodes from its own tables, and its cities' reports add up."""
    query = (
        '{ jurisdiction(code: "53") { subtreeStats { eventCount personCount receivedCount } '
        "childStats { jurisdiction { code } missing stats { eventCount personCount } } "
        "topCategories(first: 50) { category count } "
        "escalationFlows { kind fromTier toTier count } } }"
    )
    async with shards(province) as shard:
        body = await ask(shard.gateway, query)
        county_calls = shard.county.entity_calls()
    assert "errors" not in body, body["errors"][:3]
    overview = body["data"]["jurisdiction"]
    codes = province_nodes()
    expected = await figures_by_sql(province.engine, codes)
    cases = sum(n for n, _ in expected.values())
    persons = sum(p for _, p in expected.values())
    assert overview["subtreeStats"] == {
        "eventCount": cases,
        "personCount": persons,
        "receivedCount": 0,
    }
    assert cases == 3 * 1607
    children = overview["childStats"]
    assert len(children) == 16
    assert not any(child["missing"] for child in children)
    for child in children:
        code = child["jurisdiction"]["code"]
        in_city = [v for c, v in expected.items() if c.startswith(code)]
        assert (child["stats"]["eventCount"], child["stats"]["personCount"]) == (
            sum(n for n, _ in in_city),
            sum(p for _, p in in_city),
        )
    assert sum(c["count"] for c in overview["topCategories"]) == cases
    flows = {f["kind"]: 0 for f in overview["escalationFlows"]}
    for flow in overview["escalationFlows"]:
        flows[flow["kind"]] += flow["count"]
    async with province.engine.connect() as conn:
        for kind, table in (("REVIEW", "reviews"), ("SUPERVISION_ORDER", "supervision_orders")):
            where = " WHERE level = 'REVIEW'" if table == "reviews" else ""
            direct = 0
            for start in range(0, len(codes), 100):
                union = " UNION ALL ".join(
                    f'SELECT count(*) FROM "{schema_for(code)}".{table}{where}'
                    for code in codes[start : start + 100]
                )
                direct += sum(int(n) for (n,) in await conn.execute(text(union)))
                await conn.commit()  # let go of the chunk's locks: the lock table is shared
            assert direct > 0
            assert flows[kind] == direct
    assert county_calls == []  # one node answered, no fan-out

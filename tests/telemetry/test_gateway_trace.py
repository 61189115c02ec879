"""One dashboard query through the gateway reads as one trace: the gateway's stages, a client
span per subgraph fetch, the tier service's server span beneath each, and the nodes' SQL."""

from __future__ import annotations

from pathlib import Path

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.casework import FixedClock
from shared.divisions import Tier, division_tree
from shared.persistence.migrate import migrate_nodes
from tests.conftest import CITY, COUNTY, empty_nodes
from tests.identity import ActAs, suite_verifier
from tests.messaging.network import network
from tests.messaging.servers import serving
from tests.telemetry.test_tracing import by_trace, descendants, is_sql, one

ROOT = Path(__file__).resolve().parents[2]
SUPERGRAPH = (ROOT / "gateway" / "supergraph" / "xinfang.supergraph.graphql").read_text()
DASHBOARD_QUERY = f"""query CountyOverview {{
  jurisdiction(code: "{COUNTY}") {{
    name
    stats {{ eventCount backlog asOf }}
    children {{ code name stats {{ eventCount backlog overdue }} }}
  }}
}}"""


async def test_a_dashboard_query_is_one_trace_from_the_gateway_down_to_sql(
    spans: InMemorySpanExporter, clean_engine: AsyncEngine, clock: FixedClock
) -> None:
    townships = [d.code for d in division_tree().children(COUNTY)]
    assert len(townships) >= 5
    await migrate_nodes(clean_engine, townships)
    await empty_nodes(clean_engine, townships)
    async with network(clean_engine, clock, [CITY, COUNTY, *townships]) as net:
        fallback = {
            tier.value.lower(): f"{url}/tiers/{tier.value.lower()}/graphql"
            for tier, url in net.registry.tiers.items()
        }
        for tier in Tier:  # the supergraph names all four subgraphs
            fallback.setdefault(tier.value.lower(), fallback["county"])
        app = create_gateway_app(
            SUPERGRAPH, verifier=suite_verifier(), router=KeyRouter(net.registry, fallback)
        )
        async with serving(app) as gateway, httpx.AsyncClient(timeout=30, auth=ActAs()) as client:
            spans.clear()
            response = await client.post(f"{gateway.url}/graphql", json={"query": DASHBOARD_QUERY})
    body = response.json()
    assert "errors" not in body, body["errors"][:3]
    assert {c["code"] for c in body["data"]["jurisdiction"]["children"]} == set(townships)

    finished = list(spans.get_finished_spans())
    request = one([s for s in finished if s.kind is SpanKind.SERVER], "POST /graphql")
    assert request.context is not None
    assert request.parent is not None
    # The caller's traceparent (here the test's own instrumented HTTP client) is honoured.
    [caller] = [s for s in finished if s.context and s.context.span_id == request.parent.span_id]
    assert caller.kind is SpanKind.CLIENT
    assert caller.parent is None
    trace = by_trace(finished, request.context.trace_id)
    below = descendants(finished, request)
    assert {s.context.span_id for s in below if s.context} | {
        request.context.span_id,
        request.parent.span_id,
    } == {s.context.span_id for s in trace if s.context}, "all of the trace is the request's"

    # The gateway's stages, in order, each a child of the request.
    stages = [one(below, f"xinfang.gateway.{stage}") for stage in ("validate", "plan", "execute")]
    assert all(s.parent is not None and s.parent.span_id == request.context.span_id for s in stages)
    assert [s.start_time for s in stages] == sorted(s.start_time or 0 for s in stages)
    execute = stages[2]

    # A client span per subgraph fetch under execute: the county's root fetch, then one
    # _entities call for all its townships.
    fetches = [
        s
        for s in descendants(finished, execute)
        if s.kind is SpanKind.CLIENT and "xinfang.subgraph" in (s.attributes or {})
    ]
    assert len(fetches) == 2, [s.name for s in fetches]
    served: list[ReadableSpan] = []
    for fetch in fetches:
        assert fetch.name.startswith("POST ")
        assert (fetch.attributes or {})["xinfang.subgraph"] in {t.value.lower() for t in Tier}
        assert fetch.context is not None
        [server] = [
            s
            for s in finished
            if s.kind is SpanKind.SERVER
            and s.parent is not None
            and s.parent.span_id == fetch.context.span_id
        ]
        served.append(server)
    routes = sorted(str((s.attributes or {})["http.route"]) for s in served)
    assert routes == ["/nodes/{code}/graphql", "/tiers/{tier}/graphql"]
    node_request = next(s for s in served if s.name == "POST /nodes/{code}/graphql")
    assert (node_request.attributes or {})["xinfang.node"] == COUNTY

    # Every node's figures are counted in SQL beneath the service that hosts it: the county's
    # under its node request, each township's under the one _entities request.
    assert any(is_sql(s) for s in descendants(finished, node_request))
    tier_request = next(s for s in served if s.name == "POST /tiers/{tier}/graphql")
    township_sql = [s for s in descendants(finished, tier_request) if is_sql(s)]
    assert len(township_sql) >= len(townships)

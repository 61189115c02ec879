"""What one request may ask: size, depth, aliases, a cost that knows fan-out, the rate per user,
and the persisted-query allow list (gateway.limits, gateway.ratelimit, gateway.persisted).

The cost estimate is checked on the xinfang API schema with Yunnan's real division tree; the
refusals, the 429 and the allow list over real HTTP at a gateway whose subgraphs are not
running: a request the limits let through gets as far as the fetch (``SUBGRAPH_UNAVAILABLE``),
a refused one never does. The whole province through a gateway with the default limits is in
tests/gateway/test_shards.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from gateway.limits import QueryLimits, estimate_cost, shape_refusals
from gateway.persisted import PersistedQueries, build_manifest
from gateway.persisted import main as persisted_main
from gateway.ratelimit import RateLimit, RateLimiter
from gateway.server import create_gateway_app
from gateway.supergraph import load_supergraph
from shared.auth import Role
from tests.docs.test_documented_queries import documented_variables
from tests.gateway.servers import free_port, serving
from tests.identity import User, leader, suite_verifier

ROOT = Path(__file__).resolve().parents[2]
SDL = (ROOT / "gateway" / "supergraph" / "xinfang.supergraph.graphql").read_text(encoding="utf-8")
SCHEMA = load_supergraph(SDL).api_schema
QUERIES = sorted((ROOT / "docs" / "queries").glob("*.graphql"))

TOWNSHIPS_OF_YUNNAN = """{ jurisdiction(code: "53") { children { children { children {
  code stats { eventCount } } } } } }"""
TOWNSHIPS_OF_A_COUNTY = """{ jurisdiction(code: "530102") { children {
  code stats { eventCount } } } }"""
EVERY_CASE_OF_YUNNAN = """{ jurisdiction(code: "53") { children { children { children {
  cases(first: 100) { edges { node { id events { action } } } } } } } } }"""


def cost(query: str, variables: dict[str, Any] | None = None, **limits: int) -> int:
    document = parse(query)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return estimate_cost(SCHEMA, operation, fragments, variables or {}, QueryLimits(**limits))


def shape(query: str, **limits: int) -> list[str]:
    document = parse(query)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return [
        e["extensions"]["code"] for e in shape_refusals(operation, fragments, QueryLimits(**limits))
    ]


# --- the estimate -------------------------------------------------------------------------


def test_jurisdictions_are_counted_from_the_real_division_tree() -> None:
    node_cost = QueryLimits().node_cost
    # 1 province + 16 cities + 129 counties + 1,461 townships, each an object and a node,
    # and one stats object a township.
    assert cost(TOWNSHIPS_OF_YUNNAN) == (1 + 16 + 129 + 1461) * (1 + node_cost) + 1461
    county = cost(TOWNSHIPS_OF_A_COUNTY)
    assert cost(TOWNSHIPS_OF_YUNNAN) > 100 * county  # the fan-out is what costs


def test_lists_multiply_by_first_and_connections_carry_it_to_their_edges() -> None:
    query = """query($n: Int!) { cases(first: $n) { edges { node { id events { action } } } } }"""
    ten, hundred = cost(query, {"n": 10}), cost(query, {"n": 100})
    default_events = QueryLimits().default_list_size
    assert ten == 1 + 10 + 10 + 10 * default_events  # connection, edges, nodes, events
    assert hundred == 10 * ten - 9


def test_fragments_and_aliases_are_counted_where_they_are_used() -> None:
    spread = """query { a: jurisdiction(code: "5301") { ...Kids } b: jurisdiction(code: "5301")
      { ...Kids } } fragment Kids on Jurisdiction { children { code } }"""
    inline = (
        """query { jurisdiction(code: "5301") { ... on Jurisdiction { children { code } } } }"""
    )
    assert cost(spread) == 2 * cost(inline)
    assert cost("{ __schema { types { name fields { name } } } }") == 0  # answered locally


def test_a_jurisdiction_the_estimate_cannot_name_is_assumed_widest() -> None:
    # A case's jurisdiction is not known before the query runs: its children are bounded by
    # the widest division there is, never zero.
    query = """{ case(id: "530102001-1") { owner { children { code } } } }"""
    assert cost(query) > 20


def test_every_documented_query_keeps_the_default_limits() -> None:
    limits = QueryLimits()
    for file in QUERIES:
        source = file.read_text(encoding="utf-8")
        assert shape(source) == [], file.name
        assert cost(source, {"code": "53", "caseId": "530102001-1"}) < limits.max_cost, file.name
    assert cost(TOWNSHIPS_OF_YUNNAN) < limits.max_cost < cost(EVERY_CASE_OF_YUNNAN)


def test_depth_and_aliases() -> None:
    deep = '{ jurisdiction(code: "53") { ' + "children { " * 14 + "code" + " }" * 15 + " }"
    assert shape(deep) == ["QUERY_TOO_DEEP"]
    assert shape(deep, max_depth=16) == []
    aliased = (
        "{ " + " ".join(f'a{i}: jurisdiction(code: "53") {{ code }}' for i in range(31)) + " }"
    )
    assert shape(aliased) == ["TOO_MANY_ALIASES"]
    assert shape(aliased, max_aliases=31) == []
    # An aliased field inside a fragment counts at each spread.
    spread = '{ a: jurisdiction(code:"53") { ...F } b: jurisdiction(code:"53") { ...F } } '
    spread += "fragment F on Jurisdiction { x: code y: name }"
    assert shape(spread, max_aliases=6) == []  # a, b and x, y twice
    assert shape(spread, max_aliases=5) == ["TOO_MANY_ALIASES"]


def test_limits_from_the_environment() -> None:
    limits = QueryLimits.from_env({"XINFANG_MAX_COST": "1000", "XINFANG_MAX_DEPTH": "4"})
    assert (limits.max_cost, limits.max_depth, limits.max_aliases) == (1000, 4, 30)
    for bad in ("0", "-3", "many"):
        with pytest.raises(ValueError, match="XINFANG_MAX_ALIASES"):
            QueryLimits.from_env({"XINFANG_MAX_ALIASES": bad})


# --- the rate per user ----------------------------------------------------------------------


def test_the_bucket_refills_at_the_rate_and_forgets_idle_users() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimit(rate=2.0, burst=3), clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    wait = limiter.take("a")
    assert wait == pytest.approx(0.5)
    assert limiter.take("b") is None  # another user has their own bucket
    now[0] = 0.5
    assert limiter.take("a") is None
    assert limiter.take("a") == pytest.approx(0.5)
    now[0] = 100.0  # both buckets full again: forgotten
    assert limiter.take("c") is None
    assert len(limiter) == 1
    assert RateLimit.from_env({"XINFANG_RATE_LIMIT": "0"}) is None
    assert RateLimit.from_env({}) == RateLimit()
    with pytest.raises(ValueError, match="XINFANG_RATE_BURST"):
        RateLimit.from_env({"XINFANG_RATE_BURST": "2.5"})


# --- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
async def gateway_at() -> AsyncIterator[Any]:
    """Serve a gateway with the given options over real HTTP (no subgraph running)."""
    closed = f"http://127.0.0.1:{free_port()}/graphql"
    urls = dict.fromkeys(load_supergraph(SDL).subgraph_urls(), closed)
    stack: list[Any] = []

    async def start(**options: Any) -> httpx.AsyncClient:
        app = create_gateway_app(
            SDL, verifier=suite_verifier(), subgraph_urls=urls, timeout=2, retries=0, **options
        )
        context = serving(app)
        base = await context.__aenter__()
        client = httpx.AsyncClient(base_url=base, timeout=30)
        stack.append((context, client))
        return client

    yield start
    for context, client in reversed(stack):
        await client.aclose()
        await context.__aexit__(None, None, None)


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


async def post(
    client: httpx.AsyncClient, user: User, query: str | None = None, **extra: Any
) -> httpx.Response:
    body: dict[str, Any] = dict(extra)
    if query is not None:
        body["query"] = query
    return await client.post("/graphql", json=body, headers=user.headers())


async def test_refusals_name_their_limit_and_fetch_nothing(gateway_at: Any) -> None:
    client = await gateway_at(limits=QueryLimits(max_tokens=200))
    province = leader("53")
    allowed = await post(client, province, TOWNSHIPS_OF_A_COUNTY)
    assert allowed.status_code == 200
    assert "SUBGRAPH_UNAVAILABLE" in codes(allowed)  # let through: it reached the fetch

    costly = await post(client, province, EVERY_CASE_OF_YUNNAN)
    assert costly.status_code == 400
    [error] = costly.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["actual"] > error["extensions"]["limit"] == 50_000

    large = await post(client, province, "{ " + "__typename " * 300 + "}")
    assert (large.status_code, codes(large)) == (400, ["QUERY_TOO_LARGE"])

    deep = '{ jurisdiction(code: "53") { ' + "parent { " * 15 + "code" + " }" * 17
    response = await post(client, province, deep)
    assert (response.status_code, codes(response)) == (400, ["QUERY_TOO_DEEP"])

    # Scope comes first: a costly query outside the caller's subtree is refused as FORBIDDEN.
    other = await post(client, leader("5301"), EVERY_CASE_OF_YUNNAN)
    assert codes(other) == ["FORBIDDEN"]


async def test_each_user_is_held_to_the_rate(gateway_at: Any) -> None:
    client = await gateway_at(rate_limit=RateLimit(rate=0.5, burst=3))
    first, second = leader("5301"), leader("5303")
    statuses = [(await post(client, first, "{ __typename }")).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = await post(client, first, "{ __typename }")
    assert refused.status_code == 429
    assert codes(refused) == ["RATE_LIMITED"]
    assert refused.headers["retry-after"] == "2"
    assert 0 < refused.json()["errors"][0]["extensions"]["retryAfter"] <= 2
    assert (await post(client, second, "{ __typename }")).status_code == 200
    # No token is a 401 before any bucket: the limiter never sees strangers.
    assert (await client.post("/graphql", json={"query": "{ __typename }"})).status_code == 401


async def test_persisted_queries_by_hash_and_the_allow_list(
    gateway_at: Any, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    assert persisted_main([*map(str, QUERIES), "-o", str(manifest)]) == 0
    listed = json.loads(manifest.read_text(encoding="utf-8"))["operations"]
    assert len(listed) == len(QUERIES)
    [overview] = [o for o in listed if o["name"] == "ProvinceOverview"]
    body = overview["body"]
    digest = hashlib.sha256(body.encode()).hexdigest()
    assert overview["id"] == digest

    persisted = PersistedQueries.from_manifest(manifest, allow_list=True)
    client = await gateway_at(persisted=persisted)
    province, analyst = leader("53"), User("53", (Role.ANALYST,))
    by_hash = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    variables = documented_variables(body)

    for response in (
        await post(client, province, extensions=by_hash, variables=variables),
        await post(client, province, body, variables=variables),
    ):
        assert "SUBGRAPH_UNAVAILABLE" in codes(response)  # listed: let through
    adhoc = await post(client, province, TOWNSHIPS_OF_A_COUNTY)
    assert (adhoc.status_code, codes(adhoc)) == (400, ["PERSISTED_QUERY_NOT_IN_LIST"])
    assert "SUBGRAPH_UNAVAILABLE" in codes(await post(client, analyst, TOWNSHIPS_OF_A_COUNTY))

    unknown = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    response = await post(client, province, extensions=unknown)
    assert codes(response) == ["PERSISTED_QUERY_NOT_FOUND"]
    mismatch = await post(client, province, TOWNSHIPS_OF_A_COUNTY, extensions=by_hash)
    assert codes(mismatch) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    get = await client.get(
        "/graphql",
        params={"extensions": json.dumps(by_hash), "variables": json.dumps(variables)},
        headers=province.headers(),
    )
    assert "SUBGRAPH_UNAVAILABLE" in codes(get)


async def test_outside_the_allow_list_a_hash_sent_with_its_text_is_remembered(
    gateway_at: Any,
) -> None:
    client = await gateway_at()
    province = leader("53")
    digest = hashlib.sha256(TOWNSHIPS_OF_A_COUNTY.encode()).hexdigest()
    by_hash = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    assert codes(await post(client, province, extensions=by_hash)) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "SUBGRAPH_UNAVAILABLE" in codes(
        await post(client, province, TOWNSHIPS_OF_A_COUNTY, extensions=by_hash)
    )
    assert "SUBGRAPH_UNAVAILABLE" in codes(await post(client, province, extensions=by_hash))


def test_a_manifest_is_checked_when_loaded(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    manifest = build_manifest(QUERIES[:1])
    manifest["operations"][0]["body"] += " "
    bad.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ValueError, match="does not match"):
        PersistedQueries.from_manifest(bad)
    with pytest.raises(ValueError, match="needs XINFANG_PERSISTED_QUERIES"):
        PersistedQueries.from_env({"XINFANG_ALLOW_LIST": "1"})
    with pytest.raises(ValueError, match="unknown role"):
        PersistedQueries.from_env({"XINFANG_ADHOC_ROLES": "analyst,boss"})

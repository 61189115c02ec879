"""The xinfang supergraph, one node per tier: our gateway answers as @apollo/gateway does.

Both gateways serve the committed supergraph over the same four tier subgraphs (one node of
each tier, real HTTP), without a node registry: this is standard Federation, where a
subgraph has one URL. Queries whose answer depends on *which node* answers are key routing,
which no standard gateway does; tests/gateway/test_sharded_province.py covers those.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.compose import SUPERGRAPH_FILE
from gateway.server import create_gateway_app
from shared.divisions import Tier
from tests.conftest import NODE_OF_TIER
from tests.gateway.federation.compare import comparable
from tests.gateway.reference import reference_gateways
from tests.gateway.servers import serving
from tests.gateway.test_compose import one_node_per_tier
from tests.identity import ActAs

__all__ = ["one_node_per_tier"]

QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "province tree": (
        '{ jurisdiction(code: "53") { code name tier children { code name tier } } }',
        {},
    ),
    "township ancestry": (
        '{ jurisdiction(code: "530102001") '
        "{ name parent { name parent { name parent { name parent { code } } } } } }",
        {},
    ),
    "aliases, variables and a named fragment": (
        "query Two($a: ID!, $b: ID!) { x: jurisdiction(code: $a) { ...J } "
        "y: jurisdiction(code: $b) { ...J children { code } } } "
        "fragment J on Jurisdiction { code name tier }",
        {"a": "5301", "b": "530102"},
    ),
    "an unknown jurisdiction is null": (
        'query { jurisdiction(code: "99") { code name } }',
        {},
    ),
    "skip and include": (
        'query($yes: Boolean!) { jurisdiction(code: "5303") { code '
        "name @include(if: $yes) tier @skip(if: $yes) children @include(if: false) { code } } }",
        {"yes": True},
    ),
    "typename at the root and below": (
        '{ __typename jurisdiction(code: "5301") { __typename code parent { __typename } } }',
        {},
    ),
    "configured supervision levels": (
        "{ supervisionLevels { code name replyDays rank } }",
        {},
    ),
    "an unknown field is a validation error": ('{ jurisdiction(code: "53") { nope } }', {}),
    "a missing required variable": ("query($c: ID!) { jurisdiction(code: $c) { code } }", {}),
    "a syntax error": ('{ jurisdiction(code: "53") { code }', {}),
    "introspection of an entity type": (
        '{ __type(name: "Jurisdiction") { name kind fields { name } } }',
        {},
    ),
}


@pytest.fixture
async def two_gateways(one_node_per_tier: str) -> AsyncIterator[tuple[str, str]]:
    urls = {
        tier.value.lower(): f"{one_node_per_tier}/nodes/{NODE_OF_TIER[tier.value.lower()]}/graphql"
        for tier in Tier
    }
    sdl = SUPERGRAPH_FILE.read_text(encoding="utf-8")
    # Both gateways as plain federation gateways forwarding the caller's token (the nodes
    # check it): access at the gateway is tests/security's subject, federation is this one's.
    ours = create_gateway_app(sdl, verifier=None, subgraph_urls=urls)
    async with reference_gateways() as reference, serving(ours) as our_url:
        apollo_url = await reference.load(sdl, urls)
        yield f"{our_url}/graphql", apollo_url


def same_answer(body: dict[str, Any]) -> tuple[str, list[str]]:
    """``comparable``, except that an invalid variable is compared by code and variable name:
    graphql-core 3.3 words coercion errors after graphql-js 17 ("Variable '$c' has invalid
    value: …"), @apollo/gateway's graphql-js 16 otherwise ("… was not provided."), and GraphQL
    specifies no message."""
    errors = []
    for error in body.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        message = str(error.get("message"))
        if code == "BAD_USER_INPUT" and "path" not in error and "$" in message:
            variable = message[message.index("$") :].split()[0].strip("'\"")
            error = {**error, "message": f"invalid variable {variable}"}
        errors.append(error)
    return comparable({**body, "errors": errors} if errors else body, like_apollo=True)


async def ask(client: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post(
        url,
        json={"query": query, "variables": variables},
        headers={"content-type": "application/json", "apollo-require-preflight": "true"},
    )
    return response.json()


async def test_our_gateway_answers_every_query_as_apollo_gateway_does(
    two_gateways: tuple[str, str],
) -> None:
    ours, apollo = two_gateways
    differences = {}
    async with httpx.AsyncClient(timeout=20, auth=ActAs()) as client:
        for name, (query, variables) in QUERIES.items():
            mine = await ask(client, ours, query, variables)
            theirs = await ask(client, apollo, query, variables)
            if same_answer(mine) != same_answer(theirs):
                differences[name] = {"ours": mine, "apollo": theirs}
    assert differences == {}, json.dumps(differences, ensure_ascii=False, indent=1)[:4000]
    print(f"{len(QUERIES)} queries on the xinfang supergraph: the same answers as @apollo/gateway")

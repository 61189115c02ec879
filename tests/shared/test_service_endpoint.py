"""The service endpoint ``/tiers/county/graphql``: _entities of many nodes, split by owner."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import COUNTY, OTHER_COUNTY, GraphQLClient
from tests.county.helpers import register

ENTITIES = """
query($representations: [_Any!]!, $first: Int!) {
  found: _entities(representations: $representations) {
    ... on Case { id status owner { code } }
    ... on Jurisdiction { code cases(first: $first) { totalCount } }
  }
}
"""


async def service_query(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/tiers/county/graphql", json={"query": query, "variables": variables or {}}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_entities_of_many_nodes_come_back_in_order_from_their_owners(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    here = await register(gql)
    there = await register(GraphQLClient(client, OTHER_COUNTY), issueLocality=OTHER_COUNTY)
    representations = [
        {"__typename": "Case", "id": there["id"]},
        {"__typename": "Jurisdiction", "code": COUNTY},
        {"__typename": "Case", "id": here["id"]},
        {"__typename": "Jurisdiction", "code": OTHER_COUNTY},
        {"__typename": "Case", "id": f"{COUNTY}-2025-999999"},
    ]
    body = await service_query(client, ENTITIES, {"representations": representations, "first": 5})
    assert "errors" not in body, body
    assert body["data"]["found"] == [
        {"id": there["id"], "status": "REGISTERED", "owner": {"code": OTHER_COUNTY}},
        {"code": COUNTY, "cases": {"totalCount": 1}},
        {"id": here["id"], "status": "REGISTERED", "owner": {"code": COUNTY}},
        {"code": OTHER_COUNTY, "cases": {"totalCount": 1}},
        None,  # no such case at its owner: null without an error, as any subgraph answers
    ]


async def test_errors_of_each_node_are_reindexed_to_the_original_positions(
    client: httpx.AsyncClient,
) -> None:
    representations = [
        {"__typename": "Jurisdiction", "code": OTHER_COUNTY},
        {"__typename": "Case", "id": "530112-2025-000001"},  # 西山区: not hosted here
        {"__typename": "Jurisdiction", "code": COUNTY},
        {"__typename": "Case", "id": 7},
    ]
    # first: 0 is refused by every node, at its own entity's path.
    body = await service_query(client, ENTITIES, {"representations": representations, "first": 0})
    assert body["data"]["found"] == [
        {"code": OTHER_COUNTY, "cases": None},
        None,
        {"code": COUNTY, "cases": None},
        None,
    ]
    by_path = {tuple(e["path"]): e["extensions"] for e in body["errors"]}
    assert by_path[("found", 0, "cases")]["code"] == "BAD_USER_INPUT"
    assert by_path[("found", 2, "cases")]["code"] == "BAD_USER_INPUT"
    assert by_path[("found", 1)] == {"code": "NODE_NOT_FOUND", "node": "530112"}
    assert by_path[("found", 3)]["code"] == "BAD_USER_INPUT"
    assert [e["path"][1] for e in body["errors"]] == [0, 1, 2, 3]


async def test_the_service_endpoint_serves_the_tier_sdl(client: httpx.AsyncClient) -> None:
    body = await service_query(client, "{ _service { sdl } }")
    assert "type Case" in body["data"]["_service"]["sdl"]
    assert "@nodeOwned" in body["data"]["_service"]["sdl"]


async def test_node_fields_at_the_service_endpoint_ask_for_a_node(
    client: httpx.AsyncClient,
) -> None:
    body = await service_query(client, "{ here: node { code } _service { sdl } }")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["path"] == ["here"]
    assert error["extensions"]["code"] == "NODE_REQUIRED"
    response = await client.post("/tiers/city/graphql", json={"query": "{ _service { sdl } }"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "TIER_NOT_FOUND"

"""A subgraph that is down or slow: partial data and SUBGRAPH_UNAVAILABLE errors, never 500."""

from __future__ import annotations

import time

from tests.gateway.conftest import Subgraphs, running_gateway
from tests.gateway.servers import free_port


def nowhere() -> str:
    return f"http://127.0.0.1:{free_port()}/graphql"  # nothing listens there


async def test_entity_subgraph_down_nulls_its_fields_and_names_it(subgraphs: Subgraphs) -> None:
    urls = {**subgraphs.urls, "inventory": nowhere()}
    async with running_gateway(urls) as gateway:
        response = await gateway.post("{ topProducts { name shippingEstimate } }")
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["topProducts"] == [
        {"name": name, "shippingEstimate": None} for name in ("Table", "Couch", "Chair", "Lamp")
    ]
    assert [e["path"] for e in body["errors"]] == [["topProducts", i] for i in range(4)]
    for error in body["errors"]:
        assert error["extensions"] == {"code": "SUBGRAPH_UNAVAILABLE", "serviceName": "inventory"}


async def test_entity_subgraph_down_under_a_non_null_field_nulls_the_parent(
    subgraphs: Subgraphs,
) -> None:
    urls = {**subgraphs.urls, "inventory": nowhere()}
    async with running_gateway(urls) as gateway:
        response = await gateway.post('{ product(upc: "1") { name inStock } me { name } }')
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"product": None, "me": {"name": "Ada Lovelace"}}
    [error] = body["errors"]
    assert error["path"] == ["product"]
    assert error["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"


async def test_root_subgraph_down_keeps_the_other_root_fields(subgraphs: Subgraphs) -> None:
    urls = {**subgraphs.urls, "accounts": nowhere()}
    async with running_gateway(urls) as gateway:
        response = await gateway.post('{ user(id: "1") { name } topProducts { name } }')
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["user"] is None
    assert [p["name"] for p in body["data"]["topProducts"]] == ["Table", "Couch", "Chair", "Lamp"]
    [error] = body["errors"]
    assert error["path"] == ["user"]
    assert error["extensions"] == {"code": "SUBGRAPH_UNAVAILABLE", "serviceName": "accounts"}


async def test_a_slow_subgraph_times_out_per_subgraph(subgraphs: Subgraphs) -> None:
    subgraphs.recorders["reviews"].delay = 1.0
    async with running_gateway(subgraphs.urls, subgraph_timeouts={"reviews": 0.2}) as gateway:
        started = time.monotonic()
        response = await gateway.post('{ product(upc: "1") { name reviews { body } } }')
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < 0.9
    body = response.json()
    assert body["data"] == {"product": None}  # reviews is non-null
    [error] = body["errors"]
    assert error["path"] == ["product"]
    assert "no answer within 0.2 s" in error["message"]

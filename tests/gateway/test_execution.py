"""Executing plans over real HTTP: batching, deduplication, conditions, headers, plan cache."""

from __future__ import annotations

from tests.gateway.conftest import GatewayClient, Subgraphs


async def test_entities_are_batched_into_one_call_per_subgraph_and_deduplicated(
    gateway: GatewayClient, subgraphs: Subgraphs
) -> None:
    body = await gateway.query("{ topProducts { inStock reviews { author { name } } } }")
    assert "errors" not in body
    recorders = subgraphs.recorders
    assert len(recorders["products"].requests) == 1
    assert len(recorders["inventory"].entity_calls()) == 1
    assert len(recorders["reviews"].entity_calls()) == 1
    [accounts_call] = recorders["accounts"].entity_calls()
    # Four products have five reviews by three authors: three representations, not five.
    representations = accounts_call["variables"]["representations"]
    assert sorted(r["id"] for r in representations) == ["1", "2", "3"]


async def test_requires_fields_are_sent_in_the_representation(
    gateway: GatewayClient, subgraphs: Subgraphs
) -> None:
    body = await gateway.query('{ product(upc: "1") { shippingEstimate } }')
    assert body == {"data": {"product": {"shippingEstimate": 50}}}
    [call] = subgraphs.recorders["inventory"].entity_calls()
    assert call["variables"]["representations"] == [
        {"__typename": "Product", "sku": "TABLE-1", "price": 899, "weight": 100}
    ]


async def test_a_false_include_skips_the_entity_fetch_it_guards(
    gateway: GatewayClient, subgraphs: Subgraphs
) -> None:
    query = "query($i: Boolean!) { topProducts { name ... @include(if: $i) { inStock } } }"
    skipped = await gateway.query(query, {"i": False})
    assert skipped["data"]["topProducts"][0] == {"name": "Table"}
    assert subgraphs.recorders["inventory"].requests == []
    included = await gateway.query(query, {"i": True})
    assert included["data"]["topProducts"][0] == {"name": "Table", "inStock": True}
    [call] = subgraphs.recorders["inventory"].requests
    assert call["variables"]["i"] is True


async def test_authorization_and_traceparent_are_passed_to_subgraphs(
    gateway: GatewayClient, subgraphs: Subgraphs
) -> None:
    headers = {
        "authorization": "Bearer t0ken",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "x-private": "not forwarded",
    }
    response = await gateway.post("{ me { reviewCount } }", headers=headers)
    assert response.status_code == 200
    for name in ("accounts", "reviews"):
        [seen] = subgraphs.recorders[name].headers
        assert seen["authorization"] == "Bearer t0ken"
        assert seen["traceparent"] == headers["traceparent"]
        assert "x-private" not in seen


async def test_the_second_identical_operation_is_not_planned_again(
    gateway: GatewayClient,
) -> None:
    planner = gateway.app.state.gateway.planner
    query = "query PlanOnce { topProducts { name } }"
    await gateway.query(query)
    built = planner.plans_built
    await gateway.query(query)
    assert planner.plans_built == built

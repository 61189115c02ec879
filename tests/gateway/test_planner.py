"""Query plans: which fetches, in which order, with which representations."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from gateway.planner import (
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    QueryPlan,
    QueryPlanner,
    SequenceNode,
    format_plan,
)
from gateway.supergraph import load_supergraph
from tests.gateway.conftest import SUPERGRAPH_SDL


@pytest.fixture(scope="module")
def planner() -> QueryPlanner:
    return QueryPlanner(load_supergraph(SUPERGRAPH_SDL))


def outline(node: PlanNode | None) -> Any:
    """A plan as nested lists: 'Fetch products', 'Flatten topProducts.@ -> inventory'."""
    if isinstance(node, FetchNode):
        return f"Fetch {node.subgraph}"
    if isinstance(node, FlattenNode):
        path = ".".join(node.path).replace(".|", "|")
        return f"Flatten {path} -> {node.node.subgraph}"
    if isinstance(node, SequenceNode):
        return ["Sequence", *(outline(n) for n in node.nodes)]
    if isinstance(node, ParallelNode):
        return ["Parallel", *(outline(n) for n in node.nodes)]
    return None


def plan_of(planner: QueryPlanner, query: str) -> QueryPlan:
    return planner.plan(parse(query))


def fetch_to(plan: QueryPlan, subgraph: str) -> FetchNode:
    [fetch] = [f for f in plan.fetches() if f.subgraph == subgraph]
    return fetch


def test_entity_fields_of_two_subgraphs_are_fetched_in_parallel_after_the_root(
    planner: QueryPlanner,
) -> None:
    plan = plan_of(planner, "{ topProducts { name inStock reviews { body } } }")
    assert outline(plan.node) == [
        "Sequence",
        "Fetch products",
        ["Parallel", "Flatten topProducts.@ -> inventory", "Flatten topProducts.@ -> reviews"],
    ]
    root = fetch_to(plan, "products")
    # The parent fetch gains __typename and the key each target can resolve.
    assert root.operation == "query { topProducts { name __typename sku upc } }"
    inventory = fetch_to(plan, "inventory")
    assert inventory.operation == (
        "query($representations: [_Any!]!) { _entities(representations: $representations) "
        "{ ... on Product { inStock } } }"
    )


def test_requires_fields_come_from_their_owner_and_ride_in_the_representation(
    planner: QueryPlanner,
) -> None:
    plan = plan_of(planner, "{ topProducts { shippingEstimate } }")
    assert "price weight" in fetch_to(plan, "products").operation
    [fragment] = fetch_to(plan, "inventory").requires
    assert fragment.type_condition == "Product"
    assert [f.name for f in fragment.selections] == ["__typename", "sku", "price", "weight"]  # type: ignore[union-attr]


def test_a_key_the_current_subgraph_lacks_is_fetched_first_from_another(
    planner: QueryPlanner,
) -> None:
    # reviews knows Product by upc only; inventory by sku only: products bridges the two.
    plan = plan_of(planner, "{ me { reviews { product { inStock shippingEstimate } } } }")
    assert outline(plan.node) == [
        "Sequence",
        "Fetch accounts",
        "Flatten me -> reviews",
        "Flatten me.reviews.@.product -> products",
        "Flatten me.reviews.@.product -> inventory",
    ]


def test_provides_avoids_a_hop(planner: QueryPlanner) -> None:
    provided = plan_of(planner, "{ topProducts { reviews { author { username } } } }")
    assert "accounts" not in {f.subgraph for f in provided.fetches()}
    not_provided = plan_of(planner, "{ topProducts { reviews { author { name } } } }")
    assert "accounts" in {f.subgraph for f in not_provided.fetches()}


def test_provides_applies_to_a_field_reached_by_an_entity_fetch(planner: QueryPlanner) -> None:
    plan = plan_of(planner, '{ node(id: "r1") { ... on Review { author { username } } } }')
    assert outline(plan.node) == ["Sequence", "Fetch search", "Flatten node -> reviews"]


def test_a_shareable_field_is_resolved_by_the_current_subgraph(planner: QueryPlanner) -> None:
    plan = plan_of(planner, '{ search(text: "a") { ... on Product { name } } }')
    assert outline(plan.node) == "Fetch search"


def test_an_overridden_field_goes_to_the_overriding_subgraph(planner: QueryPlanner) -> None:
    plan = plan_of(planner, "{ me { reviewCount } }")
    assert outline(plan.node) == ["Sequence", "Fetch accounts", "Flatten me -> reviews"]


def test_union_members_are_fetched_per_type_from_their_own_subgraphs(
    planner: QueryPlanner,
) -> None:
    plan = plan_of(
        planner,
        '{ search(text: "a") { ... on User { name } ... on Product { price } } }',
    )
    assert outline(plan.node) == [
        "Sequence",
        "Fetch search",
        ["Parallel", "Flatten search.@ -> accounts", "Flatten search.@ -> products"],
    ]
    # resolvable: false stubs: search returns the keys but is never asked for entities.
    search = fetch_to(plan, "search")
    assert search.operation == (
        'query { search(text: "a") { __typename ... on User { __typename id } '
        "... on Product { __typename upc } } }"
    )


def test_interface_members_of_one_subgraph_share_one_entity_fetch(planner: QueryPlanner) -> None:
    plan = plan_of(
        planner,
        '{ nodes(ids: ["1", "r1"]) { ... on User { reviewCount } ... on Review { body } } }',
    )
    assert outline(plan.node) == ["Sequence", "Fetch search", "Flatten nodes.@ -> reviews"]
    assert [f.type_condition for f in fetch_to(plan, "reviews").requires] == ["User", "Review"]


def test_composite_nested_key(planner: QueryPlanner) -> None:
    plan = plan_of(planner, "{ topProducts { seller { rating } } }")
    assert "seller { __typename market { code } number }" in fetch_to(plan, "products").operation


def test_skip_and_include_stay_in_subgraph_operations_with_their_variables(
    planner: QueryPlanner,
) -> None:
    plan = plan_of(
        planner,
        "query Q($s: Boolean!, $i: Boolean!) { topProducts { "
        "name @skip(if: $s) ... @include(if: $i) { inStock } } }",
    )
    products = fetch_to(plan, "products")
    assert products.variable_usages == ("s", "i")
    assert "name @skip(if: $s)" in products.operation
    inventory = fetch_to(plan, "inventory")
    assert inventory.variable_usages == ("i",)
    assert "... @include(if: $i) { inStock }" in inventory.operation


def test_an_alias_that_shadows_a_key_field_makes_the_key_use_an_internal_alias(
    planner: QueryPlanner,
) -> None:
    plan = plan_of(planner, "{ topProducts { upc: name reviews { body } } }")
    products = fetch_to(plan, "products")
    assert products.operation == ("query { topProducts { upc: name __typename __gw_upc: upc } }")
    [fragment] = fetch_to(plan, "reviews").requires
    assert [(f.alias, f.name) for f in fragment.selections] == [  # type: ignore[union-attr]
        (None, "__typename"),
        ("__gw_upc", "upc"),
    ]


def test_mutation_fields_run_in_order_in_same_subgraph_chunks(planner: QueryPlanner) -> None:
    plan = plan_of(
        planner,
        'mutation { a: renameUser(id: "1", name: "A") { id } '
        'b: renameUser(id: "2", name: "B") { id } '
        'c: addReview(upc: "1", authorId: "1", body: "x") { id } '
        'd: renameUser(id: "3", name: "C") { id } }',
    )
    assert outline(plan.node) == ["Sequence", "Fetch accounts", "Fetch reviews", "Fetch accounts"]
    first = plan.fetches()[0]
    assert first.operation_kind == "mutation"
    assert first.response_keys == ("a", "b")


def test_root_fields_are_grouped_per_subgraph(planner: QueryPlanner) -> None:
    plan = plan_of(planner, '{ me { id } users { id } topProducts { upc } user(id: "2") { id } }')
    assert outline(plan.node) == ["Parallel", "Fetch accounts", "Fetch products"]


def test_plans_are_cached_by_document_and_operation_name() -> None:
    planner = QueryPlanner(load_supergraph(SUPERGRAPH_SDL))
    document = "query A { me { id } } query B { topProducts { upc } }"
    first = planner.plan(parse(document), "A")
    assert planner.plan(parse(document), "A") is first
    assert planner.plans_built == 1
    planner.plan(parse(document), "B")
    assert planner.plans_built == 2


def test_format_plan_reads_like_apollos(planner: QueryPlanner) -> None:
    text = format_plan(plan_of(planner, "{ topProducts { inStock } }"))
    assert 'Flatten(path: "topProducts.@")' in text
    assert "{ ... on Product { __typename sku } } =>" in text

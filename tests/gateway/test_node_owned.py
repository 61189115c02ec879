"""Plans over the xinfang supergraph: @nodeOwned data is fetched from the node owning the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse

from gateway.planner import FetchNode, QueryPlan, QueryPlanner
from gateway.supergraph import load_supergraph

ROOT = Path(__file__).resolve().parents[2]
SUPERGRAPH = ROOT / "gateway" / "supergraph" / "xinfang.supergraph.graphql"


@pytest.fixture(scope="module")
def planner() -> QueryPlanner:
    return QueryPlanner(load_supergraph(SUPERGRAPH.read_text(encoding="utf-8")))


def fetches(plan: QueryPlan) -> list[tuple[bool, str]]:
    """(is an entity fetch, the selection it sends) per fetch, in plan order."""

    def selection(fetch: FetchNode) -> str:
        return fetch.operation.split("{", 1)[1]

    return [(f.is_entity_fetch, selection(f)) for f in plan.fetches()]


def test_reads_the_node_owned_fields_from_the_supergraph(planner: QueryPlanner) -> None:
    owned = planner.ownership.fields
    assert {("Jurisdiction", "stats"), ("Jurisdiction", "cases"), ("Case", "status")} <= owned
    assert ("Case", "id") not in owned  # the key travels with the reference
    assert ("Jurisdiction", "children") not in owned


def test_a_node_named_by_the_root_field_answers_its_own_figures(planner: QueryPlanner) -> None:
    plan = planner.plan(parse('{ jurisdiction(code: "530102") { name stats { backlog } } }'))
    assert [entity for entity, _ in fetches(plan)] == [False]


def test_figures_of_children_are_fetched_from_each_child(planner: QueryPlanner) -> None:
    query = '{ jurisdiction(code: "53") { stats { backlog } children { code stats { backlog } } } }'
    [root, children] = fetches(planner.plan(parse(query)))
    assert root[0] is False
    assert "children { code __typename }" in root[1]
    assert children[0] is True
    assert "... on Jurisdiction { stats { backlog } }" in children[1]


def test_a_case_listed_by_its_owner_reads_its_fields_from_the_owner(
    planner: QueryPlanner,
) -> None:
    query = """{ jurisdiction(code: "530102") {
      cases(first: 3) { edges { node { id status issueLocality { code stats { backlog } } } } }
    } }"""
    steps = fetches(planner.plan(parse(query)))
    assert [entity for entity, _ in steps] == [False, True, True]
    assert "... on Case { status issueLocality { code __typename } }" in steps[1][1]
    assert "... on Jurisdiction { stats { backlog } }" in steps[2][1]


def test_root_fields_naming_different_nodes_are_different_fetches(
    planner: QueryPlanner,
) -> None:
    query = """query($id: ID!) {
      a: jurisdiction(code: "530102") { name }
      b: jurisdiction(code: "530103") { name }
      c: case(id: $id) { status }
      d: jurisdiction(code: "530102") { stats { backlog } }
    }"""
    steps = fetches(planner.plan(parse(query)))
    assert len(steps) == 3
    assert not any(entity for entity, _ in steps)
    assert any("a: jurisdiction" in s and "d: jurisdiction" in s for _, s in steps)


def test_reviews_and_supervision_orders_are_node_owned(planner: QueryPlanner) -> None:
    owned = planner.ownership.fields
    assert {("Review", "status"), ("Review", "caseOwner")} <= owned
    assert {("SupervisionOrder", "replyText"), ("SupervisionOrder", "issuer")} <= owned
    assert ("Review", "id") not in owned
    assert ("SupervisionOrder", "id") not in owned


def test_a_review_named_by_its_id_is_read_where_the_root_field_is_routed(
    planner: QueryPlanner,
) -> None:
    plan = planner.plan(parse('{ review(id: "5301-RV-2025-000001") { status decidedAt } }'))
    assert [entity for entity, _ in fetches(plan)] == [False]


def test_an_order_listed_by_the_case_owner_is_read_from_the_issuing_node(
    planner: QueryPlanner,
) -> None:
    query = "{ supervisionOrdersReceived { id status replyText issuer { code } } }"
    steps = fetches(planner.plan(parse(query)))
    assert [entity for entity, _ in steps] == [False, True]
    assert "... on SupervisionOrder { status replyText issuer { code } }" in steps[1][1]


def test_a_review_opened_for_a_case_is_read_back_from_the_reviewing_node(
    planner: QueryPlanner,
) -> None:
    query = 'mutation { openReview(caseId: "530102-2025-000001", reason: "r") { id status } }'
    steps = fetches(planner.plan(parse(query)))
    assert [entity for entity, _ in steps] == [False, True]
    assert "... on Review { status }" in steps[1][1]

"""KeyRouter: representations grouped per service URL of their owners; root fields by node."""

from __future__ import annotations

from gateway.fetch import RootField, root_fields_of
from gateway.routing import KeyRouter
from shared.divisions import Tier
from shared.registry import NodeRegistry

REGISTRY = NodeRegistry(
    tiers={Tier.COUNTY: "http://counties:8000", Tier.TOWNSHIP: "http://townships:8000/"},
    nodes={"530103": "http://panlong:8001"},
)
FALLBACK = {"county": "http://static/tiers/county/graphql"}
ROUTER = KeyRouter(REGISTRY, FALLBACK, node_timeouts={"530103": 2.5})


def test_one_call_per_service_url_labelled_with_its_jurisdictions() -> None:
    batches = ROUTER.route_entities(
        "county",
        [
            {"__typename": "Jurisdiction", "code": "530102"},
            {"__typename": "Case", "id": "530103-2025-000001"},
            {"__typename": "Case", "id": "530102001-2025-000004"},
            {"__typename": "Case", "id": "530111-2025-000002"},
            {"__typename": "Jurisdiction", "code": "530103"},
            {"__typename": "Jurisdiction", "code": "530102001"},
        ],
    )
    assert [(b.url, b.positions, b.labels, b.timeout) for b in batches] == [
        ("http://counties:8000/tiers/county/graphql", (0, 3), ("530102", "530111"), None),
        ("http://panlong:8001/tiers/county/graphql", (1, 4), ("530103",), 2.5),
        ("http://townships:8000/tiers/township/graphql", (2, 5), ("530102001",), None),
    ]


def test_keys_that_name_no_known_node_go_to_the_subgraph_url() -> None:
    [batch] = ROUTER.route_entities(
        "county",
        [
            {"__typename": "Case", "id": "not-a-case"},
            {"__typename": "Jurisdiction", "code": "53"},  # no province service registered
        ],
    )
    assert (batch.url, batch.positions, batch.labels) == (FALLBACK["county"], (0, 1), ("53",))


def test_a_root_field_naming_a_node_goes_to_that_node() -> None:
    query = 'query($id: ID!) { a: case(id: $id) { id } b: case(id: "530103-2025-000009") { id } }'
    fields = root_fields_of(query, {"id": "530103-2025-000001"})
    assert fields == (
        RootField("case", {"id": "530103-2025-000001"}),
        RootField("case", {"id": "530103-2025-000009"}),
    )
    batch = ROUTER.route_root("county", fields)
    assert (batch.url, batch.labels) == ("http://panlong:8001/nodes/530103/graphql", ("530103",))
    by_code = ROUTER.route_root("county", [RootField("jurisdiction", {"code": "530102"})])
    assert by_code.url == "http://counties:8000/nodes/530102/graphql"


def test_the_escalation_trail_goes_to_the_province_of_the_case() -> None:
    router = KeyRouter(
        NodeRegistry(tiers={Tier.PROVINCE: "http://province:8000", **REGISTRY.tiers}),
        {"province": "http://static/tiers/province/graphql"},
    )
    fields = root_fields_of(
        "query($c: ID!) { escalationTrail(caseId: $c) { action } }",
        {"c": "530102001-2025-000001"},
    )
    batch = router.route_root("province", fields)
    assert (batch.url, batch.labels) == ("http://province:8000/nodes/53/graphql", ("53",))
    unnamed = router.route_root("province", [RootField("escalationTrail", {"caseId": "x"})])
    assert unnamed.url == "http://static/tiers/province/graphql"


def test_root_fields_naming_no_node_or_several_go_to_the_subgraph_url() -> None:
    for fields in (
        [RootField("node", {})],
        [RootField("jurisdiction", {"code": "530102"}), RootField("node", {})],
        [RootField("jurisdiction", {"code": "530102"}), RootField("case", {"id": "530103-1"})],
    ):
        assert ROUTER.route_root("county", fields).url == FALLBACK["county"]


def test_reviews_and_orders_go_to_the_node_that_holds_them() -> None:
    batches = ROUTER.route_entities(
        "county",
        [
            {"__typename": "Review", "id": "530103-RV-2025-000001"},  # held by 盘龙区
            {"__typename": "SupervisionOrder", "id": "530102-SO-2025-000002"},
        ],
    )
    assert [(b.url, b.positions, b.labels) for b in batches] == [
        ("http://panlong:8001/tiers/county/graphql", (0,), ("530103",)),
        ("http://counties:8000/tiers/county/graphql", (1,), ("530102",)),
    ]

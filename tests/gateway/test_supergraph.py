"""Reading the composed supergraph: the API schema clients see, and the join metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import print_schema

from gateway.supergraph import Supergraph, SupergraphError, load_supergraph
from tests.gateway.conftest import SUPERGRAPH_SDL
from tests.gateway.fixtures.dump_sdl import SUBGRAPH_DIR, subgraph_sdls


@pytest.fixture(scope="module")
def supergraph() -> Supergraph:
    return load_supergraph(SUPERGRAPH_SDL)


def test_committed_subgraph_sdls_match_the_demo_subgraphs() -> None:
    # The supergraph fixture was composed from these files (fixtures/compose.mjs).
    for name, sdl in subgraph_sdls().items():
        assert (SUBGRAPH_DIR / f"{name}.graphql").read_text() == sdl, name


def test_api_schema_hides_the_join_machinery_and_inaccessible_elements(
    supergraph: Supergraph,
) -> None:
    printed = print_schema(supergraph.api_schema)
    for hidden in ("join__", "link__", "@link", "@inaccessible", "internalNote", "_Entity"):
        assert hidden not in printed
    user = supergraph.api_schema.get_type("User")
    assert user is not None
    assert [i.name for i in user.interfaces] == ["Node"]  # type: ignore[attr-defined]


def test_subgraph_names_and_urls_come_from_the_graph_enum(supergraph: Supergraph) -> None:
    assert supergraph.subgraph_urls() == {
        name: f"http://{name}.invalid/graphql"
        for name in ("accounts", "inventory", "products", "reviews", "search")
    }


def test_keys_per_subgraph_including_composite_and_unresolvable(supergraph: Supergraph) -> None:
    product = supergraph.types["Product"]
    assert [k.fields for k in product.keys_in("products")] == ["upc", "sku"]
    assert [k.fields for k in product.keys_in("inventory")] == ["sku"]
    assert product.keys_in("search") == ()
    assert [k.fields for k in product.keys_in("search", resolvable_only=False)] == ["upc"]
    seller = supergraph.types["Seller"]
    assert [k.fields for k in seller.keys_in("reviews")] == ["market { code } number"]


def test_field_resolvability_accounts_for_external_override_and_requires(
    supergraph: Supergraph,
) -> None:
    price = supergraph.field("Product", "price")
    assert price.resolvable_in == {"products"}
    assert price.external_in == {"inventory"}
    assert supergraph.field("User", "reviewCount").resolvable_in == {"reviews"}
    estimate = supergraph.field("Product", "shippingEstimate")
    assert [f.name.value for f in estimate.requires["inventory"].selections] == [  # type: ignore[attr-defined]
        "price",
        "weight",
    ]
    assert "reviews" in supergraph.field("Review", "author").provides
    assert supergraph.field("Product", "name").resolvable_in == {"products", "search"}
    # No @join__field: every subgraph that defines the type resolves it.
    assert supergraph.field("User", "id").resolvable_in == {"accounts", "reviews", "search"}


def test_abstract_members_per_subgraph(supergraph: Supergraph) -> None:
    assert supergraph.runtime_types_in("search", "SearchResult") == ("User", "Product")
    assert set(supergraph.runtime_types_in("search", "Node")) == {"User", "Review"}


def test_rejects_a_schema_that_is_not_a_supergraph() -> None:
    with pytest.raises(SupergraphError):
        load_supergraph("type Query { hello: String }")


def test_fixture_is_a_composer_output() -> None:
    text = (Path(__file__).parent / "fixtures" / "demo.supergraph.graphql").read_text()
    assert "https://specs.apollo.dev/join/v0.4" in text

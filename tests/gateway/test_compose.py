"""`xinfang compose`: committed tier SDLs, the composed supergraph, and the gateway serving it."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.compose import (
    SUPERGRAPH_DIR,
    SUPERGRAPH_FILE,
    CompositionFailed,
    Subgraph,
    compose_supergraph,
    composed_files,
    stale_files,
    tier_subgraphs,
)
from gateway.server import create_gateway_app
from gateway.supergraph import load_supergraph
from shared.divisions import Tier
from shared.graphql.app import create_service_app
from shared.holidays import default_calendar
from shared.service import TierService
from tests.conftest import NODE_OF_TIER, SECRET
from tests.gateway.servers import serving
from tests.identity import ActAs, suite_verifier

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])'


def test_committed_tier_sdls_and_supergraph_are_current() -> None:
    files = composed_files()
    assert set(files) == {
        *(SUPERGRAPH_DIR / f"{tier.value.lower()}.graphql" for tier in Tier),
        SUPERGRAPH_FILE,
    }
    assert stale_files(files) == [], "run `xinfang compose` and commit gateway/supergraph/"


def test_a_changed_file_counts_as_stale() -> None:
    files = composed_files()
    changed = {path: content + "# edited\n" for path, content in files.items()}
    assert sorted(stale_files(changed)) == sorted(files)


def test_every_tier_subgraph_prints_what_its_service_serves() -> None:
    for subgraph in tier_subgraphs():
        schema = importlib.import_module(f"{subgraph.name}.schema").schema
        served = schema.execute_sync("{ _service { sdl } }")
        assert served.errors is None
        assert served.data is not None
        assert served.data["_service"]["sdl"].rstrip("\n") == subgraph.sdl.rstrip("\n")
        assert '@link(url: "https://specs.apollo.dev/federation/v2.9"' in subgraph.sdl


def test_the_supergraph_names_every_tier_with_its_service_url() -> None:
    supergraph = load_supergraph(SUPERGRAPH_FILE.read_text(encoding="utf-8"))
    assert supergraph.subgraph_urls() == {
        tier.value.lower(): f"http://xinfang-{tier.value.lower()}/tiers/{tier.value.lower()}/graphql"
        for tier in Tier
    }


def test_composition_errors_carry_the_composers_codes() -> None:
    first = Subgraph("a", "http://a", f"{LINK}\ntype Query {{ total: Int }}")
    second = Subgraph("b", "http://b", f"{LINK}\ntype Query {{ total: Int }}")
    with pytest.raises(CompositionFailed) as failed:
        compose_supergraph([first, second])
    assert any(
        e.startswith("INVALID_FIELD_SHARING") and "Query.total" in e for e in failed.value.errors
    )


def test_a_subgraph_that_does_not_parse_is_a_composition_failure() -> None:
    broken = Subgraph("a", "http://a", f"{LINK}\ntype Query {{ total: Int")
    with pytest.raises(CompositionFailed) as failed:
        compose_supergraph([broken])
    assert failed.value.errors
    assert failed.value.errors[0].startswith("PARSE_ERROR")


@pytest.fixture
async def one_node_per_tier(clean_engine: AsyncEngine) -> AsyncIterator[str]:
    calendar = default_calendar()
    parts = []
    for tier in Tier:
        schema = importlib.import_module(f"{tier.value.lower()}.schema").schema
        service = TierService(
            tier=tier, engine=clean_engine, calendar=calendar, person_key_secret=SECRET
        )
        service.host([NODE_OF_TIER[tier.value.lower()]])
        parts.append((service, schema))
    app = create_service_app(parts, on_shutdown_dispose=False, relay=False)
    async with serving(app) as base:
        yield base


async def test_the_gateway_serves_the_composed_supergraph_over_the_tier_subgraphs(
    one_node_per_tier: str,
) -> None:
    urls = {
        tier.value.lower(): f"{one_node_per_tier}/nodes/{NODE_OF_TIER[tier.value.lower()]}/graphql"
        for tier in Tier
    }
    app = create_gateway_app(
        SUPERGRAPH_FILE.read_text(encoding="utf-8"), verifier=suite_verifier(), subgraph_urls=urls
    )
    query = """
      query Line($code: ID!) {
        jurisdiction(code: $code) {
          code name tier
          parent { code name parent { code name } }
          children { code }
        }
      }
    """
    async with serving(app) as gateway, httpx.AsyncClient(auth=ActAs()) as client:
        answer = await client.post(
            f"{gateway}/graphql", json={"query": query, "variables": {"code": "530102"}}
        )
    assert answer.status_code == 200
    body = answer.json()
    assert "errors" not in body
    found = body["data"]["jurisdiction"]
    assert found["name"] == "五华区"
    assert found["tier"] == "COUNTY"
    assert found["parent"] == {
        "code": "5301",
        "name": "昆明市",
        "parent": {"code": "53", "name": "云南省"},
    }
    assert {"code": "530102001"} in found["children"]

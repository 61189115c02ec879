"""Each tier's own root fields through the composed supergraph: the gateway plans a field only
one tier serves to that tier's subgraph."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.compose import SUPERGRAPH_FILE
from gateway.server import create_gateway_app
from shared.divisions import Tier
from shared.graphql.app import create_service_app
from shared.holidays import default_calendar
from shared.service import TierService
from tests.conftest import NODE_OF_TIER, SECRET
from tests.gateway.servers import serving
from tests.identity import ActAs, suite_verifier


@pytest.fixture
async def gateway(clean_engine: AsyncEngine) -> AsyncIterator[str]:
    parts = []
    for tier in Tier:
        schema = importlib.import_module(f"{tier.value.lower()}.schema").schema
        service = TierService(
            tier=tier, engine=clean_engine, calendar=default_calendar(), person_key_secret=SECRET
        )
        service.host([NODE_OF_TIER[tier.value.lower()]])
        parts.append((service, schema))
    app = create_service_app(parts, on_shutdown_dispose=False, relay=False)
    async with serving(app) as base:
        urls = {
            tier.value.lower(): f"{base}/nodes/{NODE_OF_TIER[tier.value.lower()]}/graphql"
            for tier in Tier
        }
        gateway_app = create_gateway_app(
            SUPERGRAPH_FILE.read_text(encoding="utf-8"),
            verifier=suite_verifier(),
            subgraph_urls=urls,
        )
        async with serving(gateway_app) as url:
            yield url


async def test_township_and_province_roles_are_answered_by_their_own_subgraphs(
    gateway: str,
) -> None:
    query = """{
      fastTrackFigures { kind limitDays cases }
      mediationFigures { mediations resolutionRate }
      leaderOwnedCases { caseId }
      assessmentRanking(tier: COUNTY, by: BACKLOG, period: {from: "2025-03-01", to: "2025-03-31"})
        { tier units { rank } }
    }"""
    async with httpx.AsyncClient(auth=ActAs()) as client:
        answer = await client.post(f"{gateway}/graphql", json={"query": query})
    body = answer.json()
    assert "errors" not in body, body
    data = body["data"]
    assert [(s["kind"], s["limitDays"]) for s in data["fastTrackFigures"]] == [
        ("FAST_TRACK_MEETING", 5),
        ("FAST_TRACK_FACTS", 7),
        ("FAST_TRACK_REPLY", 15),
    ]
    assert data["mediationFigures"] == {"mediations": 0, "resolutionRate": None}
    assert data["leaderOwnedCases"] == []
    assert data["assessmentRanking"] == {"tier": "COUNTY", "units": []}

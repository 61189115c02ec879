from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from tests.conftest import TOWNSHIP, GraphQLClient
from tests.roles import ok, petition, tier_client

CASE = "id status channel deadlines { kind due metAt metOnTime overdue } events { action text }"


@pytest.fixture
async def town(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[GraphQLClient]:
    async with tier_client(clean_engine, clock, TOWNSHIP) as gql:
        yield gql


async def register_at_centre(
    gql: GraphQLClient, key: str, window: str = "PETITION_RECEPTION", **overrides: Any
) -> dict[str, Any]:
    result = await gql(
        f"mutation($i: RegisterPetitionInput!, $w: ReceivingWindow!, $k: String!) "
        f"{{ registerAtGovernanceCenter(input: $i, window: $w, idempotencyKey: $k) {{ {CASE} }} }}",
        {"i": petition(TOWNSHIP, **overrides), "w": window, "k": key},
    )
    case: dict[str, Any] = ok(result, "registerAtGovernanceCenter")
    return case


async def act(gql: GraphQLClient, name: str, case_id: str, **args: Any) -> dict[str, Any]:
    types = {"text": "String!", "reason": "String!", "outcome": "ReplyOutcome!"}
    params = "".join(f", ${k}: {types[k]}" for k in args)
    passed = "".join(f", {k}: ${k}" for k in args)
    return await gql(
        f"mutation($id: ID!{params}) {{ {name}(id: $id{passed}) {{ {CASE} }} }}",
        {"id": case_id, **args},
    )

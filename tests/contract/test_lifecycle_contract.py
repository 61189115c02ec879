"""One lifecycle contract, run against every tier service (province, city, county, township).

Each tier is a thin layer over the shared case engine; whatever a tier adds, a petition
registered at any node follows the same rules, deadlines and error codes.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from shared.casework import FixedClock
from shared.holidays import default_calendar
from shared.validation import id_check_char
from tests.conftest import NODE_OF_TIER, SECRET, TEST_NODES, GraphQLClient
from tests.identity import ActAs

DAY = timedelta(days=1)
TIERS = ["province", "city", "county", "township"]
CASE = """id status version owner { code tier } issueLocality { code }
          deadlines { kind due metOnTime overdue } events { seq action fromStatus toStatus }"""


def tier_app_factory(tier: str) -> Callable[..., Starlette]:
    factory: Callable[..., Starlette] = getattr(
        importlib.import_module(f"{tier}.app"), f"create_{tier}_app"
    )
    return factory


@pytest.fixture(params=TIERS)
def tier(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def node_gql(
    tier: str, clean_engine: AsyncEngine, clock: FixedClock
) -> AsyncIterator[GraphQLClient]:
    code = NODE_OF_TIER[tier]
    nodes = [c for c in TEST_NODES if len(c) == len(code)]
    app = tier_app_factory(tier)(
        clean_engine, nodes, calendar=default_calendar(), person_key_secret=SECRET, clock=clock
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://{tier}.test", auth=ActAs()
    ) as http:
        yield GraphQLClient(http, node=code)


def person(seq: int) -> str:
    first17 = f"53010219800101{seq:03d}"
    return first17 + id_check_char(first17)


async def register(gql: GraphQLClient, key: str, **overrides: Any) -> dict[str, Any]:
    petition = {
        "channel": "VISIT",
        "category": "劳动社保",
        "summary": "反映企业拖欠工资",
        "issueLocality": gql.node,
        "petitionerName": "李四",
        "petitionerIdNumber": person(1),
        "petitionerPhone": "13987654321",
        **overrides,
    }
    result = await gql(
        f"mutation($i: RegisterPetitionInput!, $k: String!) "
        f"{{ registerPetition(input: $i, idempotencyKey: $k) {{ {CASE} }} }}",
        {"i": petition, "k": key},
    )
    assert "errors" not in result, result
    case: dict[str, Any] = result["data"]["registerPetition"]
    return case


async def act(gql: GraphQLClient, mutation: str, case_id: str, **args: Any) -> dict[str, Any]:
    types = {"days": "Int!", "outcome": "ReplyOutcome!", "rating": "Satisfaction!"}
    if mutation in ("recordReviewDecision", "recordFinalReviewDecision"):
        types["outcome"] = "ReviewOutcome!"
    params = "".join(f", ${k}: {types.get(k, 'String!')}" for k in args)
    passed = "".join(f", {k}: ${k}" for k in args)
    result = await gql(
        f"mutation($id: ID!{params}) {{ {mutation}(id: $id{passed}) {{ {CASE} }} }}",
        {"id": case_id, **args},
    )
    return result


async def act_ok(gql: GraphQLClient, mutation: str, case_id: str, **args: Any) -> dict[str, Any]:
    result = await act(gql, mutation, case_id, **args)
    assert "errors" not in result, result
    case: dict[str, Any] = result["data"][mutation]
    return case


def code_of(result: dict[str, Any]) -> str:
    code: str = result["errors"][0]["extensions"]["code"]
    return code


async def test_every_tier_registers_with_an_id_of_its_own_node(
    tier: str, node_gql: GraphQLClient
) -> None:
    case = await register(node_gql, "contract-register")
    assert case["id"] == f"{node_gql.node}-2025-000001"
    assert case["owner"] == {"code": node_gql.node, "tier": tier.upper()}
    assert case["status"] == "REGISTERED"
    assert [d["kind"] for d in case["deadlines"]] == ["ACCEPTANCE"]
    again = await register(node_gql, "contract-register")
    assert again["id"] == case["id"]


async def test_every_tier_carries_a_case_from_acceptance_to_closure(
    node_gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = (await register(node_gql, "contract-flow"))["id"]
    clock.advance(2 * DAY)
    await act_ok(node_gql, "acceptCase", case_id)
    await act_ok(node_gql, "beginHandling", case_id)
    clock.advance(50 * DAY)
    extended = await act_ok(node_gql, "extendHandling", case_id, days=30, reason="案情复杂")
    handling = {d["kind"]: d for d in extended["deadlines"]}["HANDLING"]
    assert handling["due"] == "2025-06-03T16:00:00+00:00"  # day 90 after 5 March: 3 June
    clock.advance(20 * DAY)
    await act_ok(node_gql, "replyCase", case_id, outcome="SUPPORTED", text="予以支持")
    await act_ok(node_gql, "rateSatisfaction", case_id, rating="SATISFIED")
    closed = await act_ok(node_gql, "closeCase", case_id)
    assert closed["status"] == "CLOSED"
    assert [e["action"] for e in closed["events"]] == [
        "REGISTER",
        "ACCEPT",
        "BEGIN_HANDLING",
        "EXTEND_HANDLING",
        "REPLY",
        "RATE_SATISFACTION",
        "CLOSE",
    ]
    assert all(d["metOnTime"] is not False for d in closed["deadlines"])


async def test_every_tier_refuses_the_same_matter_after_final_review(
    node_gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = (await register(node_gql, "contract-final"))["id"]
    await act_ok(node_gql, "acceptCase", case_id)
    clock.advance(10 * DAY)
    await act_ok(node_gql, "replyCase", case_id, outcome="NOT_SUPPORTED", text="不予支持")
    clock.advance(5 * DAY)
    await act_ok(node_gql, "requestReview", case_id, reason="不服")
    clock.advance(20 * DAY)
    await act_ok(node_gql, "recordReviewDecision", case_id, outcome="UPHELD", text="维持")
    clock.advance(5 * DAY)
    await act_ok(node_gql, "requestFinalReview", case_id, reason="仍不服")
    clock.advance(20 * DAY)
    final = await act_ok(
        node_gql, "recordFinalReviewDecision", case_id, outcome="UPHELD", text="维持"
    )
    assert final["status"] == "CLOSED"
    clock.advance(DAY)
    result = await node_gql(
        "mutation($i: RegisterPetitionInput!) { registerPetition(input: $i, "
        'idempotencyKey: "contract-final-again") { id status refusalCode repeatOfId } }',
        {
            "i": {
                "channel": "LETTER",
                "category": "劳动社保",
                "summary": "再次反映拖欠工资",
                "issueLocality": node_gql.node,
                "petitionerName": "李四",
                "petitionerIdNumber": person(1),
            }
        },
    )
    refused = result["data"]["registerPetition"]
    assert (refused["status"], refused["refusalCode"], refused["repeatOfId"]) == (
        "NOT_ACCEPTED",
        "NO_REACCEPTANCE",
        case_id,
    )


async def test_every_tier_refuses_an_illegal_step_with_the_same_codes(
    node_gql: GraphQLClient, clock: FixedClock
) -> None:
    case_id = (await register(node_gql, "contract-refusals"))["id"]
    assert code_of(await act(node_gql, "replyCase", case_id, outcome="SUPPORTED", text="x")) == (
        "INVALID_TRANSITION"
    )
    await act_ok(node_gql, "acceptCase", case_id)
    assert code_of(await act(node_gql, "extendHandling", case_id, days=31, reason="r")) == (
        "BAD_USER_INPUT"
    )
    clock.advance(70 * DAY)  # day 60 falls in the May Day holiday; the period ends 6 May
    assert code_of(await act(node_gql, "extendHandling", case_id, days=10, reason="r")) == (
        "DEADLINE_PASSED"
    )
    stats = await node_gql("{ stats { eventCount overdue backlog } }")
    assert stats["data"]["stats"] == {"eventCount": 1, "overdue": 1, "backlog": 1}

"""Query strings and small helpers shared by the county API tests."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.migrate import schema_for
from shared.validation import id_check_char
from tests.conftest import COUNTY, GraphQLClient
from tests.identity import handler

# -- identities ------------------------------------------------------------------------------


def resident_id(first17: str) -> str:
    """A resident ID number with its correct check character."""
    return first17 + id_check_char(first17)


PERSON_A = "11010519491231002X"  # the GB 11643 example: 18 characters
PERSON_A_LEGACY = "110105491231002"  # the same person on a first-generation card
PERSON_B = resident_id("53010219800101123")
PERSON_C = resident_id("53010319751212456")

# -- query strings ---------------------------------------------------------------------------

CASE_FIELDS = """
  id status version overdue final category channel personCount outcome rating reviewOutcome
  repeatOf { id }
  routedTo { code }
  receivedFrom { code }
  events { seq action fromStatus toStatus actor reason text at }
  deadlines { kind startedAt due metAt extraDays binds overdue metOnTime }
"""

REGISTER = f"""
mutation Register($input: RegisterPetitionInput!, $key: String!) {{
  registerPetition(input: $input, idempotencyKey: $key) {{ {CASE_FIELDS} }}
}}
"""

CASE = f"query Case($id: ID!) {{ case(id: $id) {{ {CASE_FIELDS} }} }}"

# Argument types of every lifecycle mutation (besides `id: ID!`).
MUTATION_ARGS: dict[str, dict[str, str]] = {
    "transferCase": {"to": "ID!", "reason": "String!"},
    "assignCase": {"to": "ID!", "due": "Date!", "note": "String"},
    "redirectCase": {"legalChannel": "LegalChannel!", "reason": "String!"},
    "notAcceptCase": {"reason": "String!"},
    "raiseCompetenceObjection": {"reason": "String!"},
    "acceptCase": {"notifiedOnSpot": "Boolean"},
    "recordCompletionReport": {"text": "String!"},
    "startMediation": {},
    "settleByMediation": {"text": "String!"},
    "endMediation": {"reason": "String!"},
    "beginHandling": {},
    "extendHandling": {"days": "Int!", "reason": "String!"},
    "replyCase": {"outcome": "ReplyOutcome!", "text": "String!"},
    "recordDelivery": {"deliveredAt": "DateTime!"},
    "rateSatisfaction": {"rating": "Satisfaction!"},
    "requestReview": {"reason": "String!"},
    "recordReviewDecision": {"outcome": "ReviewOutcome!", "text": "String!"},
    "requestFinalReview": {"reason": "String!"},
    "recordHearing": {"days": "Int!"},
    "recordFinalReviewDecision": {"outcome": "ReviewOutcome!", "text": "String!"},
    "closeCase": {"counselling": "String"},
}


def mutation(name: str) -> str:
    """The query text of one lifecycle mutation, every argument a variable."""
    args = MUTATION_ARGS[name]
    definitions = "".join(f", ${arg}: {kind}" for arg, kind in args.items())
    passed = "".join(f", {arg}: ${arg}" for arg in args)
    return f"mutation Act($id: ID!{definitions}) {{ {name}(id: $id{passed}) {{ {CASE_FIELDS} }} }}"


# -- requests --------------------------------------------------------------------------------

_keys = itertools.count(1)


def new_key() -> str:
    return f"test-key-{next(_keys):08d}"


def petition(**overrides: Any) -> dict[str, Any]:
    """A valid RegisterPetitionInput; keyword arguments replace or add fields."""
    value: dict[str, Any] = {
        "channel": "VISIT",
        "category": "土地征收",
        "summary": "征地补偿款未按时发放",
        "issueLocality": "530102001",
        "petitionerName": "张三",
        "petitionerIdNumber": PERSON_A,
        "petitionerPhone": "13912345678",
        "petitionerAddress": "昆明市五华区华山街道1号",
    }
    value.update(overrides)
    return value


async def post(
    gql: GraphQLClient, query: str, variables: dict[str, Any] | None = None, *, actor: str | None
) -> dict[str, Any]:
    """Like ``gql(...)`` but sent as ``actor``: a handler of the node of that subject."""
    headers = handler(gql.node, actor).headers() if actor else {}
    response = await gql.http.post(
        f"/nodes/{gql.node}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data_of(result: dict[str, Any], name: str) -> dict[str, Any]:
    assert not result.get("errors"), result.get("errors")
    value: dict[str, Any] = result["data"][name]
    return value


def error_of(result: dict[str, Any]) -> dict[str, Any]:
    """The one error of a refused request."""
    errors = result.get("errors")
    assert errors, f"expected an error, got {result}"
    assert len(errors) == 1, errors
    error: dict[str, Any] = errors[0]
    return error


def code_of(result: dict[str, Any]) -> str:
    code: str = error_of(result)["extensions"]["code"]
    return code


async def register(
    gql: GraphQLClient, key: str | None = None, *, actor: str | None = None, **overrides: Any
) -> dict[str, Any]:
    result = await post(
        gql, REGISTER, {"input": petition(**overrides), "key": key or new_key()}, actor=actor
    )
    return data_of(result, "registerPetition")


async def act(
    gql: GraphQLClient, name: str, case_id: str, *, actor: str | None = None, **args: Any
) -> dict[str, Any]:
    """Run one lifecycle mutation; the raw GraphQL response."""
    return await post(gql, mutation(name), {"id": case_id, **args}, actor=actor)


async def act_ok(
    gql: GraphQLClient, name: str, case_id: str, *, actor: str | None = None, **args: Any
) -> dict[str, Any]:
    """Run one lifecycle mutation that must succeed; the case it returns."""
    return data_of(await act(gql, name, case_id, actor=actor, **args), name)


async def find_case(gql: GraphQLClient, case_id: str) -> dict[str, Any] | None:
    result = await gql(CASE, {"id": case_id})
    assert not result.get("errors"), result
    found: dict[str, Any] | None = result["data"]["case"]
    return found


async def read_case(gql: GraphQLClient, case_id: str) -> dict[str, Any]:
    found = await find_case(gql, case_id)
    assert found is not None, f"no case {case_id}"
    return found


def deadlines_of(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    by_kind = {d["kind"]: d for d in case["deadlines"]}
    assert len(by_kind) == len(case["deadlines"]), "one deadline per kind"
    return by_kind


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


# -- the database ----------------------------------------------------------------------------

TABLES = ("cases", "petitioners", "case_events", "case_deadlines", "case_counters")


async def row_counts(engine: AsyncEngine, code: str = COUNTY) -> dict[str, int]:
    schema = schema_for(code)
    selects = " UNION ALL ".join(
        f"SELECT '{table}', count(*) FROM \"{schema}\".{table}" for table in TABLES
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(text(selects))).all()
    return {str(name): int(count) for name, count in rows}


async def table_snapshot(engine: AsyncEngine, code: str = COUNTY) -> dict[str, list[Any]]:
    """Every row of the node's tables (rows as tuples, sorted): detects updates too."""
    schema = schema_for(code)
    snapshot: dict[str, list[Any]] = {}
    async with engine.connect() as conn:
        for table in TABLES:
            rows = (await conn.execute(text(f'SELECT * FROM "{schema}".{table}'))).all()
            snapshot[table] = sorted((tuple(row) for row in rows), key=repr)
    return snapshot

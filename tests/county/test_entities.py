"""Federation: the subgraph's SDL and `_entities`, which the gateway calls with many keys at
once. Resolving N cases must cost a constant number of SQL statements, not N."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import CaseWork, FixedClock, PetitionInput
from shared.holidays import default_calendar
from shared.lifecycle import Channel
from shared.persistence.repository import NodeDatabase
from shared.validation import id_check_char
from tests.conftest import COUNTY, SECRET, GraphQLClient
from tests.county.helpers import act_ok, register

ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Case { id status events { action } deadlines { kind } }
  }
}
"""

JURISDICTIONS = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Jurisdiction { code name tier parent { code name tier } }
  }
}
"""


async def register_directly(engine: AsyncEngine, clock: FixedClock, count: int) -> list[str]:
    """``count`` petitions through the case engine itself (no HTTP), a few at a time."""
    work = CaseWork(
        NodeDatabase(engine, COUNTY),
        calendar=default_calendar(),
        clock=clock,
        person_key_secret=SECRET,
    )

    async def one(n: int) -> str:
        first17 = f"530102198001{n % 28 + 1:02d}{n % 1000:03d}"
        return await work.register_petition(
            PetitionInput(
                channel=Channel.LETTER if n % 2 else Channel.VISIT,
                category=f"类别{n % 7}",
                summary=f"第{n}件信访事项",
                issue_locality_code="530102001",
                petitioner_name="李四",
                petitioner_id_number=first17 + id_check_char(first17),
            ),
            idempotency_key=f"bulk-{n:06d}",
            actor="loader@530102",
        )

    ids: list[str] = []
    batch = 8
    for start in range(0, count, batch):
        ids += await asyncio.gather(*(one(n) for n in range(start, min(start + batch, count))))
    return ids


@contextmanager
def counted_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def representations(ids: list[str]) -> list[dict[str, str]]:
    return [{"__typename": "Case", "id": case_id} for case_id in ids]


async def test_the_sdl_declares_the_entity_keys_and_federation_v2(gql: GraphQLClient) -> None:
    result = await gql("{ _service { sdl } }")
    assert "errors" not in result, result
    sdl = result["data"]["_service"]["sdl"]
    assert re.search(r'type Case [^{]*@key\(fields: "id"\)', sdl), sdl
    assert re.search(r'type Jurisdiction @key\(fields: "code"\)', sdl), sdl
    link = re.search(r'@link\(url: "https://specs\.apollo\.dev/federation/v2\.(\d+)"', sdl)
    assert link is not None, sdl
    assert int(link.group(1)) >= 0
    assert '"@key"' in sdl
    assert "registerPetition" in sdl


async def test_entities_resolve_a_thousand_cases_in_order_with_a_constant_number_of_queries(
    gql: GraphQLClient, clock: FixedClock, clean_engine: AsyncEngine
) -> None:
    ids = await register_directly(clean_engine, clock, 1000)
    assert len(set(ids)) == 1000
    accepted = ids[7]
    await act_ok(gql, "acceptCase", accepted)

    # Unknown ids of every kind mixed in: missing at this node, another node's, nonsense.
    unknown = ["530102-2025-999999", "530103-2025-000001", "530102-1999-000001", "bogus"]
    keys = list(reversed(ids))
    for position, case_id in zip((0, 10, 500, 1003), unknown, strict=True):
        keys.insert(position, case_id)
    assert len(keys) == 1004

    with counted_statements(clean_engine) as statements:
        result = await gql(ENTITIES, {"representations": representations(keys)})
    assert "errors" not in result, result["errors"][:3]
    entities = result["data"]["_entities"]
    assert len(entities) == len(keys)
    for key, entity in zip(keys, entities, strict=True):
        if key in unknown:
            assert entity is None, key
            continue
        assert entity["__typename"] == "Case"
        assert entity["id"] == key
        if key == accepted:
            assert entity["status"] == "ACCEPTED"
            assert [e["action"] for e in entity["events"]] == ["REGISTER", "ACCEPT"]
            assert {d["kind"] for d in entity["deadlines"]} == {"ACCEPTANCE", "HANDLING"}
        else:
            assert entity["status"] == "REGISTERED"
            assert entity["events"] == [{"action": "REGISTER"}]
            assert entity["deadlines"] == [{"kind": "ACCEPTANCE"}]
    big = len(statements)
    assert 1 <= big <= 4, statements

    with counted_statements(clean_engine) as statements:
        small = await gql(ENTITIES, {"representations": representations(ids[:10])})
    assert "errors" not in small, small
    assert [e["id"] for e in small["data"]["_entities"]] == ids[:10]
    assert len(statements) == big  # the same for 10 keys as for 1,004: constant, not linear


async def test_entities_repeat_the_same_case_without_extra_queries(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    case_id = (await register(gql))["id"]
    with counted_statements(clean_engine) as statements:
        result = await gql(ENTITIES, {"representations": representations([case_id] * 50)})
    assert [e["id"] for e in result["data"]["_entities"]] == [case_id] * 50
    assert len(statements) <= 3


async def test_jurisdiction_entities_resolve_name_tier_and_parent(gql: GraphQLClient) -> None:
    codes = ["530102", "530102001", "5301", "53", "999999"]
    result = await gql(
        JURISDICTIONS,
        {"representations": [{"__typename": "Jurisdiction", "code": c} for c in codes]},
    )
    assert "errors" not in result, result
    assert result["data"]["_entities"] == [
        {
            "code": "530102",
            "name": "五华区",
            "tier": "COUNTY",
            "parent": {"code": "5301", "name": "昆明市", "tier": "CITY"},
        },
        {
            "code": "530102001",
            "name": "华山街道",
            "tier": "TOWNSHIP",
            "parent": {"code": "530102", "name": "五华区", "tier": "COUNTY"},
        },
        {
            "code": "5301",
            "name": "昆明市",
            "tier": "CITY",
            "parent": {"code": "53", "name": "云南省", "tier": "PROVINCE"},
        },
        {"code": "53", "name": "云南省", "tier": "PROVINCE", "parent": None},
        None,
    ]


async def test_case_and_jurisdiction_entities_mix_in_one_request(gql: GraphQLClient) -> None:
    case_id = (await register(gql))["id"]
    result = await gql(
        """
        query($r: [_Any!]!) {
          _entities(representations: $r) {
            ... on Case { id owner { code } issueLocality { code name } }
            ... on Jurisdiction { code tier }
          }
        }
        """,
        {
            "r": [
                {"__typename": "Jurisdiction", "code": "530103"},
                {"__typename": "Case", "id": case_id},
            ]
        },
    )
    assert "errors" not in result, result
    assert result["data"]["_entities"] == [
        {"code": "530103", "tier": "COUNTY"},
        {
            "id": case_id,
            "owner": {"code": "530102"},
            "issueLocality": {"code": "530102001", "name": "华山街道"},
        },
    ]


@pytest.mark.parametrize(
    "representation",
    [
        {"__typename": "Case"},
        {"__typename": "Case", "id": 530102},
        {"__typename": "Nope", "id": "530102-2025-000001"},
    ],
    ids=["missing-key", "key-of-wrong-type", "unknown-type"],
)
async def test_a_malformed_representation_is_bad_user_input_not_an_internal_error(
    gql: GraphQLClient, representation: dict[str, object]
) -> None:
    result = await gql(
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Case { id } } }",
        {"r": [representation]},
    )
    codes = {e["extensions"]["code"] for e in result["errors"]}
    assert codes == {"BAD_USER_INPUT"}, result

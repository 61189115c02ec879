"""A collective visit (集体访) sends at most five representatives (Art. 20)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.migrate import schema_for
from tests.conftest import COUNTY, GraphQLClient
from tests.county.helpers import PERSON_B, new_key, petition, row_counts
from tests.identity import leader

NAMES = "甲乙丙丁戊己"
REGISTER = """mutation($i: RegisterPetitionInput!, $k: String!) {
  registerPetition(input: $i, idempotencyKey: $k) {
    id personCount representatives(purpose: "register the visit") {
      name idNumber phone address masked } } }"""
READ = """query($id: ID!) { case(id: $id) {
    representatives { name idNumber phone address masked } } }"""


def representatives(n: int) -> list[dict[str, str]]:
    return [{"name": f"代表{NAMES[i]}", "phone": f"1390000000{i}"} for i in range(n)]


async def test_a_collective_visit_registers_its_five_representatives_masked_outside_the_node(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    chosen = [{"name": "王五", "idNumber": PERSON_B}, *representatives(4)]
    body = await gql(
        REGISTER, {"i": petition(personCount=40, representatives=chosen), "k": new_key()}
    )
    assert "errors" not in body, body
    case = body["data"]["registerPetition"]
    assert case["personCount"] == 40
    assert case["representatives"][0] == {
        "name": "王五",
        "idNumber": PERSON_B,
        "phone": None,
        "address": None,
        "masked": False,
    }
    seen = await gql(READ, {"id": case["id"]}, user=leader(COUNTY))
    first = seen["data"]["case"]["representatives"][0]
    assert first == {
        "name": "王*",
        "idNumber": PERSON_B[:6] + "********" + PERSON_B[-4:],
        "phone": None,
        "address": None,
        "masked": True,
    }
    assert all(
        r["phone"].endswith("****000" + str(i))
        for i, r in enumerate(seen["data"]["case"]["representatives"][1:])
    )
    async with clean_engine.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    f'SELECT name, person_key IS NOT NULL FROM "{schema_for(COUNTY)}".'
                    "representatives WHERE case_id = :id ORDER BY seq"
                ),
                {"id": case["id"]},
            )
        ).all()
    assert [tuple(row) for row in stored] == [
        ("王五", True),
        *[(f"代表{NAMES[i]}", False) for i in range(4)],
    ]


async def test_a_collective_visit_with_six_representatives_is_refused_and_nothing_is_written(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    before = await row_counts(clean_engine)
    body = await gql(
        REGISTER,
        {"i": petition(personCount=40, representatives=representatives(6)), "k": new_key()},
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {
        "code": "TOO_MANY_REPRESENTATIVES",
        "field": "representatives",
    }
    assert "at most 5" in body["errors"][0]["message"]
    assert await row_counts(clean_engine) == before


async def test_representatives_belong_to_a_visit_of_several_persons(gql: GraphQLClient) -> None:
    for overrides in (
        {"personCount": 1, "representatives": representatives(1)},
        {"personCount": 10, "channel": "LETTER", "representatives": representatives(2)},
        {"personCount": 2, "representatives": representatives(3)},
        {"personCount": 9, "representatives": [{"name": "代表1号"}]},
    ):
        body = await gql(REGISTER, {"i": petition(**overrides), "k": new_key()})
        assert body["errors"][0]["extensions"] == {
            "code": "BAD_USER_INPUT",
            "field": "representatives",
        }

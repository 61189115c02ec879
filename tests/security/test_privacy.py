"""Personal data (issue 6 item 2, ADR 0018): each personal field × each role × each tier, read
through the gateway and directly at the node, is clear, masked or refused as the rules say;
every clear read has its audit entry at the owning node (the count equals the reads); an
accusation's content never reaches the unit it accuses; the database holds no plaintext ID
number (direct SQL).

One service process hosts a line of Yunnan (province, city, county, township) and a sibling
county; the gateway routes by key to it over real HTTP, as in the isolation matrix.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.auth import Role
from shared.divisions import Tier, tier_of
from shared.graphql.app import create_service_app
from shared.holidays import default_calendar
from shared.local_platform import SUPERGRAPH
from shared.persistence.migrate import schema_for
from shared.registry import NodeRegistry
from shared.service import TierService
from shared.validation import id_check_char
from tests.conftest import SECRET, TEST_NODES, empty_nodes
from tests.gateway.servers import serving
from tests.identity import User, suite_verifier

PROVINCE, CITY, COUNTY, TOWNSHIP = "53", "5301", "530102", "530102001"
SIBLING_COUNTY = "530103"
TIERS = {"township": TOWNSHIP, "county": COUNTY, "city": CITY, "province": PROVINCE}
NODES = [PROVINCE, CITY, COUNTY, SIBLING_COUNTY, TOWNSHIP]
PARENT = {TOWNSHIP: COUNTY, COUNTY: CITY, CITY: PROVINCE}
FIELDS = ("name", "idNumber", "phone", "address")
PURPOSE = "回访核实: reply to the petitioner"

REGISTER = """mutation($i: RegisterPetitionInput!, $k: String!) {
  registerPetition(input: $i, idempotencyKey: $k) { id } }"""


def resident_id(code: str, serial: int) -> str:
    body = f"{code[:6].ljust(6, '0')}19800101{serial:03d}"
    return body + id_check_char(body)


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str
    address: str

    def value(self, field: str) -> str:
        return {
            "name": self.name,
            "idNumber": self.id_number,
            "phone": self.phone,
            "address": self.address,
        }[field]


def person_of(code: str, serial: int) -> Person:
    return Person(
        name="欧阳" + "零一二三四五六七八九"[serial % 10] + "明",
        id_number=resident_id("530102", serial),
        phone=f"+861390000{serial:04d}",
        address=f"云南省昆明市五华区华山街道{serial}号院",
    )


MASKED: dict[str, Callable[[Person], str]] = {
    "name": lambda p: p.name[0] + "*" * (len(p.name) - 1),
    "idNumber": lambda p: p.id_number[:6] + "********" + p.id_number[-4:],
    "phone": lambda p: "+86139****" + p.phone[-4:],
    "address": lambda p: "云南省昆明市****",
}


@dataclass
class Platform:
    gateway: str
    base: str
    http: httpx.AsyncClient
    engine: AsyncEngine
    cases: dict[str, str]  # node → its case
    people: dict[str, Person]

    async def post(self, url: str, user: User, query: str, variables: dict[str, Any]) -> Any:
        response = await self.http.post(
            url, json={"query": query, "variables": variables}, headers=user.headers()
        )
        assert response.status_code == 200, response.text
        return response.json()

    def node_url(self, code: str) -> str:
        return f"{self.base}/nodes/{code}/graphql"


async def register(
    http: httpx.AsyncClient, base: str, code: str, person: Person, **more: Any
) -> str:
    """A petition registered at ``code`` by its handler (one per person and node)."""
    petition = {
        "channel": "VISIT",
        "category": "征地拆迁",
        "summary": f"机密内容{code}",
        "issueLocality": code,
        "petitionerName": person.name,
        "petitionerIdNumber": person.id_number,
        "petitionerPhone": person.phone,
        "petitionerAddress": person.address,
        **more,
    }
    response = await http.post(
        f"{base}/nodes/{code}/graphql",
        json={
            "query": REGISTER,
            "variables": {"i": petition, "k": f"privacy-{code}-{person.phone[-4:]}"},
        },
        headers=User(code).headers(),
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    case_id: str = body["data"]["registerPetition"]["id"]
    return case_id


@pytest.fixture
async def platform(engine: AsyncEngine) -> AsyncIterator[Platform]:
    await empty_nodes(engine, TEST_NODES)
    registry = NodeRegistry()
    parts = []
    for tier in Tier:
        schema = importlib.import_module(f"{tier.value.lower()}.schema").schema
        service = TierService(
            tier=tier,
            engine=engine,
            calendar=default_calendar(),
            person_key_secret=SECRET,
            registry=registry,
            refresh_figures=False,
        )
        service.host([code for code in NODES if tier_of(code) is tier])
        parts.append((service, schema))
    app = create_service_app(parts, on_shutdown_dispose=False, relay=False)
    async with (
        serving(app) as base,
        httpx.AsyncClient(timeout=60, limits=httpx.Limits(keepalive_expiry=1.0)) as http,
    ):
        registry.tiers.update(dict.fromkeys(Tier, base))
        sdl = SUPERGRAPH.read_text(encoding="utf-8")
        fallback = {t.value.lower(): f"{base}/tiers/{t.value.lower()}/graphql" for t in Tier}
        gateway_app = create_gateway_app(
            sdl, verifier=suite_verifier(), router=KeyRouter(registry, fallback)
        )
        async with serving(gateway_app) as gateway:
            people = {code: person_of(code, serial) for serial, code in enumerate(NODES, 1)}
            cases = {code: await register(http, base, code, people[code]) for code in NODES}
            yield Platform(f"{gateway}/graphql", base, http, engine, cases, people)


# -- the table -----------------------------------------------------------------------------------


def roles_for(owner: str) -> dict[str, User]:
    """Who reads a case held at ``owner``: its own handler, a handler elsewhere in scope (the
    parent node's: the province has no one above it), the node's leader, analyst, auditor."""
    users = {
        "owning handler": User(owner, (Role.HANDLER,), f"handler@{owner}"),
        "leader": User(owner, (Role.LEADER,)),
        "analyst": User(owner, (Role.ANALYST,)),
        "auditor": User(owner, (Role.AUDITOR,)),
    }
    if owner in PARENT:
        users["handler in scope"] = User(PARENT[owner], (Role.HANDLER,))
    return users


EXPECTED = {
    "owning handler": "clear",
    "handler in scope": "masked",
    "leader": "masked",
    "analyst": "AGGREGATES_ONLY",
    "auditor": "masked",
}


def read_query(field: str) -> str:
    return (
        "query($id: ID!, $p: String) { case(id: $id) { id "
        f"petitioner(purpose: $p) {{ {field} masked }} }} }}"
    )


async def test_each_personal_field_for_each_role_and_tier_is_clear_masked_or_refused_and_every_clear_read_is_audited(  # noqa: E501
    platform: Platform,
) -> None:
    table: list[tuple[str, str, str, str, str]] = []
    clear_reads: Counter[tuple[str, str, str]] = Counter()  # (node, subject, field)
    for tier, owner in TIERS.items():
        person = platform.people[owner]
        case_id = platform.cases[owner]
        for role, user in roles_for(owner).items():
            for surface, url in (
                ("gateway", platform.gateway),
                ("node", platform.node_url(owner)),
            ):
                for field in FIELDS:
                    body = await platform.post(
                        url, user, read_query(field), {"id": case_id, "p": PURPOSE}
                    )
                    seen = body["data"]["case"]["petitioner"] if body.get("data") else None
                    expected = EXPECTED[role]
                    if seen is None:
                        codes = {e["extensions"]["code"] for e in body.get("errors", [])}
                        outcome = "/".join(sorted(codes)) or "null"
                    elif seen[field] == person.value(field) and seen["masked"] is False:
                        outcome = "clear"
                    elif seen[field] == MASKED[field](person) and seen["masked"] is True:
                        outcome = "masked"
                    else:
                        outcome = f"unexpected {seen!r}"
                    table.append((tier, role, surface, field, outcome))
                    assert outcome == expected, (tier, role, surface, field, body)
                    if outcome == "clear":
                        clear_reads[(owner, user.name, field)] += 1
    # 4 tiers × 4 fields × 2 surfaces × (5 roles, 4 at the province)
    assert len(table) == 4 * 4 * 2 * 5 - 4 * 2
    assert Counter(o for *_, o in table) == {
        "clear": 32,
        "masked": 88,
        "AGGREGATES_ONLY": 32,
    }
    print("\nprivacy table:", dict(Counter((r, o) for _, r, _, _, o in table)))

    # The audit log at each owning node, read by its auditor through the gateway: one entry
    # per clear read, naming who (subject, roles), what (case, field), when and why.
    audit = """query($c: ID!) { jurisdiction(code: $c) { auditLog(first: 500) {
        totalCount entries { subject roles jurisdiction caseId record fields purpose at } } } }"""
    for owner in TIERS.values():
        body = await platform.post(
            platform.gateway, User(owner, (Role.AUDITOR,)), audit, {"c": owner}
        )
        assert "errors" not in body, body
        log = body["data"]["jurisdiction"]["auditLog"]
        wanted = {k: n for k, n in clear_reads.items() if k[0] == owner}
        assert log["totalCount"] == sum(wanted.values()) == 8
        got: Counter[tuple[str, str, str]] = Counter()
        for entry in log["entries"]:
            assert entry["roles"] == ["handler"]
            assert entry["jurisdiction"] == owner
            assert entry["caseId"] == platform.cases[owner]
            assert entry["record"] == "petitioner"
            assert entry["purpose"] == PURPOSE
            assert entry["at"]
            (name,) = entry["fields"]
            field = {"id_number": "idNumber"}.get(name, name)
            got[(owner, entry["subject"], field)] += 1
        assert got == wanted


async def test_a_clear_read_without_a_purpose_is_refused_and_writes_no_audit_entry(
    platform: Platform,
) -> None:
    user = User(COUNTY, (Role.HANDLER,))
    for purpose in (None, "   "):
        for url in (platform.gateway, platform.node_url(COUNTY)):
            body = await platform.post(
                url, user, read_query("idNumber"), {"id": platform.cases[COUNTY], "p": purpose}
            )
            assert body["data"]["case"]["petitioner"] is None
            assert [e["extensions"]["code"] for e in body["errors"]] == ["PURPOSE_REQUIRED"]
    # Others never need one: they get masked values, and nothing is audited.
    body = await platform.post(
        platform.gateway,
        User(COUNTY, (Role.LEADER,)),
        read_query("idNumber"),
        {"id": platform.cases[COUNTY], "p": None},
    )
    assert body["data"]["case"]["petitioner"]["masked"] is True
    assert await audit_count(platform.engine, COUNTY) == 0


async def test_many_clear_reads_in_one_request_each_have_an_entry(platform: Platform) -> None:
    query = """query($p: String) { cases(first: 50) { edges { node { id
        a: petitioner(purpose: $p) { name idNumber }
        b: petitioner(purpose: $p) { phone } } } } }"""
    for n in range(3):
        await register(platform.http, platform.base, TOWNSHIP, person_of(TOWNSHIP, 40 + n))
    body = await platform.post(platform.node_url(TOWNSHIP), User(TOWNSHIP), query, {"p": PURPOSE})
    assert "errors" not in body, body
    edges = body["data"]["cases"]["edges"]
    assert len(edges) == 4
    assert all(e["node"]["a"]["idNumber"] and e["node"]["b"]["phone"] for e in edges)
    assert await audit_count(platform.engine, TOWNSHIP) == 2 * len(edges)


async def audit_count(engine: AsyncEngine, code: str) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(text(f'SELECT count(*) FROM "{schema_for(code)}".audit_log'))
        return int(found.scalar_one())


async def test_only_auditors_read_the_audit_log(platform: Platform) -> None:
    audit = "query($c: ID!) { jurisdiction(code: $c) { auditLog { totalCount } } }"
    for role in (Role.HANDLER, Role.LEADER, Role.ANALYST):
        body = await platform.post(platform.gateway, User(COUNTY, (role,)), audit, {"c": COUNTY})
        assert body["data"]["jurisdiction"]["auditLog"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["AUDITORS_ONLY"]
    # An auditor above reads a node of its subtree; one beside it is refused by scope.
    body = await platform.post(platform.gateway, User(CITY, (Role.AUDITOR,)), audit, {"c": COUNTY})
    assert body["data"]["jurisdiction"]["auditLog"] == {"totalCount": 0}
    body = await platform.post(
        platform.gateway, User(SIBLING_COUNTY, (Role.AUDITOR,)), audit, {"c": COUNTY}
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def test_analysts_see_aggregates_and_no_case_content(platform: Platform) -> None:
    analyst = User(COUNTY, (Role.ANALYST,))
    query = """query($id: ID!) { node { stats { eventCount } }
        case(id: $id) { id status summary events { action } representatives { name } } }"""
    body = await platform.post(
        platform.node_url(COUNTY), analyst, query, {"id": platform.cases[COUNTY]}
    )
    assert body["data"]["node"]["stats"]["eventCount"] == 1
    case = body["data"]["case"]
    assert case["summary"] is None
    assert case["events"] is None
    assert case["representatives"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"AGGREGATES_ONLY"}


# -- accusations ---------------------------------------------------------------------------------


ACCUSATION = """query($id: ID!) { case(id: $id) { id accusedUnit { code }
    summary events { action } petitioner(purpose: "handle it") { name } } }"""


async def test_an_accusation_is_never_shown_to_the_unit_it_accuses(platform: Platform) -> None:
    # A township's case accusing the county above it, and one accusing the township itself.
    against_county = await register(
        platform.http, platform.base, TOWNSHIP, person_of(TOWNSHIP, 60), accusedUnit=COUNTY
    )
    against_itself = await register(
        platform.http, platform.base, TOWNSHIP, person_of(TOWNSHIP, 61), accusedUnit=TOWNSHIP
    )
    withheld: list[tuple[str, str]] = []
    shown: list[tuple[str, str]] = []
    for case_id, accused in ((against_county, COUNTY), (against_itself, TOWNSHIP)):
        for user in (
            User(TOWNSHIP, (Role.HANDLER,)),
            User(TOWNSHIP, (Role.LEADER,)),
            User(COUNTY, (Role.HANDLER,)),
            User(COUNTY, (Role.LEADER,)),
            User(CITY, (Role.LEADER,)),
            User(PROVINCE, (Role.AUDITOR,)),
        ):
            for url in (platform.gateway, platform.node_url(TOWNSHIP)):
                body = await platform.post(url, user, ACCUSATION, {"id": case_id})
                case = body["data"]["case"]
                assert case["accusedUnit"] == {"code": accused}
                if user.jurisdiction.startswith(accused):
                    assert case["summary"] is None
                    assert case["events"] is None
                    assert case["petitioner"] is None
                    assert {e["extensions"]["code"] for e in body["errors"]} == {
                        "ACCUSATION_WITHHELD"
                    }
                    assert "机密内容" not in str(body)
                    withheld.append((case_id, user.name))
                else:
                    assert case["summary"] == f"机密内容{TOWNSHIP}", body
                    assert case["events"]
                    assert case["petitioner"]["name"]
                    shown.append((case_id, user.name))
    # Against the county: its four users (township handlers and leader see it); against the
    # township: its two users; both through the gateway and at the node.
    assert len(withheld) == (2 + 2) * 2 + 2 * 2
    assert len(shown) == 6 * 2 * 2 - len(withheld)


async def test_an_accusation_names_a_real_unit_of_the_province_and_is_never_routed_to_it(
    platform: Platform,
) -> None:
    for bad in ("99", "52", "530199999"):
        response = await platform.http.post(
            platform.node_url(COUNTY),
            json={
                "query": REGISTER,
                "variables": {
                    "i": {
                        "channel": "LETTER",
                        "category": "检举控告",
                        "summary": "举报",
                        "issueLocality": COUNTY,
                        "petitionerName": "李四",
                        "accusedUnit": bad,
                    },
                    "k": f"bad-accused-{bad}",
                },
            },
            headers=User(COUNTY).headers(),
        )
        body = response.json()
        assert body["data"] is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
        assert body["errors"][0]["extensions"]["field"] == "accusedUnit"
    case_id = await register(
        platform.http,
        platform.base,
        COUNTY,
        person_of(COUNTY, 70),
        accusedUnit=TOWNSHIP,
        issueLocality=TOWNSHIP,
    )
    transfer = """mutation($id: ID!, $to: ID!) {
        transferCase(id: $id, to: $to, reason: "属地") { id status } }"""
    body = await platform.post(
        platform.node_url(COUNTY), User(COUNTY), transfer, {"id": case_id, "to": TOWNSHIP}
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["ACCUSED_UNIT"], body


# -- encryption at rest --------------------------------------------------------------------------


async def test_the_database_holds_no_plaintext_id_number(platform: Platform) -> None:
    # A collective visit's representatives too, and a transfer's message in the outbox.
    rep = person_of(COUNTY, 80)
    await register(
        platform.http,
        platform.base,
        COUNTY,
        person_of(COUNTY, 81),
        personCount=3,
        representatives=[{"name": rep.name, "idNumber": rep.id_number}],
    )
    moving = await register(
        platform.http, platform.base, COUNTY, person_of(COUNTY, 82), issueLocality=TOWNSHIP
    )
    transfer = """mutation($id: ID!, $to: ID!) {
        transferCase(id: $id, to: $to, reason: "属地") { id status } }"""
    body = await platform.post(
        platform.node_url(COUNTY), User(COUNTY), transfer, {"id": moving, "to": TOWNSHIP}
    )
    assert "errors" not in body, body
    numbers = [p.id_number for p in platform.people.values()]
    numbers += [rep.id_number, person_of(COUNTY, 81).id_number, person_of(COUNTY, 82).id_number]
    sealed = 0
    async with platform.engine.connect() as conn:
        for code in NODES:
            schema = schema_for(code)
            for table in ("petitioners", "representatives"):
                rows = await conn.execute(
                    text(f'SELECT id_number FROM "{schema}".{table} WHERE id_number IS NOT NULL')
                )
                for (value,) in rows:
                    assert value.startswith("v1."), value
                    sealed += 1
            # Every text column of every table of the node, and every JSON document.
            dump = await conn.execute(
                text(
                    f"""SELECT string_agg(t::text, ' ') FROM (
                        SELECT row_to_json(p)::text AS t FROM "{schema}".petitioners p
                        UNION ALL SELECT row_to_json(r)::text FROM "{schema}".representatives r
                        UNION ALL SELECT row_to_json(o)::text FROM "{schema}".outbox o
                        UNION ALL SELECT row_to_json(c)::text FROM "{schema}".cases c
                        UNION ALL SELECT row_to_json(e)::text FROM "{schema}".case_events e
                    ) everything"""
                )
            )
            everything = dump.scalar_one() or ""
            for number in numbers:
                assert number not in everything, (code, number)
                assert number[:6] + number[6:14] not in everything
    assert sealed == len(NODES) + 3
    async with platform.engine.connect() as conn:
        outbox = await conn.execute(
            text(f"SELECT payload FROM \"{schema_for(COUNTY)}\".outbox WHERE kind = 'TRANSFER'")
        )
        (payload,) = outbox.one()
    assert payload["petitioner"]["idNumber"].startswith("v1.")
    # The owning handler still reads it clear (opened with the province's key).
    body = await platform.post(
        platform.node_url(COUNTY),
        User(COUNTY),
        read_query("idNumber"),
        {"id": platform.cases[COUNTY], "p": PURPOSE},
    )
    assert body["data"]["case"]["petitioner"]["idNumber"] == platform.people[COUNTY].id_number

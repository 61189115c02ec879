"""Issue 8, item 4: 10,000 12345 tickets imported over two cities of Yunnan (252 nodes of every
tier, real tier services over HTTP, the gateway in front), some flagged and converted, leave
the volume figures without double counting:

- petition volume (eventCount) = petitions registered directly + tickets converted;
- the ticket figure (hotlineTickets) = tickets not converted;
- no case counted twice, and every matter counted once: eventCount + hotlineTickets = the
  petitions registered directly + 10,000 tickets.

Checked by direct SQL against every node's schema and through GraphQL (each node's own stats,
the subtree figures reported up hop by hop, the children's), after the command imported the
files (in-process and as ``xinfang hotline import``), a re-import, and conversions by
mutation at the tickets' nodes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.casework import SystemClock
from shared.cli import import_hotline
from shared.divisions import division_tree
from shared.holidays import default_calendar
from shared.hotline import FIELDS, TicketFormat
from shared.persistence.database import create_engine
from shared.persistence.migrate import migrate_nodes, schema_for
from shared.persistence.province import seed_nodes_bulk
from shared.settings import Settings
from tests.conftest import PROVINCE, SECRET, empty_nodes
from tests.gateway.servers import serving
from tests.identity import ActAs, suite_verifier
from tests.messaging.network import Network, eventually, network

ROOT = Path(__file__).resolve().parents[2]
SUPERGRAPH = (ROOT / "gateway" / "supergraph" / "xinfang.supergraph.graphql").read_text()
CITIES = ("5301", "5304")  # 昆明市 (165 nodes) and 玉溪市 (86)
NODES = [PROVINCE] + [
    d.code for d in division_tree().province_nodes(PROVINCE) if d.code[:4] in CITIES
]
TICKETS = 10_000
IN_PROCESS = 6_000  # JSON Lines, imported by the command's function with --convert
FLAGGED = 0.2  # share of tickets in substance petitions
BY_MUTATION = 40  # flagged tickets of the CSV part converted through GraphQL
DIRECT_PER_NODE = 3
FIGURES = "eventCount hotlineTickets hotlineConverted receivedCount"
CONVERT = "mutation($t: ID!) { convertHotlineTicket(ticketId: $t) { id channel } }"


def generated(now: datetime) -> list[dict[str, Any]]:
    chance = random.Random(8)
    china = timedelta(hours=8)
    rows = []
    for n in range(TICKETS):
        received = now - timedelta(seconds=chance.randint(3_600, 30 * 86_400))
        rows.append(
            {
                "ticketNumber": f"YN12345-{n:06d}",
                "receivedAt": (received + china).strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                "callerName": chance.choice(["张三", "李四", "王芳", "阿依古丽·买买提"]),
                "callerPhone": f"139{chance.randint(0, 99_999_999):08d}",
                "divisionCode": chance.choice(NODES),
                "category": chance.choice(["城乡建设", "劳动社保", "农村农业", "交通运输"]),
                "content": f"来电反映第{n}号事项",
                "isPetition": chance.random() < FLAGGED,
                "state": chance.choice(["ACCEPTED", "DISPATCHED", "REPLIED", "CALLED_BACK"]),
            }
        )
    return rows


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(FIELDS))
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "isPetition": "是" if row["isPetition"] else "否"})
    return out.getvalue()


async def by_sql(engine: AsyncEngine) -> dict[str, dict[str, int]]:
    """Per node, straight from its schema: petitions registered there (not received from
    another node), of those the ones converted from a ticket, tickets kept and unconverted."""
    found: dict[str, dict[str, int]] = {}
    async with engine.connect() as conn:
        for start in range(0, len(NODES), 60):
            parts = []
            for code in NODES[start : start + 60]:
                s = schema_for(code)
                parts.append(
                    f"SELECT '{code}',"
                    f' (SELECT count(*) FROM "{s}".cases WHERE received_from IS NULL),'
                    f' (SELECT count(*) FROM "{s}".cases c JOIN "{s}".hotline_tickets t'
                    "   ON t.case_id = c.id WHERE c.received_from IS NULL"
                    "   AND c.channel = 'HOTLINE_12345'),"
                    f' (SELECT count(*) FROM "{s}".hotline_tickets),'
                    f' (SELECT count(*) FROM "{s}".hotline_tickets WHERE case_id IS NULL),'
                    f' (SELECT count(*) FROM "{s}".hotline_tickets WHERE case_id IS NOT NULL),'
                    f' (SELECT count(*) FROM "{s}".cases WHERE received_from IS NOT NULL)'
                )
            for code, events, converted, tickets, open_, linked, received in await conn.execute(
                text(" UNION ALL ".join(parts))
            ):
                found[code] = {
                    "events": int(events),
                    "converted": int(converted),
                    "tickets": int(tickets),
                    "unconverted": int(open_),
                    "linked": int(linked),
                    "received": int(received),
                }
            await conn.commit()  # let go of the chunk's locks
    return found


def subtree(totals: dict[str, dict[str, int]], root: str) -> dict[str, int]:
    summed = dict.fromkeys(("events", "converted", "unconverted", "received"), 0)
    for code, counts in totals.items():
        if code.startswith(root):
            for name in summed:
                summed[name] += counts[name]
    return summed


def figures_of(counts: dict[str, int]) -> dict[str, int]:
    return {
        "eventCount": counts["events"],
        "hotlineTickets": counts["unconverted"],
        "hotlineConverted": counts["converted"],
        "receivedCount": counts["received"],
    }


async def empty_tree(engine: AsyncEngine) -> None:
    """A few nodes per transaction: TRUNCATE locks every table, and the lock table is shared."""
    for start in range(0, len(NODES), 8):
        await empty_nodes(engine, NODES[start : start + 8])


@pytest.fixture
async def tree(engine: AsyncEngine, database_server: str) -> AsyncIterator[AsyncEngine]:
    """The suite's database, through an engine of this test's own (its pool is not the one
    the other tests share: 252 nodes' services and the imports check out many connections)."""
    own = create_engine(database_server, str(engine.url.database), pool_size=10)
    try:
        await migrate_nodes(own, NODES)
        await empty_tree(own)
        yield own
        await empty_tree(own)  # 252 nodes of data need not outlive the test
    finally:
        await own.dispose()


async def gateway_client(net: Network, stack: AsyncExitStack) -> httpx.AsyncClient:
    fallback = {
        tier.value.lower(): f"{url}/tiers/{tier.value.lower()}/graphql"
        for tier, url in net.registry.tiers.items()
    }
    router = KeyRouter(net.registry, fallback)
    app = create_gateway_app(SUPERGRAPH, verifier=suite_verifier(), router=router, timeout=120)
    url = await stack.enter_async_context(serving(app))
    return await stack.enter_async_context(
        httpx.AsyncClient(base_url=url, timeout=120, auth=ActAs())
    )


async def ask(client: httpx.AsyncClient, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"][:3]
    data: dict[str, Any] = body["data"]
    return data


def run_command(
    database_server: str, database: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        DATABASE_URL=database_server,
        XINFANG_DATABASE=database,
        XINFANG_PERSON_KEY_SECRET=SECRET.decode(),
    )
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "hotline", "import", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_ten_thousand_tickets_leave_every_matter_counted_once(
    tree: AsyncEngine, database_server: str, tmp_path: Path
) -> None:
    engine = tree
    now = datetime.now(UTC)
    settings = Settings(
        database_url=database_server,
        data_dir=tmp_path,
        database_name=str(engine.url.database),
        person_key_secret=SECRET,
        calendar_file=None,
    )
    await seed_nodes_bulk(
        engine,
        dict.fromkeys(NODES, DIRECT_PER_NODE),
        now=now,
        calendar=default_calendar(),
        person_key_secret=SECRET,
        seed=3,
    )
    rows = generated(now)
    first, rest = rows[:IN_PROCESS], rows[IN_PROCESS:]
    jsonl = "\n".join(json.dumps(r, ensure_ascii=False) for r in first)

    # The command's work in-process: the JSON Lines part, converting what is flagged.
    report = await import_hotline(engine, jsonl, TicketFormat.JSON, settings=settings, convert=True)
    flagged_first = sum(r["isPetition"] for r in first)
    assert (report.rows, report.imported, report.rejected) == (IN_PROCESS, IN_PROCESS, 0)
    assert len(report.converted) == flagged_first
    assert len(set(report.converted)) == flagged_first

    # The command itself: the CSV part, without converting, plus three faulty rows.
    bad = [
        {**rest[0], "ticketNumber": "YN12345-BAD-1", "divisionCode": "5399"},
        {**rest[1], "ticketNumber": "YN12345-BAD-2", "receivedAt": "2025-02-30T10:00:00+08:00"},
        {**rest[2], "content": "同一工单号，别的内容"},  # a CONFLICT with the row it copies
    ]
    path = tmp_path / "tickets.csv"
    path.write_text(as_csv(rest + bad), encoding="utf-8")
    done = await asyncio.to_thread(run_command, database_server, settings.database_name, str(path))
    assert done.returncode == 1, done.stdout + done.stderr  # some rows were rejected
    lines = done.stdout.splitlines()
    assert lines[0] == (
        f"{len(rest) + 3} rows: {len(rest)} imported, 0 duplicates (0 with a new state), "
        "3 rejected, 0 converted to petitions"
    )
    header_and_rows = len(rest) + 1
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        f"row {header_and_rows + 1}",
        f"row {header_and_rows + 2}",
        f"row {header_and_rows + 3}",
    ]
    assert [line.split(":")[1].strip() for line in lines[1:]] == [
        "INVALID_FIELD divisionCode",
        "INVALID_FIELD receivedAt",
        "CONFLICT ticketNumber",
    ]

    # A re-import of the first part changes nothing and converts nothing again.
    again = await import_hotline(engine, jsonl, TicketFormat.JSON, settings=settings, convert=True)
    assert (again.imported, again.duplicates, again.converted) == (0, IN_PROCESS, [])

    totals = await by_sql(engine)
    assert sum(c["tickets"] for c in totals.values()) == TICKETS
    assert subtree(totals, PROVINCE)["converted"] == flagged_first

    # Conversions by mutation at the tickets' own nodes, through the live services.
    to_convert = [r for r in rest if r["isPetition"]][:BY_MUTATION]
    async with AsyncExitStack() as stack:
        net = await stack.enter_async_context(network(engine, SystemClock(), NODES))
        gateway = await gateway_client(net, stack)
        for row in to_convert:
            converted = await net.gql(row["divisionCode"], CONVERT, t=row["ticketNumber"])
            assert converted["convertHotlineTicket"]["channel"] == "HOTLINE_12345"
        twice = await net.call(
            to_convert[0]["divisionCode"], CONVERT, t=to_convert[0]["ticketNumber"]
        )
        assert twice["errors"][0]["extensions"]["code"] == "ALREADY_CONVERTED"

        totals = await by_sql(engine)
        province = subtree(totals, PROVINCE)
        direct = province["events"] - province["converted"]
        assert province["converted"] == flagged_first + BY_MUTATION
        # Direct SQL, per node: the petition volume is the direct petitions plus the tickets
        # converted there, the ticket figure the tickets not converted, each ticket one or the
        # other, each converted ticket one case.
        for code, counts in totals.items():
            assert counts["converted"] == counts["linked"], code  # a petition registered here
            assert counts["unconverted"] + counts["linked"] == counts["tickets"], code
        assert province["unconverted"] == TICKETS - flagged_first - BY_MUTATION
        assert province["events"] + province["unconverted"] == direct + TICKETS
        assert direct == sum(
            c["events"] - c["converted"] for c in totals.values()
        )  # the seeded petitions
        async with engine.connect() as conn:
            cases = []
            for start in range(0, len(NODES), 60):
                union = " UNION ALL ".join(
                    f'SELECT case_id FROM "{schema_for(code)}".hotline_tickets '
                    "WHERE case_id IS NOT NULL"
                    for code in NODES[start : start + 60]
                )
                cases += [r[0] for r in await conn.execute(text(union))]
                await conn.commit()
        assert len(cases) == len(set(cases)) == province["converted"]  # no case twice

        # GraphQL, once the figures are reported up: the province's subtree and its
        # children's figures are what SQL counts; each node's own stats too.
        def converged_at(data: dict[str, Any]) -> bool:
            stats = data["jurisdiction"]["subtreeStats"]
            return {k: stats[k] for k in FIGURES.split()} == figures_of(province)

        query = (
            f'{{ jurisdiction(code: "{PROVINCE}") {{ subtreeStats {{ {FIGURES} }} '
            f"stats {{ {FIGURES} }} childStats {{ jurisdiction {{ code }} missing "
            f"stats {{ {FIGURES} }} }} }} }}"
        )

        async def overview() -> dict[str, Any] | None:
            data = await ask(gateway, query)
            return data if converged_at(data) else None

        try:
            data = await eventually(overview, seconds=90)
        except AssertionError:
            last = (await ask(gateway, query))["jurisdiction"]["subtreeStats"]
            raise AssertionError(f"{last} != {figures_of(province)}") from None
        top = data["jurisdiction"]
        assert top["stats"] == figures_of(totals[PROVINCE])
        reported = {
            c["jurisdiction"]["code"]: c["stats"] for c in top["childStats"] if not c["missing"]
        }
        assert reported == {city: figures_of(subtree(totals, city)) for city in CITIES}

        own = f"code stats {{ {FIGURES} }}"
        for city in CITIES:
            data = await ask(
                gateway,
                f'{{ jurisdiction(code: "{city}") {{ {own} subtreeStats {{ {FIGURES} }} '
                f"children {{ {own} children {{ {own} }} }} }} }}",
            )
            city_data = data["jurisdiction"]
            assert city_data["subtreeStats"] == figures_of(subtree(totals, city))
            seen = {city: city_data["stats"]}
            for county in city_data["children"]:
                seen[county["code"]] = county["stats"]
                seen.update({t["code"]: t["stats"] for t in county["children"]})
            expected = {code: figures_of(totals[code]) for code in seen}
            assert seen == expected
            assert len(seen) == sum(code.startswith(city) for code in NODES)

        # The tickets themselves, through GraphQL: each node lists what SQL counts.
        sample = sorted({r["divisionCode"] for r in to_convert})[:10]
        fields = " ".join(
            f'n{code}: jurisdiction(code: "{code}") {{ all: hotlineTickets(first: 1) '
            "{ totalCount } open: hotlineTickets(first: 1, filter: { converted: false }) "
            "{ totalCount } }"
            for code in sample
        )
        data = await ask(gateway, f"{{ {fields} }}")
        for code in sample:
            node = data[f"n{code}"]
            assert node["all"]["totalCount"] == totals[code]["tickets"]
            assert node["open"]["totalCount"] == totals[code]["unconverted"]

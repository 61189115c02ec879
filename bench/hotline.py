"""``xinfang bench hotline``: importing a 12345 export (docs/hotline.md), as ``xinfang hotline
import`` does, on the bench's own database.

``--tickets`` generated tickets (JSON Lines) spread over every node of ``--city`` and the
province, ``--flagged`` of them in substance petitions, are read and checked, imported (each
at its node, one transaction per node, the flagged ones converted into petitions through the
registration path), the figures of those nodes converged up to the province, and the same file
imported again (every row a duplicate). The nodes are emptied first. Prints one row per step:
seconds and rows per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.database import open_database, server_version
from shared.casework import SystemClock
from shared.cli import converge_figures, import_hotline
from shared.divisions import division_tree
from shared.hotline import TicketFormat, parse
from shared.persistence.database import describe, server_url
from shared.persistence.migrate import reset_node
from shared.settings import Settings

QUICK = {"tickets": 500}


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    rows: int


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xinfang bench hotline", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="500 tickets, for a smoke run")
    parser.add_argument("--tickets", type=int, help="tickets in the file (10,000)")
    parser.add_argument("--city", default="5304", help="the city whose nodes get them (玉溪市)")
    parser.add_argument("--flagged", type=float, default=0.2, help="share that are petitions")
    parser.add_argument("--database", default="xinfang_bench_hotline", help="database name")
    return parser


def tickets(count: int, nodes: Sequence[str], flagged: float, now: datetime) -> str:
    chance = random.Random(12345)
    rows = []
    for n in range(count):
        received = now - timedelta(seconds=chance.randint(3_600, 30 * 86_400))
        rows.append(
            {
                "ticketNumber": f"BENCH-{n:07d}",
                "receivedAt": received.isoformat(),
                "callerName": chance.choice(["张三", "李四", "王芳"]),
                "callerPhone": f"139{chance.randint(0, 99_999_999):08d}",
                "divisionCode": chance.choice(nodes),
                "category": chance.choice(["城乡建设", "劳动社保", "农村农业"]),
                "content": f"来电反映第{n}号事项",
                "isPetition": chance.random() < flagged,
                "state": "DISPATCHED",
            }
        )
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)


async def run(args: argparse.Namespace, count: int) -> tuple[str, str, int, int, list[Step]]:
    settings = Settings.from_env()
    url = server_url(settings.database_url, settings.data_dir)
    province = args.city[:2]
    nodes = [province] + [
        d.code for d in division_tree().province_nodes(province) if d.code.startswith(args.city)
    ]
    engine = await open_database(url, args.database, nodes, pool_size=5)
    settings = Settings(
        database_url=settings.database_url,
        data_dir=settings.data_dir,
        database_name=args.database,
        person_key_secret=settings.person_key_secret,
        calendar_file=settings.calendar_file,
    )
    try:
        for code in nodes:
            await reset_node(engine, code)
        data = tickets(count, nodes, args.flagged, datetime.now(UTC))
        steps: list[Step] = []

        started = time.perf_counter()
        parse(data, TicketFormat.JSON, now=SystemClock().now())
        steps.append(Step("read and check the file", time.perf_counter() - started, count))

        started = time.perf_counter()
        report = await import_hotline(
            engine, data, TicketFormat.JSON, settings=settings, convert=True, converge=False
        )
        converted = len(report.converted)
        steps.append(
            Step(
                f"import, {converted:,} converted ({len(nodes)} nodes)",
                time.perf_counter() - started,
                report.imported,
            )
        )
        started = time.perf_counter()
        await converge_figures(engine, nodes, settings=settings)
        steps.append(Step("figures converged to the province", time.perf_counter() - started, 0))

        started = time.perf_counter()
        again = await import_hotline(
            engine, data, TicketFormat.JSON, settings=settings, convert=True, converge=False
        )
        if again.imported or again.converted:
            raise SystemExit("xinfang bench hotline: a re-import wrote something")
        steps.append(
            Step("re-import (every row a duplicate)", time.perf_counter() - started, count)
        )
        return describe(url), await server_version(engine), len(nodes), converted, steps
    finally:
        await engine.dispose()


def table(database: str, version: str, nodes: int, steps: list[Step], count: int) -> str:
    lines = [
        f"xinfang bench hotline: {count:,} 12345 tickets over {nodes} nodes "
        f"({platform.machine()}, {os.cpu_count()} cores; PostgreSQL {version} at {database})",
        f"{'step':45}  {'seconds':>8}  {'rows/s':>8}",
    ]
    for step in steps:
        rate = f"{step.rows / step.seconds:,.0f}" if step.rows and step.seconds else "-"
        lines.append(f"{step.name:45}  {step.seconds:8.2f}  {rate:>8}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    count = args.tickets or (QUICK["tickets"] if args.quick else 10_000)
    if count < 1 or not 0 <= args.flagged <= 1:
        raise SystemExit("xinfang bench hotline: --tickets >= 1, --flagged in [0, 1]")
    database, version, nodes, _, steps = asyncio.run(run(args, count))
    print(table(database, version, nodes, steps, count))
    return 0

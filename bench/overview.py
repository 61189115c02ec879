"""``xinfang bench overview``: the leaders' province overview (docs/adr/0013) on the demo data.

The query of docs/queries/province-overview.graphql (the province's ``subtreeStats``, its
cities' ``childStats``, ``escalationFlows`` and ``topCategories``) through the gateway and
directly at the province node, p50/p95 over ``--runs`` runs. The data is the demo data of
``xinfang run`` (its database, ``XINFANG_DATABASE``, default xinfang; seeded with
``--cases-per-node`` cases for nodes that have none, the figures converged), served by every
tier service in this process, the gateway in front, in one event loop. The refreshers do not
run: the reads alone are measured.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.run import BenchUsers
from bench.server import StatementCounter, serving
from bench.timing import Summary
from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.cli import build_app, converge_figures, prepare_database, seed_nodes
from shared.divisions import Tier, division_tree
from shared.local_platform import SUPERGRAPH
from shared.persistence.database import describe
from shared.persistence.migrate import schema_for
from shared.registry import NodeRegistry
from shared.settings import PROJECT_ROOT, Settings

OVERVIEW_FILE = PROJECT_ROOT / "docs" / "queries" / "province-overview.graphql"
VARIABLES = re.compile(r"^#\s*variables:\s*(\{.*\})\s*$", re.MULTILINE)


def overview_query() -> tuple[str, dict[str, object]]:
    """The documented overview query (docs/queries, run by the tests too) and its variables."""
    source = OVERVIEW_FILE.read_text(encoding="utf-8")
    found = VARIABLES.search(source)
    return source, dict(json.loads(found.group(1))) if found else {}


@dataclass(frozen=True)
class Measured:
    name: str
    latency: Summary
    response_bytes: int
    statements: float  # per query, at the services


@dataclass(frozen=True)
class OverviewReport:
    database: str
    nodes: int
    cases: int
    seeded_seconds: float
    rows: list[Measured]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xinfang bench overview", description=__doc__)
    parser.add_argument("--province", default="53", help="province code (53: Yunnan)")
    parser.add_argument("--runs", type=int, default=50, help="timed queries per row (50)")
    parser.add_argument("--warmups", type=int, default=5, help="untimed queries first (5)")
    parser.add_argument(
        "--cases-per-node", type=int, default=4, help="demo cases for empty nodes (4, as run)"
    )
    parser.add_argument("--database", help="database name (XINFANG_DATABASE, xinfang)")
    return parser


async def _cases(nodes: Sequence[str], engine: AsyncEngine) -> int:
    total = 0
    async with engine.connect() as conn:
        for start in range(0, len(nodes), 400):
            union = " UNION ALL ".join(
                f'SELECT count(*) FROM "{schema_for(code)}".cases'
                for code in nodes[start : start + 400]
            )
            total += sum(int(n) for (n,) in await conn.execute(text(union)))
    return total


async def _timed(
    client: httpx.AsyncClient,
    url: str,
    code: str,
    counter: StatementCounter,
    *,
    runs: int,
    warmups: int,
) -> tuple[Summary, int, float]:
    query, variables = overview_query()
    body = {"query": query.replace('"53"', json.dumps(code)), "variables": variables}
    size = 0
    for _ in range(warmups):
        await client.post(url, json=body)
    seconds: list[float] = []
    before = counter.count
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.post(url, json=body)
        seconds.append(time.perf_counter() - started)
        answer = response.json()
        if response.status_code != 200 or "errors" in answer:
            raise RuntimeError(f"the overview query failed: {response.text[:300]}")
        size = len(response.content)
    return Summary.of(seconds), size, (counter.count - before) / runs


async def run(args: argparse.Namespace) -> OverviewReport:
    settings = Settings.from_env()
    if args.database:
        settings = dataclasses.replace(settings, database_name=args.database)
    nodes = [d.code for d in division_tree().province_nodes(args.province)]
    url, engine = await prepare_database(settings, nodes)
    started = time.perf_counter()
    if args.cases_per_node > 0:
        await seed_nodes(
            engine, nodes, cases_per_node=args.cases_per_node, settings=settings, progress=False
        )
    else:
        await converge_figures(engine, nodes, settings=settings)
    seeded = time.perf_counter() - started
    cases = await _cases(nodes, engine)
    counter = StatementCounter(engine)
    registry = NodeRegistry()
    users = BenchUsers()  # a handler of the province: reads its whole subtree
    services = build_app(engine, nodes, settings, registry, users.verifier, relay=False)
    sdl = SUPERGRAPH.read_text(encoding="utf-8")
    rows: list[Measured] = []
    try:
        async with serving(services) as base:
            registry.tiers.update(dict.fromkeys(Tier, base))
            fallback = {t.value.lower(): f"{base}/tiers/{t.value.lower()}/graphql" for t in Tier}
            router = KeyRouter(registry, fallback)
            gateway = create_gateway_app(sdl, router=router, timeout=120, verifier=users.verifier)
            async with (
                serving(gateway) as front,
                httpx.AsyncClient(timeout=120, auth=users) as client,
            ):
                targets = (
                    ("overview through the gateway", f"{front}/graphql"),
                    (f"overview at node {args.province}", registry.graphql_url(args.province)),
                )
                for name, target in targets:
                    latency, size, statements = await _timed(
                        client,
                        target,
                        args.province,
                        counter,
                        runs=args.runs,
                        warmups=args.warmups,
                    )
                    rows.append(Measured(name, latency, size, statements))
    finally:
        counter.close()
        await engine.dispose()
    return OverviewReport(
        database=f"{describe(url)} / {settings.database_name}",
        nodes=len(nodes),
        cases=cases,
        seeded_seconds=seeded,
        rows=rows,
    )


def table(report: OverviewReport) -> str:
    lines = [
        f"database   {report.database}: {report.nodes:,} nodes, {report.cases:,} cases "
        f"(seeding and converging the figures: {report.seeded_seconds:.1f} s)",
        f"client     Python {platform.python_version()}, {os.cpu_count()} CPUs; the tier "
        "services, the gateway and the client share one process and event loop",
        "query      province subtreeStats + childStats (16 cities) + escalationFlows + "
        "topCategories",
        "",
        f"{'benchmark':<44} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  per query",
        "-" * 100,
    ]
    for r in report.rows:
        lines.append(
            f"{r.name:<44} {r.latency.count:>6} {r.latency.p50:>8.1f} {r.latency.p95:>8.1f} "
            f"{r.latency.max:>8.1f}  {r.response_bytes / 1024:,.1f} KiB, "
            f"{r.statements:.0f} SQL statements"
        )
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.runs < 1 or args.warmups < 0:
        raise SystemExit("xinfang bench overview: --runs must be at least 1, --warmups >= 0")
    report = asyncio.run(run(args))
    print(table(report))
    return 0

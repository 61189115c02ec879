"""``xinfang bench``: registration throughput and ``_entities`` latency of a county node, over
real HTTP to the county service running under uvicorn in this process. Prints a table.

The bench has its own database (``--database``, default xinfang_bench) on the server of
``DATABASE_URL``, or on the embedded server when that is unset. The ``_entities`` node keeps
its bulk-loaded cases between runs; the registration node is emptied at every run.

``xinfang bench gateways ...`` is the gateway side by side (bench/gateways/run.py);
``xinfang bench overview ...`` the leaders' province overview on the demo data
(bench/overview.py); ``xinfang bench alerts ...`` the province's alert list over all nodes
(bench/alerts.py); ``xinfang bench hotline ...`` importing a 12345 export (bench/hotline.py);
``xinfang bench dashboard ...`` the dashboard page rendering it in headless Chromium
(bench/dashboard.py); ``xinfang bench load ...`` ten minutes of mixed load (bench/load.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.database import open_database, server_version
from bench.entities import EntitiesResult, Load, case_ids, measure, prepare
from bench.registration import RegistrationResult, petitions, register_all
from bench.server import StatementCounter, serving
from shared.auth import Role, SigningKey, StaticKeys, TokenVerifier
from shared.cli import build_app, load_calendar
from shared.divisions import Tier
from shared.messaging import outbox
from shared.messaging.messages import MessageKind
from shared.persistence.database import describe, server_url
from shared.persistence.migrate import reset_node
from shared.persistence.repository import NodeDatabase
from shared.persistence.tables import outbox as outbox_table
from shared.registry import NodeRegistry
from shared.settings import Settings

QUICK = {"cases": 5_000, "registrations": 200, "repeats": 5, "warmups": 1}
FULL = {"cases": 100_000, "registrations": 2_000, "repeats": 30, "warmups": 3}
WARMUP_REGISTRATIONS = 20


@dataclass(frozen=True)
class Report:
    database: str
    server_version: str
    node: str
    registration_node: str
    load: Load
    registrations: list[RegistrationResult]
    entities: EntitiesResult


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xinfang bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--cases", type=int, help="cases in the _entities node (100,000)")
    parser.add_argument("--registrations", type=int, help="registrations per run (2,000)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 16], help="requests in flight (1 16)"
    )
    parser.add_argument("--references", type=int, default=1_000, help="ids per _entities call")
    parser.add_argument("--repeats", type=int, help="timed _entities calls (30)")
    parser.add_argument("--warmups", type=int, help="untimed _entities calls first (3)")
    parser.add_argument("--database", default="xinfang_bench")
    parser.add_argument("--node", default="530102", help="county node for _entities (五华区)")
    parser.add_argument(
        "--registration-node", default="530103", help="county node registered into (盘龙区)"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


def resolved(args: argparse.Namespace) -> argparse.Namespace:
    """Unset sizes from --quick or the full defaults; refuses sizes that cannot run."""
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("cases", "registrations", "references", "repeats"):
        if getattr(args, name) < 1:
            raise SystemExit(f"xinfang bench: --{name} must be at least 1")
    if args.warmups < 0 or min(args.concurrency) < 1:
        raise SystemExit("xinfang bench: --warmups must be >= 0 and --concurrency >= 1")
    if args.node == args.registration_node:
        raise SystemExit("xinfang bench: --node and --registration-node must differ")
    return args


async def relayed(engine: AsyncEngine, code: str, seconds: float = 60.0) -> None:
    """Wait until the relay has delivered everything ``code`` wrote."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        async with NodeDatabase(engine, code).connect() as conn:
            # Not its subtree figures nor its alerts: its city and province are not served
            # here, they would wait forever.
            unserved = [MessageKind.SUBTREE_FIGURES, MessageKind.ALERT]
            if await outbox.pending_count(conn, except_kinds=unserved) == 0:
                return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"node {code}'s messages were not delivered within {seconds:.0f} s")


async def set_aside_unserved(engine: AsyncEngine, code: str) -> int:
    """Mark ``code``'s ALERT messages delivered: their recipients (its city and province) are
    not served here, and the relay retrying them would add its statements to the next
    measurement. Writing them was registration's work, and was measured."""
    async with NodeDatabase(engine, code).begin() as conn:
        done = await conn.execute(
            update(outbox_table)
            .where(
                outbox_table.c.delivered_at.is_(None),
                outbox_table.c.kind == MessageKind.ALERT.value,
            )
            .values(delivered_at=func.now(), last_error="not served in the bench")
        )
        return int(done.rowcount)


class BenchUsers(httpx.Auth):
    """The bench's own signing key: each request comes from a handler of the node it asks
    (tokens are verified as in production; one token per node, minted once); a request to the
    gateway comes from a handler of ``home``."""

    def __init__(self, home: str = "53") -> None:
        self.home = home
        self.key = SigningKey.generate("ES256", kid="xinfang-bench")
        self.verifier = TokenVerifier(StaticKeys(self.key.jwks()), "xinfang-bench", "xinfang")
        self.tokens: dict[str, str] = {}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        code = (
            request.url.path.split("/")[2] if request.url.path.startswith("/nodes/") else self.home
        )
        if code not in self.tokens:
            self.tokens[code] = self.key.mint(
                subject=f"bench@{code}",
                jurisdiction=code,
                roles=[Role.HANDLER],
                issuer="xinfang-bench",
                audience="xinfang",
                ttl=24 * 3600,
            )
        request.headers["authorization"] = f"Bearer {self.tokens[code]}"
        yield request


async def run(args: argparse.Namespace) -> Report:
    settings = Settings.from_env()
    url = server_url(settings.database_url, settings.data_dir)
    # The province node keeps the matter index every registration consults (docs/adr/0009).
    province = args.registration_node[:2]
    nodes = [args.node, args.registration_node, province]
    engine = await open_database(url, args.database, nodes, pool_size=max(10, *args.concurrency))
    counter = StatementCounter(engine)
    try:
        version = await server_version(engine)
        calendar = load_calendar(settings)
        await reset_node(engine, args.registration_node)
        await reset_node(engine, province)
        load = await prepare(
            engine,
            args.node,
            args.cases,
            calendar=calendar,
            person_key_secret=settings.person_key_secret,
            seed=args.seed,
        )
        ids = await case_ids(engine, args.node)
        per_run = [args.registrations] * len(args.concurrency)
        inputs = petitions(
            args.registration_node, WARMUP_REGISTRATIONS + sum(per_run), seed=args.seed
        )
        registry = NodeRegistry()
        users = BenchUsers()
        # Without the figures refresher: its recounts would be counted as the requests' SQL.
        app = build_app(
            engine, nodes, settings, registry, users.verifier, figures=False, alerts=False
        )
        limits = httpx.Limits(
            max_connections=max(args.concurrency), max_keepalive_connections=max(args.concurrency)
        )
        async with (
            serving(app) as base,
            httpx.AsyncClient(base_url=base, limits=limits, timeout=120, auth=users) as client,
        ):
            registry.tiers.update(dict.fromkeys(Tier, base))  # one process hosts them all
            await register_all(
                client,
                args.registration_node,
                inputs[:WARMUP_REGISTRATIONS],
                counter,
                concurrency=1,
            )
            registrations = []
            start = WARMUP_REGISTRATIONS
            for concurrency, count in zip(args.concurrency, per_run, strict=True):
                batch = inputs[start : start + count]
                start += count
                registrations.append(
                    await register_all(
                        client, args.registration_node, batch, counter, concurrency=concurrency
                    )
                )
            await relayed(engine, args.registration_node)  # its messages are registration's work
            await set_aside_unserved(engine, args.registration_node)
            entities = await measure(
                client,
                args.node,
                ids,
                counter,
                references=args.references,
                repeats=args.repeats,
                warmups=args.warmups,
                seed=args.seed,
            )
    finally:
        counter.close()
        await engine.dispose()
    return Report(
        database=f"{describe(url)} / {args.database}",
        server_version=version,
        node=args.node,
        registration_node=args.registration_node,
        load=load,
        registrations=registrations,
        entities=entities,
    )


def table(report: Report) -> str:
    load = report.load
    loaded = (
        f"bulk-loaded {load.cases:,} cases in {load.seconds:.1f} s"
        if load.seconds is not None
        else f"reused {load.cases:,} cases loaded earlier"
    )
    lines = [
        f"database   {report.database} (PostgreSQL {report.server_version})",
        f"client     Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        "client and server share one process and event loop",
        f"_entities  node {report.node}: {loaded}",
        "",
        f"{'benchmark':<44} {'n':>6} {'cases/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        "  per request",
        "-" * 100,
    ]
    for r in report.registrations:
        name = f"registerPetition, concurrency {r.concurrency}"
        lines.append(
            f"{name:<44} {r.latency.count:>6} {r.rate:>9.1f} {r.latency.p50:>8.1f} "
            f"{r.latency.p95:>8.1f} {r.latency.max:>8.1f}  "
            f"{r.statements_each:.1f} SQL statements, relay included"
        )
    e = report.entities
    low, high = min(e.statements), max(e.statements)
    statements = f"{low}" if low == high else f"{low}-{high}"
    name = f"_entities, {e.references:,} refs, {load.cases:,}-case node"
    lines.append(
        f"{name:<44} {e.latency.count:>6} {'-':>9} {e.latency.p50:>8.1f} {e.latency.p95:>8.1f} "
        f"{e.latency.max:>8.1f}  {e.response_bytes / 1024:,.0f} KiB, {statements} SQL statements"
    )
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if argv[:1] == ["--"]:  # `xinfang bench -- --quick`: the separator reaches us too
        argv = argv[1:]
    if argv[:1] == ["gateways"]:  # `xinfang bench gateways ...`: the gateway side by side
        from bench.gateways.run import main as gateways_main

        return gateways_main(argv[1:])
    if argv[:1] == ["load"]:  # `xinfang bench load ...`: dashboard reads and handler writes
        from bench.load import main as load_main

        return load_main(argv[1:])
    if argv[:1] == ["hotline"]:  # `xinfang bench hotline ...`: importing a 12345 export
        from bench.hotline import main as hotline_main

        return hotline_main(argv[1:])
    if argv[:1] == ["overview"]:  # `xinfang bench overview ...`: the leaders' province overview
        from bench.overview import main as overview_main

        return overview_main(argv[1:])
    if argv[:1] == ["alerts"]:  # `xinfang bench alerts ...`: the province's alert list
        from bench.alerts import main as alerts_main

        return alerts_main(argv[1:])
    if argv[:1] == ["divisions"]:  # `xinfang bench divisions ...`: loading the division tree
        from bench.divisions import main as divisions_main

        return divisions_main(argv[1:])
    if argv[:1] == ["dashboard"]:  # `xinfang bench dashboard ...`: the page in Chromium
        from bench.dashboard import main as dashboard_main

        return dashboard_main(argv[1:])
    args = resolved(build_parser().parse_args(argv))
    try:
        report = asyncio.run(run(args))
    except (RuntimeError, httpx.HTTPError, OSError) as error:
        print(f"xinfang bench: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(table(report))
    return 0

"""The ``xinfang`` command. Subcommands grow with the platform: run, seed, verify, hotline,
bench."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from strawberry.federation import Schema

from shared.access import verifier_from_env
from shared.auth import TokenVerifier
from shared.casework import CaseWork, FixedClock, SystemClock
from shared.divisions import Tier, ancestors, division_tree, tier_of
from shared.graphql.app import create_service_app
from shared.holidays import HolidayCalendar, default_calendar
from shared.hotline import ParsedFile, RowCode, RowError, TicketFormat, format_for, parse
from shared.messaging import alert_flows, figures_flows
from shared.persistence.database import create_engine, describe, ensure_database, server_url
from shared.persistence.migrate import migrate_nodes
from shared.persistence.province import Progress, Seeded, seed_nodes_bulk
from shared.persistence.repository import NodeDatabase, verify_log
from shared.registry import NodeRegistry
from shared.roles.hotline import ImportReport, import_tickets
from shared.seed import plan_node, spread, write_planned
from shared.service import TierService
from shared.settings import Settings
from shared.telemetry import configure_tracing

log = logging.getLogger("xinfang")

DEFAULT_PROVINCE = "53"  # Yunnan: the reference province (DESIGN.md)


ALL_TIERS = "all"
# A province-wide query asks every township in one _entities call per service: seconds, not ms.
GATEWAY_TIMEOUT = 60.0


def chosen_tiers(name: str) -> list[Tier]:
    return list(Tier) if name == ALL_TIERS else [Tier(name.upper())]


def tier_nodes(tiers: Sequence[Tier], province: str, only: Sequence[str] = ()) -> list[str]:
    """The nodes to host: ``only`` when given, else every node of the tiers in the province."""
    if only:
        return list(only)
    return [d.code for d in division_tree().province_nodes(province) if d.tier in tiers]


def load_calendar(settings: Settings) -> HolidayCalendar:
    if settings.calendar_file is not None:
        return HolidayCalendar.from_file(settings.calendar_file)
    return default_calendar()


async def prepare_database(settings: Settings, nodes: Sequence[str]) -> tuple[str, AsyncEngine]:
    url = server_url(settings.database_url, settings.data_dir)
    await ensure_database(url, settings.database_name)
    engine = create_engine(url, settings.database_name)
    started = time.perf_counter()
    await migrate_nodes(engine, list(nodes))
    log.info("migrated %d node schemas in %.1fs", len(nodes), time.perf_counter() - started)
    return url, engine


async def seed_nodes(
    engine: AsyncEngine,
    nodes: Sequence[str],
    *,
    cases_per_node: int,
    settings: Settings,
    seed: int = 0,
    progress: bool = True,
) -> int:
    """Demo data by the bulk path (COPY): ``cases_per_node`` for each node that has none."""
    counts = dict.fromkeys(nodes, cases_per_node)
    return (
        await seed_counts(engine, counts, settings=settings, seed=seed, progress=progress)
    ).cases


async def seed_counts(
    engine: AsyncEngine,
    counts: dict[str, int],
    *,
    settings: Settings,
    seed: int = 0,
    progress: bool = True,
) -> Seeded:
    bar = Progress(sum(counts.values())) if progress else None
    seeded = await seed_nodes_bulk(
        engine,
        counts,
        now=datetime.now(UTC),
        calendar=load_calendar(settings),
        person_key_secret=settings.person_key_secret,
        seed=seed,
        progress=bar,
    )
    if bar is not None:
        bar.close(f"({seeded.nodes} empty nodes, {seeded.reviews} reviews, {seeded.orders} orders)")
    await converge_figures(engine, list(counts), settings=settings)
    return seeded


async def converge_figures(engine: AsyncEngine, nodes: Sequence[str], *, settings: Settings) -> int:
    """Every node's subtree figures computed bottom-up and reported up as delivered, so that
    the figures are right from the first read (docs/adr/0013); then every node's alerts
    evaluated and copied to its ancestors the same way (docs/adr/0016)."""
    started = time.perf_counter()
    calendar = load_calendar(settings)
    clock = SystemClock()
    works = {
        code: CaseWork(
            NodeDatabase(engine, code),
            calendar=calendar,
            clock=clock,
            person_key_secret=settings.person_key_secret,
        )
        for code in nodes
    }
    applied = await figures_flows.converge(works)
    log.info("figures of %d nodes converged in %.1fs", len(nodes), time.perf_counter() - started)
    started = time.perf_counter()
    raised = await alert_flows.converge(works)
    log.info(
        "%d alerts raised at %d nodes and reported up in %.1fs",
        raised,
        len(nodes),
        time.perf_counter() - started,
    )
    return applied


async def append_nodes(
    engine: AsyncEngine,
    nodes: Sequence[str],
    *,
    cases_per_node: int,
    settings: Settings,
    seed: int = 0,
) -> int:
    """More cases into nodes that may have some, one transaction per act through CaseWork."""
    now = datetime.now(UTC)
    calendar = load_calendar(settings)
    total = 0
    for code in nodes:
        db = NodeDatabase(engine, code)
        clock = FixedClock(now)
        work = CaseWork(
            db, calendar=calendar, clock=clock, person_key_secret=settings.person_key_secret
        )
        planned = plan_node(code, cases_per_node, now=now, seed=seed, peers=())
        await write_planned(work, clock, planned, now=now)
        total += len(planned)
    await converge_figures(engine, nodes, settings=settings)
    return total


def build_app(
    engine: AsyncEngine,
    nodes: Sequence[str],
    settings: Settings,
    registry: NodeRegistry,
    verifier: TokenVerifier | None = None,
    *,
    relay: bool = True,
    figures: bool = True,
    alerts: bool = True,
) -> Starlette:
    """One process serving every given node, each with its tier's schema (users' tokens
    checked by ``verifier``, by default the one the environment names; ``figures``: with the
    refresher that reports the subtree figures up, docs/adr/0013; ``alerts``: with the
    periodic alert evaluation, docs/adr/0016)."""
    calendar = load_calendar(settings)
    parts: list[tuple[TierService, Schema]] = []
    for tier in Tier:
        hosted = [code for code in nodes if tier_of(code) is tier]
        if not hosted:
            continue
        module = importlib.import_module(f"{tier.value.lower()}.schema")
        service = TierService(
            tier=tier,
            engine=engine,
            calendar=calendar,
            person_key_secret=settings.person_key_secret,
            registry=registry,
            refresh_figures=figures,
            evaluate_alerts=alerts,
        )
        service.host(hosted)
        parts.append((service, module.schema))
    return create_service_app(parts, relay=relay, verifier=verifier)


def cmd_run(args: argparse.Namespace) -> int:
    """Tier services in their own processes, the gateway in front at ``--port`` (with
    ``--registry`` or ``--services-only``: one tier service, no gateway)."""
    import uvicorn

    from gateway.routing import KeyRouter
    from gateway.server import create_gateway_app, policy_from_env
    from gateway.supergraph import load_supergraph
    from shared import local_platform as platform

    settings = Settings.from_env()
    nodes = tier_nodes(chosen_tiers(args.tier), args.province, args.nodes)
    base = f"http://{args.host}:{args.port}"

    async def prepare() -> str:
        url, engine = await prepare_database(settings, nodes)
        seeded = 0
        if args.cases_per_node > 0:
            seeded = await seed_nodes(
                engine, nodes, cases_per_node=args.cases_per_node, settings=settings
            )
        await engine.dispose()
        print(
            f"database: {describe(url)} / {settings.database_name}"
            f"{f' (seeded {seeded} cases)' if seeded else ''}"
        )
        return url

    if not (args.registry or args.services_only):
        # The one address users need comes first, before the (possibly long) preparation.
        print(f"gateway: {base}/graphql   dashboard: {base}/dashboard   (starting…)", flush=True)
    url = asyncio.run(prepare())
    users = verifier_from_env()  # before the tier processes start: they share the demo key
    if args.registry or args.services_only:
        return serve_services(args, settings, url, nodes)
    processes = platform.plan_tier_processes(nodes, args.host, args.port)
    registry = platform.local_registry(processes, None)
    sdl = platform.SUPERGRAPH.read_text(encoding="utf-8")
    fallback = {
        tier.value.lower(): f"{url.rstrip('/')}/tiers/{tier.value.lower()}/graphql"
        for tier, url in registry.tiers.items()
    }
    platform.start_tier_processes(processes, registry)
    try:
        configure_tracing("xinfang-gateway")
        router = KeyRouter(registry, {**load_supergraph(sdl).subgraph_urls(), **fallback})
        front = platform.create_front_app(
            create_gateway_app(
                sdl,
                verifier=users,
                router=router,
                timeout=GATEWAY_TIMEOUT,
                **policy_from_env(),
            ),
            registry,
            processes,
        )
        tree = division_tree()
        print(f"gateway: {base}/graphql   (GraphiQL in a browser; one query, every node)")
        print(f"dashboard: {base}/dashboard")
        print(
            f"serving {len(nodes)} nodes of province {args.province} ({tree.name(args.province)})"
        )
        for planned in processes:
            first = planned.nodes[0]
            print(
                f"  {planned.tier.value.lower():9} {len(planned.nodes):5} nodes, e.g. "
                f"{tree.name(first)} {base}/nodes/{first}/graphql  (service {planned.base_url})"
            )
        print(f"every node: {base}/   health: {base}/health   ready: {base}/ready")
        print(sign_in_hint(base))
        sys.stdout.flush()
        # uvicorn re-raises SIGTERM once it has stopped; this handler lets `finally` run.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        uvicorn.run(front, host=args.host, port=args.port, log_level="warning")
    finally:
        platform.stop_tier_processes(processes)
    return 0


def sign_in_hint(base: str) -> str:
    """How a person gets a token for this platform."""
    if os.environ.get("XINFANG_JWKS"):
        return "sign in: a bearer token from the identity provider XINFANG_JWKS names"
    return (
        "sign in (demo key, .data/keys): TOKEN=$(xinfang token --jurisdiction 53 --roles leader)"
        f"\n  then {base}/dashboard?token=$TOKEN, or send 'Authorization: Bearer $TOKEN'"
    )


def serve_services(
    args: argparse.Namespace, settings: Settings, url: str, nodes: Sequence[str]
) -> int:
    """One tier service for ``nodes`` on ``--port``, no gateway: one service of a larger
    deployment (its registry says where the other nodes are; ``xinfang gateway`` fronts it)."""
    import uvicorn

    base = f"http://{args.host}:{args.port}"
    registry = (
        NodeRegistry.from_file(Path(args.registry))
        if args.registry
        else NodeRegistry(tiers=dict.fromkeys(Tier, base))
    )
    configure_tracing("xinfang-tiers")
    app = build_app(create_engine(url, settings.database_name), nodes, settings, registry)
    tree = division_tree()
    print(f"serving {len(nodes)} nodes of province {args.province} ({tree.name(args.province)})")
    for tier in Tier:
        of_tier = [code for code in nodes if tier_of(code) is tier]
        if of_tier:
            print(
                f"  {tier.value.lower():9} {len(of_tier):5} nodes, e.g. {tree.name(of_tier[0])} "
                f"{base}/nodes/{of_tier[0]}/graphql"
            )
    print(f"every node: {base}/   health: {base}/health   ready: {base}/ready")
    print(sign_in_hint(base).split("\n", 1)[0])
    sys.stdout.flush()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_seed(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    nodes = tier_nodes(chosen_tiers(args.tier), args.province, args.nodes)

    async def run() -> int:
        _, engine = await prepare_database(settings, nodes)
        try:
            if args.append:
                return await append_nodes(
                    engine,
                    nodes,
                    cases_per_node=args.cases_per_node,
                    settings=settings,
                    seed=args.seed,
                )
            counts = (
                spread(args.scale, nodes)
                if args.scale is not None
                else dict.fromkeys(nodes, args.cases_per_node)
            )
            seeded = await seed_counts(engine, counts, settings=settings, seed=args.seed)
            return seeded.cases
        finally:
            await engine.dispose()

    started = time.perf_counter()
    count = asyncio.run(run())
    elapsed = time.perf_counter() - started
    print(
        f"seeded {count} cases over {len(nodes)} nodes in {elapsed:.1f}s "
        f"({count / elapsed:,.0f} cases/s, schemas included)"
    )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    nodes = tier_nodes(chosen_tiers(args.tier), args.province, args.nodes)
    calendar = load_calendar(settings)

    async def run() -> tuple[int, list[str]]:
        _, engine = await prepare_database(settings, nodes)
        checked, bad = 0, []
        try:
            for code in nodes:
                async with NodeDatabase(engine, code).connect() as conn:
                    n, mismatched = await verify_log(conn, calendar)
                checked += n
                bad.extend(mismatched)
        finally:
            await engine.dispose()
        return checked, bad

    checked, bad = asyncio.run(run())
    print(
        f"replayed the event logs of {checked} cases over {len(nodes)} nodes: "
        f"{len(bad)} differ from their stored state"
    )
    for case_id in bad[:20]:
        print(f"  {case_id}")
    return 1 if bad else 0


async def import_hotline(
    engine: AsyncEngine,
    data: str | bytes,
    fmt: TicketFormat,
    *,
    settings: Settings,
    convert: bool = False,
    actor: str = "xinfang hotline import",
    province: str | None = None,
    converge: bool = True,
) -> ImportReport:
    """Import a 12345 file: each ticket at the node its division names, one transaction per
    node (``shared.roles.hotline.import_tickets``), then the figures of those nodes and their
    ancestors converged, as after seeding (docs/adr/0013), so the volume figures are right at
    once (``converge=False``: leave them to the services' refreshers). ``province``: refuse
    tickets of another province (``WRONG_NODE``)."""
    clock = SystemClock()
    parsed = parse(data, fmt, now=clock.now())
    by_node: dict[str, ParsedFile] = {}
    report = ImportReport(rows=parsed.rows, errors=list(parsed.errors))
    for row, ticket in parsed.tickets:
        code = ticket.division_code
        if province is not None and not code.startswith(province):
            report.errors.append(
                RowError(
                    row,
                    ticket.ticket_number,
                    RowCode.WRONG_NODE,
                    "divisionCode",
                    f"division {code} is not in province {province}",
                )
            )
            continue
        by_node.setdefault(code, ParsedFile()).tickets.append((row, ticket))
    if by_node:
        nodes = sorted({a for code in by_node for a in (*ancestors(code), code)})
        await migrate_nodes(engine, nodes)
        calendar = load_calendar(settings)
        for code, part in sorted(by_node.items()):
            work = CaseWork(
                NodeDatabase(engine, code),
                calendar=calendar,
                clock=clock,
                person_key_secret=settings.person_key_secret,
            )
            report.add(await import_tickets(work, part, actor=actor, convert=convert))
        if converge:
            await converge_figures(engine, nodes, settings=settings)
    report.duplicate_rows.sort()
    return report


def hotline_summary(report: ImportReport, limit: int = 50) -> str:
    """The command's report: the counts, then the rejected rows (row, code, field, why)."""
    lines = [
        f"{report.rows} rows: {report.imported} imported, {report.duplicates} duplicates "
        f"({report.updated} with a new state), {report.rejected} rejected, "
        f"{len(report.converted)} converted to petitions"
    ]
    if report.duplicate_rows:
        shown = ", ".join(str(r) for r in report.duplicate_rows[:limit])
        more = " …" if len(report.duplicate_rows) > limit else ""
        lines.append(f"duplicate rows: {shown}{more}")
    errors = sorted(report.errors, key=lambda e: e.row)
    for error in errors[:limit]:
        where = f" {error.field}" if error.field else ""
        lines.append(f"  row {error.row}: {error.code.value}{where}: {error.message}")
    if len(errors) > limit:
        lines.append(f"  … and {len(errors) - limit} more faults")
    return "\n".join(lines)


def cmd_hotline(args: argparse.Namespace) -> int:
    """``xinfang hotline import FILE``: exit 0 when every row was imported or a duplicate, 1
    when some were rejected (the others are imported), 2 when the file could not be read."""
    from shared.errors import DomainError

    settings = Settings.from_env()
    path = Path(args.file)
    try:
        fmt = format_for(path.name, args.format)
        data = path.read_bytes()
    except (OSError, DomainError) as error:
        print(f"xinfang hotline import: {getattr(error, 'message', error)}", file=sys.stderr)
        return 2

    async def run() -> ImportReport:
        _, engine = await prepare_database(settings, [])
        try:
            return await import_hotline(
                engine,
                data,
                fmt,
                settings=settings,
                convert=args.convert,
                province=args.province,
            )
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except DomainError as error:
        print(f"xinfang hotline import: {error.message}", file=sys.stderr)
        return 2
    print(hotline_summary(report))
    return 1 if report.errors else 0


def cmd_compose(args: argparse.Namespace) -> int:
    from gateway.compose import main as compose_main

    return compose_main(args.rest)


def cmd_gateway(args: argparse.Namespace) -> int:
    from gateway.server import main as gateway_main

    return gateway_main(args.rest)


def cmd_persisted_queries(args: argparse.Namespace) -> int:
    from gateway.persisted import main as persisted_main

    return persisted_main(args.rest)


def cmd_token(args: argparse.Namespace) -> int:
    from shared.auth import AuthSettings, Role, SigningKey

    settings = Settings.from_env()
    folder = Path(args.keys) if args.keys else settings.data_dir / "keys"
    if (folder / "signing-key.pem").is_file():
        key = SigningKey.load(folder)
    else:
        key = SigningKey.generate(args.algorithm)
        key.save(folder)
        print(f"new {key.algorithm} signing key {key.kid}: {folder}/", file=sys.stderr)
    if args.print_jwks:
        print(json.dumps(key.jwks(), indent=2))
        return 0
    if not args.jurisdiction or not args.role:
        print("xinfang token: --jurisdiction and at least one --role are needed", file=sys.stderr)
        return 2
    if division_tree().get(args.jurisdiction) is None:
        print(f"xinfang token: no jurisdiction {args.jurisdiction}", file=sys.stderr)
        return 2
    auth = AuthSettings.from_env()
    roles = [Role(r) for r in args.role]
    subject = args.sub or f"demo-{roles[0].value}@{args.jurisdiction}"
    print(
        key.mint(
            subject=subject,
            jurisdiction=args.jurisdiction,
            roles=roles,
            issuer=auth.issuer,
            audience=auth.audience,
            ttl=args.ttl,
        )
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.run import main as bench_main

    return bench_main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xinfang", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    def node_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--tier", default=ALL_TIERS, choices=[ALL_TIERS, *(t.value.lower() for t in Tier)]
        )
        p.add_argument("--province", default=DEFAULT_PROVINCE)
        p.add_argument("--nodes", nargs="*", default=[], help="only these node codes")

    run = sub.add_parser("run", help="run a tier service (embedded PostgreSQL by default)")
    node_options(run)
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument(
        "--registry",
        help="node registry JSON: this process is one tier service of a larger deployment "
        "(no gateway in front; default: this machine serves everything, gateway included)",
    )
    run.add_argument(
        "--services-only",
        action="store_true",
        help="serve the nodes as one tier service on --port, without the gateway",
    )
    run.add_argument(
        "--cases-per-node",
        type=int,
        default=4,
        help="synthetic cases for each node that has none yet (0: none)",
    )
    run.set_defaults(handler=cmd_run)

    seed = sub.add_parser(
        "seed", help="write synthetic cases (planned through the case engine, loaded with COPY)"
    )
    node_options(seed)
    seed.add_argument("--cases-per-node", type=int, default=20)
    seed.add_argument(
        "--scale",
        type=int,
        metavar="N",
        help="N cases in all, spread over the nodes by tier (instead of --cases-per-node)",
    )
    seed.add_argument(
        "--append",
        action="store_true",
        help="also seed nodes that have cases (slow: every act a transaction through CaseWork)",
    )
    seed.add_argument("--seed", type=int, default=0)
    seed.set_defaults(handler=cmd_seed)

    verify = sub.add_parser("verify", help="replay every event log and compare with the cases")
    node_options(verify)
    verify.set_defaults(handler=cmd_verify)

    hotline = sub.add_parser("hotline", help="12345 hotline tickets (docs/hotline.md)")
    hotline_sub = hotline.add_subparsers(dest="hotline_command", required=True)
    hotline_import = hotline_sub.add_parser(
        "import",
        help="import a file of 12345 tickets, each at its division's node (idempotent)",
        description="Import 12345 tickets (JSON, JSON Lines or CSV, docs/hotline.md) into the "
        "database: each at the node of its division, one transaction per node; a ticket number "
        "already imported is a duplicate. Prints the counts imported / duplicates / rejected "
        "and each rejected row with its code.",
    )
    hotline_import.add_argument("file")
    hotline_import.add_argument(
        "--format", choices=["json", "csv"], help="default: by the extension (.csv: csv)"
    )
    hotline_import.add_argument(
        "--convert",
        action="store_true",
        help="also convert the tickets flagged isPetition into petitions",
    )
    hotline_import.add_argument(
        "--province", default=DEFAULT_PROVINCE, help="refuse tickets of other provinces"
    )
    hotline_import.set_defaults(handler=cmd_hotline)

    compose = sub.add_parser(
        "compose", help="write each tier's SDL and compose the supergraph (--check: verify)"
    )
    compose.add_argument("rest", nargs=argparse.REMAINDER)
    compose.set_defaults(handler=cmd_compose)

    gateway = sub.add_parser("gateway", help="serve a supergraph: the federation gateway")
    gateway.add_argument("rest", nargs=argparse.REMAINDER)
    gateway.set_defaults(handler=cmd_gateway)

    persisted = sub.add_parser(
        "persisted-queries",
        help="write a persisted-query manifest of .graphql files (the gateway's allow list)",
    )
    persisted.add_argument("rest", nargs=argparse.REMAINDER)
    persisted.set_defaults(handler=cmd_persisted_queries)
    token = sub.add_parser(
        "token",
        help="mint a JWT from the local demo key (made under .data/keys/ on first use)",
        description="Mint a token for the demo and tests. Its public key set is "
        "<keys>/jwks.json: point XINFANG_JWKS at it (a real identity provider: its issuer URL).",
    )
    token.add_argument("--jurisdiction", help="the user's division code, e.g. 5301")
    token.add_argument(
        "--role",
        "--roles",
        action="append",
        dest="role",
        choices=["leader", "handler", "analyst", "auditor"],
        help="a role of the user (repeatable)",
    )
    token.add_argument("--sub", help="the subject (default: demo-<role>@<jurisdiction>)")
    token.add_argument("--ttl", type=float, default=8 * 3600, help="seconds (default 8 h)")
    token.add_argument("--keys", help="key folder (default: $XINFANG_DATA_DIR/keys)")
    token.add_argument("--algorithm", choices=["ES256", "RS256"], default="ES256")
    token.add_argument("--print-jwks", action="store_true", help="print the public key set")
    token.set_defaults(handler=cmd_token)

    bench = sub.add_parser("bench", help="run the benchmarks in bench/ and print a table")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(handler=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # These have their own options: hand them over untouched (so `--help` is theirs too).
    if words[:1] == ["bench"]:
        from bench.run import main as bench_main

        return bench_main(words[1:])
    if words[:1] == ["compose"]:
        from gateway.compose import main as compose_main

        return compose_main(words[1:])
    if words[:1] == ["gateway"]:
        from gateway.server import main as gateway_main

        return gateway_main(words[1:])
    args = build_parser().parse_args(words)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    handler = args.handler
    result: int = handler(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())

"""A whole demo province for the leaders' benches: its database, and it served with a gateway.

``xinfang bench overview``, ``alerts`` and ``dashboard`` all measure reads of a province over
every one of its nodes. They share this: the database of ``xinfang run`` (``XINFANG_DATABASE``,
default xinfang; or ``--database``) with its nodes migrated, demo cases seeded into nodes that
have none and the figures and alerts converged (or, ``as_is``, left exactly as they are, e.g. a
database seeded once with ``xinfang seed --scale 1000000``); then every tier service and the
gateway in front, key-routed through a node registry, under uvicorn in this process and event
loop. The services' refreshers and relays do not run: the reads alone are measured.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.run import BenchUsers
from bench.server import serving
from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.cli import build_app, converge_figures, prepare_database, seed_nodes
from shared.divisions import Tier, division_tree
from shared.local_platform import SUPERGRAPH
from shared.persistence.database import describe
from shared.persistence.migrate import schema_for
from shared.registry import NodeRegistry
from shared.settings import Settings

__all__ = ["DemoProvince", "ServedProvince", "count_cases", "demo_province", "served"]


@dataclass(frozen=True)
class DemoProvince:
    code: str
    nodes: list[str]
    engine: AsyncEngine
    settings: Settings
    database: str  # where, for the table's header
    cases: int
    prepared_seconds: float  # seeding and converging (0 when measured as it was)


@dataclass(frozen=True)
class ServedProvince:
    front: str  # the gateway's base URL
    registry: NodeRegistry  # where each node answers directly

    @property
    def graphql(self) -> str:
        return f"{self.front}/graphql"


async def count_cases(nodes: Sequence[str], engine: AsyncEngine) -> int:
    total = 0
    async with engine.connect() as conn:
        for start in range(0, len(nodes), 400):
            union = " UNION ALL ".join(
                f'SELECT count(*) FROM "{schema_for(code)}".cases'
                for code in nodes[start : start + 400]
            )
            total += sum(int(n) for (n,) in await conn.execute(text(union)))
    return total


@asynccontextmanager
async def demo_province(
    code: str, *, database: str | None, cases_per_node: int, as_is: bool = False
) -> AsyncIterator[DemoProvince]:
    """The province's database ready to read; the engine is disposed of when the block ends."""
    settings = Settings.from_env()
    if database:
        settings = dataclasses.replace(settings, database_name=database)
    nodes = [d.code for d in division_tree().province_nodes(code)]
    url, engine = await prepare_database(settings, nodes)
    try:
        started = time.perf_counter()
        if as_is:
            pass
        elif cases_per_node > 0:
            await seed_nodes(
                engine, nodes, cases_per_node=cases_per_node, settings=settings, progress=False
            )
        else:
            await converge_figures(engine, nodes, settings=settings)  # the alerts too
        prepared = 0.0 if as_is else time.perf_counter() - started
        yield DemoProvince(
            code=code,
            nodes=nodes,
            engine=engine,
            settings=settings,
            database=f"{describe(url)} / {settings.database_name}",
            cases=await count_cases(nodes, engine),
            prepared_seconds=prepared,
        )
    finally:
        await engine.dispose()


@asynccontextmanager
async def served(
    province: DemoProvince, users: BenchUsers, *, alerts: bool = True
) -> AsyncIterator[ServedProvince]:
    """Every tier service and the gateway in front, while the block runs (``alerts``: with
    the services' periodic alert evaluation)."""
    registry = NodeRegistry()
    services = build_app(
        province.engine,
        province.nodes,
        province.settings,
        registry,
        users.verifier,
        relay=False,
        alerts=alerts,
    )
    async with serving(services) as base:
        registry.tiers.update(dict.fromkeys(Tier, base))
        fallback = {t.value.lower(): f"{base}/tiers/{t.value.lower()}/graphql" for t in Tier}
        router = KeyRouter(registry, fallback)
        sdl = SUPERGRAPH.read_text(encoding="utf-8")
        gateway = create_gateway_app(sdl, router=router, timeout=120, verifier=users.verifier)
        async with serving(gateway) as front:
            yield ServedProvince(front, registry)

"""A whole province on real PostgreSQL: 1,607 node schemas of Yunnan with a few cases each.

Creating 1,607 schemas (with their roles) and loading their cases takes about two minutes, so
the database is built once per server and kept: ``xinfang_test_province53_<digest>``, the
digest taken over what makes a node (see ``database_name``). Tests only read it. A newer build
replaces older ones.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import CaseWork, FixedClock
from shared.divisions import division_tree
from shared.holidays import default_calendar
from shared.messaging import alert_flows, figures_flows
from shared.persistence import migrate, roles
from shared.persistence.database import _admin, create_engine, drop_database, ensure_database
from shared.persistence.migrate import migrate_nodes, new_node_script, schema_for
from shared.persistence.province import seed_nodes_bulk
from shared.persistence.repository import NodeDatabase
from tests.conftest import no_commit_waits

PROVINCE = "53"
CASES_PER_NODE = 3
DATA_PLAN = (
    f"v5 seeded with trails, figures, alerts, {CASES_PER_NODE} cases per node, seed 0, 2025-06-01"
)
NOW = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
SECRET = b"test-person-key-secret-0123456789"
PREFIX = f"xinfang_test_province{PROVINCE}_"
BUILT = "xinfang_test_built"


def province_nodes() -> list[str]:
    return [d.code for d in division_tree().province_nodes(PROVINCE)]


def database_name() -> str:
    """Named by what makes a node: its schema's SQL, the code creating schemas and roles, the
    data plan. Any change there builds a new database."""
    makers = "".join(Path(m.__file__ or "").read_text() for m in (migrate, roles))
    digest = hashlib.sha256(f"{new_node_script()}\n{makers}\n{DATA_PLAN}".encode())
    return PREFIX + digest.hexdigest()[:12]


async def ensure_province_database(server: str) -> str:
    """The name of the read-only province database, built first if this server lacks it.

    Node roles carry the database's name, so it is built under its final name and marked
    complete at the end; a database without the mark (an interrupted build) is built again.
    """
    name = database_name()
    if await _complete(server, name):
        return name
    await drop_database(server, name)
    await ensure_database(server, name)
    await no_commit_waits(server, name)
    engine = create_engine(server, name)
    try:
        await _build(engine)
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE public.{BUILT} (plan text)"))
            await conn.execute(text(f"INSERT INTO public.{BUILT} VALUES (:p)"), {"p": DATA_PLAN})
    finally:
        await engine.dispose()
    await _drop_older_builds(server, keep=name)
    return name


async def _complete(server: str, name: str) -> bool:
    if not await _admin(server, "SELECT count(*) FROM pg_database WHERE datname = $1", name):
        return False
    engine = create_engine(server, name)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT to_regclass(:t)"), {"t": f"public.{BUILT}"})
            return found.scalar() is not None
    finally:
        await engine.dispose()


async def _build(engine: AsyncEngine) -> None:
    """As ``xinfang seed`` would: every node's cases with the records they leave at other
    nodes (reviews held one tier up, supervision orders at both ends), then the subtree
    figures converged bottom-up (docs/adr/0013), right from the first read, and every node's
    alerts raised and copied to its ancestors (docs/adr/0016)."""
    codes = province_nodes()
    await migrate_nodes(engine, codes)
    calendar = default_calendar()
    await seed_nodes_bulk(
        engine,
        dict.fromkeys(codes, CASES_PER_NODE),
        now=NOW,
        calendar=calendar,
        person_key_secret=SECRET,
    )
    clock = FixedClock(NOW)
    works = {
        code: CaseWork(
            NodeDatabase(engine, code), calendar=calendar, clock=clock, person_key_secret=SECRET
        )
        for code in codes
    }
    await figures_flows.converge(works)
    await alert_flows.converge(works)


async def _drop_older_builds(server: str, keep: str) -> None:
    engine = create_engine(server, "postgres")
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :p AND datname <> :k"),
                {"p": PREFIX + "%", "k": keep},
            )
            older = [r[0] for r in rows]
    finally:
        await engine.dispose()
    for name in older:
        await drop_database(server, name)


async def figures_by_sql(engine: AsyncEngine, codes: list[str]) -> dict[str, tuple[int, int]]:
    """(cases, persons) of every node, read straight from its schema."""
    found: dict[str, tuple[int, int]] = {}
    async with engine.connect() as conn:
        for start in range(0, len(codes), 100):
            union = " UNION ALL ".join(
                f"SELECT '{code}', count(*), coalesce(sum(person_count), 0) "
                f'FROM "{schema_for(code)}".cases'
                for code in codes[start : start + 100]
            )
            for code, cases, persons in await conn.execute(text(union)):
                found[code] = (int(cases), int(persons))
            await conn.commit()  # let go of the chunk's locks: the lock table is shared
    return found

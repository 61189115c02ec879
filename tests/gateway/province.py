"""A whole province on real PostgreSQL: 1,607 node schemas of Yunnan with a few cases each.

Creating 1,607 schemas takes about 80 s and loading their cases another 30 s, so the database
is built once per server and kept: ``xinfang_test_province53_<digest>``, the digest taken over
the node schema's SQL and the data plan. Tests only read it. A newer build replaces older ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.divisions import division_tree
from shared.holidays import default_calendar
from shared.persistence.bulk import load_planned
from shared.persistence.database import _admin, create_engine, drop_database, ensure_database
from shared.persistence.migrate import migrate_nodes, new_node_script, schema_for
from shared.seed import plan_node

PROVINCE = "53"
CASES_PER_NODE = 3
DATA_PLAN = f"v1 {CASES_PER_NODE} cases per node, seed 0, 2025-06-01"
NOW = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
SECRET = b"test-person-key-secret-0123456789"
PREFIX = f"xinfang_test_province{PROVINCE}_"
# Schemas created per transaction (each holds ~40 locks; the server's lock table is shared).
CHUNK = 25


def province_nodes() -> list[str]:
    return [d.code for d in division_tree().province_nodes(PROVINCE)]


def database_name() -> str:
    digest = hashlib.sha256(f"{new_node_script()}\n{DATA_PLAN}".encode()).hexdigest()[:12]
    return PREFIX + digest


async def ensure_province_database(server: str) -> str:
    """The name of the read-only province database, built first if this server lacks it."""
    name = database_name()
    found = await _admin(server, "SELECT count(*) FROM pg_database WHERE datname = $1", name)
    if found:
        return name
    building = f"{PREFIX}build_{uuid.uuid4().hex[:8]}"
    await ensure_database(server, building)
    engine = create_engine(server, building)
    try:
        await _build(engine)
    finally:
        await engine.dispose()
    try:
        await _admin(server, f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    except Exception:  # another run built it first
        await drop_database(server, building)
    await _drop_older_builds(server, keep=name)
    return name


async def _build(engine: AsyncEngine) -> None:
    codes = province_nodes()
    chunks = [codes[i : i + CHUNK] for i in range(0, len(codes), CHUNK)]
    for start in range(0, len(chunks), 2):
        await asyncio.gather(*(migrate_nodes(engine, c) for c in chunks[start : start + 2]))
    calendar = default_calendar()
    limit = asyncio.Semaphore(4)

    async def load(code: str) -> None:
        async with limit:
            planned = plan_node(code, CASES_PER_NODE, now=NOW)
            await load_planned(
                engine, code, planned, now=NOW, calendar=calendar, person_key_secret=SECRET
            )

    await asyncio.gather(*(load(code) for code in codes))


async def _drop_older_builds(server: str, keep: str) -> None:
    engine = create_engine(server, "postgres")
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :p AND datname <> :k"),
                {"p": PREFIX + "%", "k": keep},
            )
            older = [r[0] for r in rows if "_build_" not in r[0]]
    finally:
        await engine.dispose()
    for name in older:
        await drop_database(server, name)


async def figures_by_sql(engine: AsyncEngine, codes: list[str]) -> dict[str, tuple[int, int]]:
    """(cases, persons) of every node, read straight from its schema."""
    found: dict[str, tuple[int, int]] = {}
    async with engine.connect() as conn:
        for start in range(0, len(codes), 400):
            union = " UNION ALL ".join(
                f"SELECT '{code}', count(*), coalesce(sum(person_count), 0) "
                f'FROM "{schema_for(code)}".cases'
                for code in codes[start : start + 400]
            )
            for code, cases, persons in await conn.execute(text(union)):
                found[code] = (int(cases), int(persons))
    return found

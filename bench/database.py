"""The bench's own database: opened, its nodes migrated, a node counted."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.database import create_engine, ensure_database
from shared.persistence.migrate import migrate_nodes, schema_for


async def open_database(
    url: str, name: str, nodes: Sequence[str], *, pool_size: int
) -> AsyncEngine:
    await ensure_database(url, name)
    engine = create_engine(url, name, pool_size=pool_size)
    await migrate_nodes(engine, list(nodes))
    return engine


async def case_count(engine: AsyncEngine, code: str) -> int:
    async with engine.connect() as conn:
        statement = text(f'SELECT count(*) FROM "{schema_for(code)}".cases')
        count: int = (await conn.execute(statement)).scalar_one()
    return count


async def server_version(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        version: str = (await conn.execute(text("SHOW server_version"))).scalar_one()
    return version

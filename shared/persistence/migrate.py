"""Alembic migrations, run once per node schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def schema_for(code: str) -> str:
    """The PostgreSQL schema that holds node ``code``'s tables."""
    if not code.isdigit():
        raise ValueError(f"not a division code: {code!r}")
    return f"node_{code}"


def _config(connection: Connection, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    return config


def upgrade_schema(connection: Connection, schema: str, revision: str = "head") -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    mapped = connection.execution_options(schema_translate_map={None: schema})
    command.upgrade(_config(mapped, schema), revision)


def downgrade_schema(connection: Connection, schema: str, revision: str) -> None:
    mapped = connection.execution_options(schema_translate_map={None: schema})
    command.downgrade(_config(mapped, schema), revision)


async def migrate_nodes(engine: AsyncEngine, codes: list[str]) -> None:
    """Bring every node's schema to the newest revision (idempotent)."""

    def run(connection: Connection) -> None:
        for code in codes:
            upgrade_schema(connection, schema_for(code))

    async with engine.begin() as conn:
        await conn.run_sync(run)

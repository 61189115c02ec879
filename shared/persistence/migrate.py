"""Alembic migrations, run once per node schema.

A province has 1,607 nodes. Running Alembic online for each new schema costs ~0.1 s, so new
schemas replay one rendered script instead: Alembic's own offline SQL for base → head,
rendered once for a placeholder schema. Schemas that exist and are behind go through Alembic
online as usual; schemas at head are found with one query and left alone.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
PLACEHOLDER = "__xinfang_node__"
BATCH = 50  # new schemas created per transaction
PARALLEL = 3  # transactions at once (DDL on separate schemas does not contend much)


def schema_for(code: str) -> str:
    """The PostgreSQL schema that holds node ``code``'s tables."""
    if not code.isdigit():
        raise ValueError(f"not a division code: {code!r}")
    return f"node_{code}"


def _config(schema: str, **attributes: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["schema"] = schema
    config.attributes.update(attributes)
    return config


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(_config(PLACEHOLDER)).get_current_head()
    assert head is not None
    return head


@cache
def new_node_script() -> str:
    """Alembic's SQL for a new node (base → head), for the placeholder schema."""
    output = io.StringIO()
    command.upgrade(_config(PLACEHOLDER, output=output), "head", sql=True)
    script = output.getvalue()
    # Alembic wraps the script in BEGIN/COMMIT; the caller owns the transaction.
    lines = [ln for ln in script.splitlines() if ln.strip() not in ("BEGIN;", "COMMIT;")]
    return "\n".join(lines)


def upgrade_schema(connection: Connection, schema: str, revision: str = "head") -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    mapped = connection.execution_options(schema_translate_map={None: schema})
    command.upgrade(_config(schema, connection=mapped), revision)


def downgrade_schema(connection: Connection, schema: str, revision: str) -> None:
    mapped = connection.execution_options(schema_translate_map={None: schema})
    command.downgrade(_config(schema, connection=mapped), revision)


def node_schema_sql(schema: str) -> str:
    """The statements that create a new node's schema at head."""
    script = new_node_script().replace(PLACEHOLDER, schema)
    return (
        f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}";\n'
        f'SET LOCAL search_path TO "{schema}";\n{script}\nSET LOCAL search_path TO DEFAULT;'
    )


def _versions(connection: Connection, schemas: Sequence[str]) -> dict[str, str | None]:
    """Each schema's revision; None when the schema has no version table (or is missing)."""
    rows = connection.execute(
        text(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'alembic_version' AND table_schema = ANY(:schemas)"
        ),
        {"schemas": list(schemas)},
    ).scalars()
    versioned = list(rows)
    found: dict[str, str | None] = dict.fromkeys(schemas)
    for start in range(0, len(versioned), 500):
        chunk = versioned[start : start + 500]
        union = " UNION ALL ".join(
            f"SELECT '{s}' AS s, version_num FROM \"{s}\".alembic_version" for s in chunk
        )
        for schema, version in connection.execute(text(union)):
            found[schema] = version
    return found


async def migrate_nodes(engine: AsyncEngine, codes: Sequence[str]) -> None:
    """Bring every node's schema to the newest revision (idempotent)."""
    schemas = [schema_for(code) for code in codes]
    # Render outside the greenlet of run_sync: compiling Python there trips CPython 3.11
    # ("AST constructor recursion depth mismatch").
    head = head_revision()
    new_node_script()

    def inspect_schemas(connection: Connection) -> dict[str, str | None]:
        return _versions(connection, schemas)

    async with engine.connect() as conn:
        versions = await conn.run_sync(inspect_schemas)
        await conn.rollback()
    missing = [s for s, v in versions.items() if v is None]
    behind = [s for s, v in versions.items() if v is not None and v != head]

    async def create(batch: Sequence[str]) -> None:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT 1"))  # opens the transaction the script joins
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            for schema in batch:
                # Many statements at once: asyncpg's simple-query path.
                await driver.execute(node_schema_sql(schema))

    batches = [missing[i : i + BATCH] for i in range(0, len(missing), BATCH)]
    for start in range(0, len(batches), PARALLEL):
        await asyncio.gather(*(create(b) for b in batches[start : start + PARALLEL]))

    def upgrade(connection: Connection) -> None:
        for schema in behind:
            upgrade_schema(connection, schema)

    if behind:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade)

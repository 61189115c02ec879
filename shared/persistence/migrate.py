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

from shared.persistence.roles import ensure_roles, login_role, node_role

MIGRATIONS = Path(__file__).parent / "migrations"
PLACEHOLDER = "__xinfang_node__"
BATCH = 8  # new schemas per transaction (each takes ~100 locks; the lock table is shared)
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


def node_schema_sql(schema: str, role: str | None = None, login: str | None = None) -> str:
    """The statements that create a new node's schema at head; with ``role``, owned by the
    node's role, which creates the tables (the version table readable by the ``login`` role,
    which checks revisions)."""
    script = new_node_script().replace(PLACEHOLDER, schema)
    owner = f' AUTHORIZATION "{role}"' if role else ""
    body = f'SET LOCAL search_path TO "{schema}";\n{script}\nSET LOCAL search_path TO DEFAULT;'
    if role is not None:
        body = (
            f'SET LOCAL ROLE "{role}";\n{body}\n'
            f'GRANT USAGE ON SCHEMA "{schema}" TO "{login}";\n'
            f'GRANT SELECT ON "{schema}".alembic_version TO "{login}";\n'
            "RESET ROLE;"
        )
    return f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"{owner};\n{body}'


def _grants_sql(schema: str, role: str, login: str) -> list[str]:
    return [
        f'SET LOCAL ROLE "{role}"',
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{login}"',
        f'GRANT SELECT ON "{schema}".alembic_version TO "{login}"',
        "RESET ROLE",
    ]


def ownership_sql(schema: str, role: str, login: str, tables: Sequence[str] | None) -> list[str]:
    """Hand an existing schema (made before node roles) and its tables to the node's role
    (``tables`` None: it owns them already), and let ``login`` read its revision."""
    statements: list[str] = []
    if tables is not None:
        statements = [f'ALTER SCHEMA "{schema}" OWNER TO "{role}"']
        statements += [f'ALTER TABLE "{schema}"."{t}" OWNER TO "{role}"' for t in tables]
    return statements + _grants_sql(schema, role, login)


def _versions(connection: Connection, schemas: Sequence[str]) -> dict[str, str | None]:
    """Each schema's revision; None when the schema has no version table (or is missing).
    The catalog, not information_schema: that one hides tables the login role cannot use."""
    rows = connection.execute(
        text(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'alembic_version' AND n.nspname = ANY(:schemas)"
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


def _to_settle(connection: Connection, roles: dict[str, str]) -> dict[str, list[str] | None]:
    """Existing schemas not owned by their node's role (with their tables), or whose revision
    the login role cannot read (None)."""
    rows = connection.execute(
        text(
            "SELECT n.nspname, pg_get_userbyid(n.nspowner), "
            "has_schema_privilege(session_user, n.oid, 'USAGE') "
            "AND EXISTS (SELECT 1 FROM pg_class v WHERE v.relnamespace = n.oid "
            "AND v.relname = 'alembic_version' AND has_table_privilege(session_user, v.oid, "
            "'SELECT')), "
            "array(SELECT c.relname FROM pg_class c WHERE c.relnamespace = n.oid "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) "
            "FROM pg_namespace n WHERE n.nspname = ANY(:schemas)"
        ),
        {"schemas": list(roles)},
    )
    settle: dict[str, list[str] | None] = {}
    for schema, owner, readable, tables in rows:
        if owner != roles[schema]:
            settle[schema] = list(tables)
        elif not readable and "alembic_version" in tables:
            settle[schema] = None
    return settle


async def _create(engine: AsyncEngine, schemas: Sequence[tuple[str, str]], login: str) -> None:
    """Create (or empty) the given schemas at head, each owned by its role, in one transaction."""
    async with engine.begin() as conn:
        await conn.execute(text("SELECT 1"))  # opens the transaction the script joins
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        for schema, role in schemas:
            # Many statements at once: asyncpg's simple-query path.
            await driver.execute(node_schema_sql(schema, role, login))


async def reset_node(engine: AsyncEngine, code: str) -> None:
    """Drop node ``code``'s schema and create it again, empty, at the newest revision."""
    database = engine.url.database
    assert database is not None
    role = node_role(database, code)
    async with engine.begin() as conn:
        await ensure_roles(conn, [role])
        login = await login_role(conn)
    await _create(engine, [(schema_for(code), role)], login)


async def migrate_nodes(engine: AsyncEngine, codes: Sequence[str]) -> None:
    """Bring every node's schema to the newest revision, owned by the node's role, which the
    login role may take (idempotent)."""
    schemas = [schema_for(code) for code in codes]
    database = engine.url.database
    assert database is not None
    roles = {schema_for(code): node_role(database, code) for code in codes}
    # Render outside the greenlet of run_sync: compiling Python there trips CPython 3.11
    # ("AST constructor recursion depth mismatch").
    head = head_revision()
    new_node_script()

    def inspect_schemas(connection: Connection) -> dict[str, str | None]:
        return _versions(connection, schemas)

    def settle(connection: Connection) -> None:
        for schema, tables in _to_settle(connection, roles).items():
            for statement in ownership_sql(schema, roles[schema], login, tables):
                connection.exec_driver_sql(statement)

    async with engine.begin() as conn:
        await ensure_roles(conn, list(roles.values()))
        login = await login_role(conn)
        await conn.run_sync(settle)
        versions = await conn.run_sync(inspect_schemas)
    missing = [s for s, v in versions.items() if v is None]
    behind = [s for s, v in versions.items() if v is not None and v != head]

    async def create(batch: Sequence[str]) -> None:
        await _create(engine, [(s, roles[s]) for s in batch], login)

    batches = [missing[i : i + BATCH] for i in range(0, len(missing), BATCH)]
    for start in range(0, len(batches), PARALLEL):
        await asyncio.gather(*(create(b) for b in batches[start : start + PARALLEL]))

    def upgrade(connection: Connection) -> None:
        for schema in behind:
            connection.execute(text(f'SET LOCAL ROLE "{roles[schema]}"'))
            upgrade_schema(connection, schema)
            connection.execute(text("RESET ROLE"))

    if behind:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade)

"""Alembic migrations of a node schema, on real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.migrate import downgrade_schema, node_schema_sql, upgrade_schema
from shared.persistence.tables import metadata

SCRATCH = "node_migration_scratch"


def tables_of(connection: Connection, schema: str) -> set[str]:
    return set(inspect(connection).get_table_names(schema=schema))


async def test_migrations_go_up_down_and_up_again_and_match_the_declared_tables(
    engine: AsyncEngine,
) -> None:
    def run(connection: Connection) -> tuple[set[str], set[str], set[str]]:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{SCRATCH}" CASCADE'))
        upgrade_schema(connection, SCRATCH)
        up = tables_of(connection, SCRATCH)
        downgrade_schema(connection, SCRATCH, "base")
        down = tables_of(connection, SCRATCH)
        upgrade_schema(connection, SCRATCH)
        again = tables_of(connection, SCRATCH)
        connection.execute(text(f'DROP SCHEMA "{SCRATCH}" CASCADE'))
        return up, down, again

    async with engine.begin() as conn:
        up, down, again = await conn.run_sync(run)
    declared = {table.name for table in metadata.sorted_tables}
    assert up == declared | {"alembic_version"}
    assert down == {"alembic_version"}
    assert again == up


async def test_the_event_log_refuses_updates_and_deletes(engine: AsyncEngine) -> None:
    def run(connection: Connection) -> None:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{SCRATCH}" CASCADE'))
        upgrade_schema(connection, SCRATCH)
        connection.execute(
            text(
                f"""INSERT INTO "{SCRATCH}".cases (id, owner_code, issue_locality_code, channel,
                    category, summary, person_count, status, registered_at, last_at, version)
                    VALUES ('1-2025-000001', '1', '1', 'VISIT', 'c', 's', 1, 'REGISTERED',
                    now(), now(), 1)"""
            )
        )
        connection.execute(
            text(
                f"""INSERT INTO "{SCRATCH}".case_events (case_id, seq, at, actor, action,
                    to_status, payload) VALUES ('1-2025-000001', 1, now(), 'a', 'REGISTER',
                    'REGISTERED', '{{}}')"""
            )
        )

    async with engine.begin() as conn:
        await conn.run_sync(run)
    for statement in (
        f"UPDATE \"{SCRATCH}\".case_events SET actor = 'someone else'",
        f'DELETE FROM "{SCRATCH}".case_events',
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    async with engine.begin() as conn:
        count = (
            await conn.execute(text(f'SELECT count(*) FROM "{SCRATCH}".case_events'))
        ).scalar_one()
        await conn.execute(text(f'DROP SCHEMA "{SCRATCH}" CASCADE'))
    assert count == 1


async def test_a_new_node_from_the_rendered_script_equals_one_migrated_by_alembic(
    engine: AsyncEngine,
) -> None:
    online, scripted = "node_compare_online", "node_compare_scripted"

    def describe(connection: Connection, schema: str) -> dict[str, object]:
        columns = connection.execute(
            text(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = :s ORDER BY 1, 2"
            ),
            {"s": schema},
        ).all()
        indexes = connection.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s ORDER BY 1"),
            {"s": schema},
        ).all()
        triggers = connection.execute(
            text(
                "SELECT trigger_name, event_manipulation FROM information_schema.triggers "
                "WHERE trigger_schema = :s ORDER BY 1, 2"
            ),
            {"s": schema},
        ).all()
        version = connection.execute(text(f'SELECT version_num FROM "{schema}".alembic_version'))
        return {
            "columns": [tuple(str(v).replace(schema, "S") for v in row) for row in columns],
            "indexes": [tuple(str(v).replace(schema, "S") for v in row) for row in indexes],
            "triggers": [tuple(row) for row in triggers],
            "version": version.scalar_one(),
        }

    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{online}" CASCADE'))
        await conn.run_sync(lambda c: upgrade_schema(c, online))
        await conn.execute(text("SELECT 1"))
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        await raw.driver_connection.execute(node_schema_sql(scripted))
    async with engine.connect() as conn:
        a = await conn.run_sync(lambda c: describe(c, online))
        b = await conn.run_sync(lambda c: describe(c, scripted))
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{online}" CASCADE'))
        await conn.execute(text(f'DROP SCHEMA "{scripted}" CASCADE'))
    assert a == b
    assert a["triggers"], "the append-only trigger exists"

"""Alembic migrations of a node schema, on real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.migrate import downgrade_schema, upgrade_schema
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

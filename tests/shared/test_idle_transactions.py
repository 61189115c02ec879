"""A transaction left idle (its task cancelled between two statements) is ended by the server
after the engine's idle-in-transaction timeout, and its row locks with it: the writer waiting
for them goes on instead of waiting for ever."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.persistence.database import create_engine, ensure_database

pytestmark = pytest.mark.db


async def test_an_abandoned_transaction_lets_go_of_its_locks(database_server: str) -> None:
    await ensure_database(database_server, "xinfang_idle_test")
    engine = create_engine(database_server, "xinfang_idle_test", idle_in_transaction_seconds=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS held (id int PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO held VALUES (1) ON CONFLICT DO NOTHING"))
        abandoned = await engine.connect()
        await abandoned.begin()
        await abandoned.execute(text("SELECT id FROM held WHERE id = 1 FOR UPDATE"))
        # ... and its task never comes back to it. Another writer of the row:
        async with engine.begin() as conn:
            locked = await asyncio.wait_for(
                conn.execute(text("SELECT id FROM held WHERE id = 1 FOR UPDATE")), timeout=20
            )
            assert locked.scalar_one() == 1
        with pytest.raises(DBAPIError):  # the server ended the abandoned one
            await abandoned.execute(text("SELECT 1"))
        await abandoned.invalidate()
    finally:
        await engine.dispose()

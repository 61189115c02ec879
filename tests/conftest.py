"""Test fixtures on real PostgreSQL: ``DATABASE_URL`` when set, else the embedded server.

Each test run creates its own database (dropped at the end), migrates a few real county nodes
and empties their tables before every test that asks for them.

Acting as a user (``tests/identity.py``, imported first): every service in the suite verifies
tokens against the suite's own test key, as in production (ADR 0015). Give an httpx client
``auth=ActAs()`` and each request carries a token for the natural user: a handler of the node
for ``/nodes/{code}/...`` (subject ``handler@{code}``), a province leader (53) for the
gateway's ``/graphql`` and ``/tiers/...``. Say who acts when it matters:
``ActAs(User("5301", (Role.LEADER,)))`` for a whole client, ``gql(query, user=handler(code,
"clerk@530102"))`` or ``headers=user.headers()`` for one request. ``suite_verifier()`` is the
verifier to hand to ``create_gateway_app``. Messages between nodes are signed by the services
themselves (``shared.access.NodeCredential``), not by tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import tests.identity  # noqa: F401  (first: points XINFANG_JWKS at the test key)
from county.app import create_county_app
from shared.casework import FixedClock
from shared.holidays import default_calendar
from shared.persistence.database import (
    _admin,
    create_engine,
    drop_database,
    ensure_database,
    server_url,
)
from shared.persistence.migrate import migrate_nodes, schema_for
from shared.persistence.tables import metadata
from shared.settings import Settings
from tests.identity import ActAs, User

# Real county codes of Kunming (昆明市): 五华区, 盘龙区, 官渡区.
COUNTY = "530102"
OTHER_COUNTY = "530103"
THIRD_COUNTY = "530111"
TEST_COUNTIES = [COUNTY, OTHER_COUNTY, THIRD_COUNTY]
# One real node of each tier, on one line of the tree: 云南省 > 昆明市 > 五华区 > 华山街道.
PROVINCE = "53"
CITY = "5301"
TOWNSHIP = "530102001"
NODE_OF_TIER = {"province": PROVINCE, "city": CITY, "county": COUNTY, "township": TOWNSHIP}
TEST_NODES = [PROVINCE, CITY, *TEST_COUNTIES, TOWNSHIP]
SECRET = b"test-person-key-secret-0123456789"
START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # Monday 3 March 2025, 10:00 in China


@pytest.fixture(scope="session")
def database_server() -> str:
    settings = Settings.from_env()
    return server_url(settings.database_url, settings.data_dir)


async def no_commit_waits(server: str, name: str) -> None:
    """A database of the suite's own need not wait for each commit to reach the disk (a crash
    loses the last commits, never consistency): a commit waited ~1 ms for it here. For new
    connections to ``name``."""
    await _admin(server, f'ALTER DATABASE "{name}" SET synchronous_commit = off')


@pytest.fixture(scope="session")
async def engine(database_server: str) -> AsyncIterator[AsyncEngine]:
    name = f"xinfang_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await ensure_database(database_server, name)
    await no_commit_waits(database_server, name)
    engine = create_engine(database_server, name)
    try:
        await migrate_nodes(engine, TEST_NODES)
        yield engine
    finally:
        await engine.dispose()
        await drop_database(database_server, name)  # and its node roles


async def empty_nodes(engine: AsyncEngine, codes: list[str]) -> None:
    """Empty every table of the nodes ``codes``. Only the tables holding rows are truncated
    (with what references them): a TRUNCATE of all 37 tables of six nodes took ~250 ms,
    before nearly every test, most of which write to a few tables of one node."""
    tables = [
        f'"{schema_for(code)}".{table.name}' for code in codes for table in metadata.sorted_tables
    ]
    probe = " UNION ALL ".join(
        f"SELECT {i} WHERE EXISTS (SELECT FROM {name})" for i, name in enumerate(tables)
    )
    async with engine.begin() as conn:
        holding = [tables[i] for i in (await conn.execute(text(probe))).scalars()]
        if holding:
            await conn.execute(text(f"TRUNCATE {', '.join(holding)} CASCADE"))


@pytest.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncEngine:
    await empty_nodes(engine, TEST_NODES)
    return engine


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def client(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_county_app(
        clean_engine,
        TEST_COUNTIES,
        calendar=default_calendar(),
        person_key_secret=SECRET,
        clock=clock,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://county.test", auth=ActAs()
    ) as http:
        yield http


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, node: str = COUNTY) -> None:
        self.http = http
        self.node = node

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        node: str | None = None,
        user: User | None = None,
    ) -> dict[str, Any]:
        """One request to the node, as ``user`` (default: the client's, see ActAs)."""
        response = await self.http.post(
            f"/nodes/{node or self.node}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=user.headers() if user is not None else None,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)

"""Each node's transactions run as the node's own role, which cannot touch another node's
tables: checked on real PostgreSQL for nodes of every tier."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import CaseWork, FixedClock, PetitionInput
from shared.holidays import default_calendar
from shared.lifecycle import Action, Channel
from shared.persistence.database import create_engine
from shared.persistence.migrate import migrate_nodes, node_schema_sql, schema_for
from shared.persistence.repository import NodeDatabase
from shared.persistence.roles import node_role
from tests.conftest import COUNTY, NODE_OF_TIER, OTHER_COUNTY, SECRET, START

pytestmark = pytest.mark.db

PETITION = PetitionInput(
    channel=Channel.LETTER,
    category="生态环境",
    summary="反映河道污染",
    issue_locality_code=COUNTY,
    petitioner_name="吴九",
)


def others(code: str) -> list[str]:
    return [c for c in [*NODE_OF_TIER.values(), OTHER_COUNTY] if c != code]


def database_of(engine: AsyncEngine) -> str:
    name = engine.url.database
    assert name is not None
    return name


async def denied(db: NodeDatabase, sql: str) -> bool:
    try:
        async with db.begin() as conn:
            await conn.execute(text(sql))
    except DBAPIError as error:
        return "permission denied" in str(error.orig)
    return False


@pytest.mark.parametrize("tier", list(NODE_OF_TIER))
async def test_a_node_of_every_tier_can_neither_read_nor_write_another_nodes_tables(
    clean_engine: AsyncEngine, tier: str
) -> None:
    code = NODE_OF_TIER[tier]
    db = NodeDatabase(clean_engine, code)
    async with db.connect() as conn:
        assert (await conn.execute(text("SELECT current_user"))).scalar_one() == db.role
    for other in others(code):
        schema = schema_for(other)
        assert await denied(db, f'SELECT count(*) FROM "{schema}".cases')
        assert await denied(db, f'SELECT * FROM "{schema}".outbox')
        assert await denied(db, f'DELETE FROM "{schema}".case_events')
        assert await denied(db, f"UPDATE \"{schema}\".cases SET status = 'CLOSED'")
        assert await denied(
            db,
            f"INSERT INTO \"{schema}\".inbox VALUES ('m', '{code}', 'X', now(), 'APPLIED', NULL)",
        )
        assert await denied(db, f'DROP TABLE "{schema}".petitioners')


@pytest.mark.parametrize("tier", list(NODE_OF_TIER))
async def test_a_node_of_every_tier_still_does_its_own_acts(
    clean_engine: AsyncEngine, tier: str
) -> None:
    code = NODE_OF_TIER[tier]
    petition = replace(PETITION, issue_locality_code=code)
    work = CaseWork(
        NodeDatabase(clean_engine, code),
        calendar=default_calendar(),
        clock=FixedClock(START),
        person_key_secret=SECRET,
    )
    case_id = await work.register_petition(petition, idempotency_key=f"roles-{code}", actor="t")
    assert case_id.startswith(f"{code}-")
    await work.act(case_id, work.command(Action.ACCEPT, "t"))
    async with work.db.connect() as conn:
        owner = (
            await conn.execute(
                text(
                    "SELECT tableowner FROM pg_tables WHERE schemaname = :s AND tablename = 'cases'"
                ),
                {"s": schema_for(code)},
            )
        ).scalar_one()
    assert owner == node_role(database_of(clean_engine), code)


async def test_the_node_role_holds_for_the_transactions_after_a_commit(
    clean_engine: AsyncEngine,
) -> None:
    db = NodeDatabase(clean_engine, COUNTY)
    async with db.connect() as conn:
        await conn.execute(text("SELECT 1"))
        await conn.commit()
        assert (await conn.execute(text("SELECT current_user"))).scalar_one() == db.role
        with pytest.raises(DBAPIError, match="permission denied"):
            await conn.execute(text(f'SELECT * FROM "{schema_for(OTHER_COUNTY)}".cases'))


@pytest.fixture
async def service_login(
    engine: AsyncEngine, database_server: str
) -> AsyncIterator[tuple[AsyncEngine, str]]:
    """A login role as production has it: no superuser, may create roles, NOINHERIT."""
    database = database_of(engine)
    login = f"{database}_svc"
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE ROLE "{login}" LOGIN CREATEROLE NOINHERIT'))
        await conn.execute(text(f'GRANT CREATE ON DATABASE "{database}" TO "{login}"'))
        # The test nodes' roles were made by the superuser that set the database up. From
        # PostgreSQL 16 only a role's admins may grant it, so hand them over as a DBA would.
        version = (await conn.execute(text("SHOW server_version_num"))).scalar_one()
        for code in [COUNTY]:
            role = node_role(database, code)
            if int(version) >= 160000:
                grant = f'GRANT "{role}" TO "{login}" WITH ADMIN TRUE, INHERIT FALSE, SET TRUE'
            else:
                grant = f'GRANT "{role}" TO "{login}" WITH ADMIN OPTION'
            await conn.execute(text(grant))
        await conn.commit()
    url = engine.url.set(username=login, password=None, drivername="postgresql")
    service = create_engine(url.render_as_string(hide_password=False), database)
    try:
        yield service, login
    finally:
        await service.dispose()
        async with engine.connect() as conn:
            await conn.execute(text(f'REVOKE ALL ON DATABASE "{database}" FROM "{login}"'))
            await conn.execute(text(f'DROP OWNED BY "{login}"'))
            await conn.execute(text(f'DROP ROLE "{login}"'))
            await conn.commit()


async def test_a_login_role_that_is_no_superuser_reaches_a_node_only_as_that_node(
    service_login: tuple[AsyncEngine, str],
) -> None:
    service, _ = service_login
    fresh = f"530102{uuid.uuid4().int % 900 + 100:03d}"  # a township code of its own
    await migrate_nodes(service, [fresh, COUNTY])
    await migrate_nodes(service, [fresh, COUNTY])  # reads the revisions, changes nothing
    schema = schema_for(fresh)
    async with service.connect() as conn:  # the login role itself, outside NodeDatabase
        with pytest.raises(DBAPIError, match="permission denied"):
            await conn.execute(text(f'SELECT count(*) FROM "{schema}".cases'))
    db = NodeDatabase(service, fresh)
    async with db.begin() as conn:
        assert (await conn.execute(text(f'SELECT count(*) FROM "{schema}".cases'))).scalar() == 0
    assert await denied(db, f'SELECT count(*) FROM "{schema_for(COUNTY)}".cases')


async def test_a_schema_made_before_node_roles_passes_to_its_node_role(
    engine: AsyncEngine,
) -> None:
    code = f"530103{uuid.uuid4().int % 900 + 100:03d}"
    async with engine.begin() as conn:  # as the login role, the way schemas used to be made
        await conn.execute(text("SELECT 1"))
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        await raw.driver_connection.execute(node_schema_sql(schema_for(code)))
    await migrate_nodes(engine, [code])
    role = node_role(database_of(engine), code)
    async with engine.connect() as conn:
        owners = set(
            (
                await conn.execute(
                    text(
                        "SELECT tableowner FROM pg_tables WHERE schemaname = :s UNION "
                        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = :s"
                    ),
                    {"s": schema_for(code)},
                )
            ).scalars()
        )
    assert owners == {role}
    assert await denied(NodeDatabase(engine, COUNTY), f'SELECT * FROM "{schema_for(code)}".cases')


async def test_a_connection_the_server_closed_is_dropped_not_handed_out_again(
    engine: AsyncEngine, database_server: str
) -> None:
    """The server ends the one pooled connection (as a restart does): the next transaction
    fails as "database unavailable" (retryable), and the one after gets a new connection.
    The node role is taken as the transaction begins, outside SQLAlchemy's own handling, which
    once sent the dead connection back to the pool to fail every later transaction."""
    from shared.persistence.database import database_unavailable

    service = create_engine(database_server, database_of(engine), pool_size=1)
    db = NodeDatabase(service, COUNTY)
    try:
        async with db.begin() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        with pytest.raises(Exception) as failed:  # noqa: PT011  (the driver's own, or SQLAlchemy's)
            async with db.begin() as conn:
                await conn.execute(text("SELECT 1"))
        assert database_unavailable(failed.value), repr(failed.value)
        for _ in range(3):
            async with db.begin() as conn:
                assert (await conn.execute(text("SELECT current_user"))).scalar_one() == db.role
                assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
    finally:
        await service.dispose()

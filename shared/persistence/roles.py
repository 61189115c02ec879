"""A database role per node: a node's transactions run as its own role, which owns its schema
and nothing else, so no code path of one node can read or write another node's tables.

Roles are cluster-wide while schemas live in one database, so a role's name carries the
database's name (``{database}_node_{code}``): two databases on one server (parallel test runs,
a demo next to a benchmark) never share a role. The service's login role is a member of every
node role without inheriting its rights (``NOINHERIT``); it switches with ``SET LOCAL ROLE`` at
the start of each transaction of a ``NodeDatabase`` connection (see ``switch_roles``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

ROLE_OPTION = "xinfang_node_role"  # execution option: the role a connection's transactions take
ROLE_BATCH = 200  # roles created per statement
MAX_NAME = 63  # PostgreSQL's identifier length


def node_role(database: str, code: str) -> str:
    """The role that owns node ``code``'s schema in ``database``."""
    if not code.isdigit():
        raise ValueError(f"not a division code: {code!r}")
    name = f"{database}_node_{code}"
    if len(name) > MAX_NAME or '"' in name:
        raise ValueError(f"database name {database!r} makes an unusable role name {name!r}")
    return name


def role_prefix(database: str) -> str:
    return f"{database}_node_"


def _on_begin(conn: Connection) -> None:
    role = conn.get_execution_options().get(ROLE_OPTION)
    if role is None:
        return
    # The DBAPI cursor, not conn.execute: this runs inside Connection.begin, where a statement
    # through the Connection would begin again. The driver opens the transaction for it.
    # An error here bypasses SQLAlchemy's own handling, which would have dropped a dead
    # connection: without ``invalidate`` a connection the server closed (a restart) went back
    # to the pool and failed every transaction given it, for as long as the pool kept it.
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f'SET LOCAL ROLE "{role}"')
    except Exception as error:
        conn.invalidate(error)
        raise
    finally:
        cursor.close()


def switch_roles(engine: AsyncEngine) -> None:
    """Make every transaction of a connection with the ``ROLE_OPTION`` execution option start
    with ``SET LOCAL ROLE`` (also the transactions begun after a commit). Idempotent."""
    target = engine.sync_engine
    if not event.contains(target, "begin", _on_begin):
        event.listen(target, "begin", _on_begin)


async def _login(conn: AsyncConnection) -> tuple[str, bool, bool, int]:
    row = (
        await conn.execute(
            text(
                "SELECT session_user, rolsuper, rolinherit, "
                "current_setting('server_version_num')::int "
                "FROM pg_roles WHERE rolname = session_user"
            )
        )
    ).one()
    return str(row[0]), bool(row[1]), bool(row[2]), int(row[3])


def _grant_sql(role: str, login: str, version: int) -> str:
    if version >= 160000:  # membership without the rights: the member must SET ROLE
        return f'GRANT "{role}" TO "{login}" WITH INHERIT FALSE, SET TRUE'
    return f'GRANT "{role}" TO "{login}"'


async def ensure_roles(conn: AsyncConnection, roles: Sequence[str]) -> list[str]:
    """Create the missing ``roles`` (NOLOGIN) and make the login role a member of each, not
    inheriting its rights; returns the roles created. Batched: 1,607 roles take a second."""
    login, superuser, inherits, version = await _login(conn)
    rows = await conn.execute(
        text(
            "SELECT r.rolname, EXISTS (SELECT 1 FROM pg_auth_members m "
            "WHERE m.roleid = r.oid AND m.member = (SELECT oid FROM pg_roles "
            "WHERE rolname = session_user)) FROM pg_roles r WHERE r.rolname = ANY(:names)"
        ),
        {"names": list(roles)},
    )
    member = {str(name): bool(granted) for name, granted in rows}
    missing = [r for r in roles if r not in member]
    ungranted = [r for r in roles if not member.get(r, False)]
    statements = [f'CREATE ROLE "{r}" NOLOGIN' for r in missing]
    statements += [_grant_sql(r, login, version) for r in ungranted]
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    for start in range(0, len(statements), ROLE_BATCH):
        await driver.execute(";\n".join(statements[start : start + ROLE_BATCH]))
    if ungranted and version < 160000 and inherits and not superuser:
        # Before PostgreSQL 16 inheritance is the member's attribute: without it the login
        # role holds a node's rights only while it has SET ROLE to that node.
        await driver.execute(f'ALTER ROLE "{login}" NOINHERIT')
    return missing


async def login_role(conn: AsyncConnection) -> str:
    return (await _login(conn))[0]


async def drop_roles(conn: AsyncConnection, database: str) -> int:
    """Drop the node roles of ``database`` (after the database itself is gone: a role that
    still owns objects cannot be dropped). Returns how many were dropped."""
    prefix = role_prefix(database)
    names = list(
        (
            await conn.execute(
                text("SELECT rolname FROM pg_roles WHERE left(rolname, :n) = :prefix"),
                {"n": len(prefix), "prefix": prefix},
            )
        ).scalars()
    )
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    for start in range(0, len(names), ROLE_BATCH):
        chunk = names[start : start + ROLE_BATCH]
        await driver.execute(";\n".join(f'DROP ROLE IF EXISTS "{r}"' for r in chunk))
    return len(names)

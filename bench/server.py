"""The county service under uvicorn, in this process and event loop, on a free port; and a
counter of the SQL statements its engine runs."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

HOST = "127.0.0.1"


@asynccontextmanager
async def serving(app: ASGIApp, *, start_timeout: float = 30.0) -> AsyncIterator[str]:
    """Serve ``app`` while the block runs; yields its base URL.

    The socket is bound to port 0 here and handed to uvicorn, so the port is free by
    construction (no probe-then-bind race with other processes). Its protocol is named:
    asyncio sets TCP_NODELAY only on sockets whose ``proto`` is TCP, and without it every
    response waits ~40 ms for a delayed ACK (headers and body are two writes)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    # Idle keep-alive connections stay open: the bench pauses between phases (waiting for the
    # relay), and a client reusing a connection the server is just closing fails the run.
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_keep_alive=600
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="bench-server")
    try:
        async with asyncio.timeout(start_timeout):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("the server stopped while starting")
                await asyncio.sleep(0.02)
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class StatementCounter:
    """Counts the statements sent through ``engine`` (a cursor execute each)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

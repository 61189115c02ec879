"""A small HTTP/1.1 keep-alive client for subgraph requests (POST a body, read the answer).

Why not httpx: its pool (httpcore) walks every pooled connection for every request and release,
which at 50 queries in flight was most of the gateway's CPU (docs/benchmarks.md). Here each
origin (scheme, host, port) has a stack of idle connections: taking one and giving it back are
O(1). Connections are asyncio protocols; answers are parsed by ``httptools`` (llhttp), which
decodes chunked bodies. A connection is reused unless the answer says ``connection: close``,
the server closed it, or the exchange failed or timed out half-way.

Errors: ``HttpTimeout`` when no full answer came within the timeout; ``HttpError`` (its
``reason`` names what happened: ``ConnectError``, ``RemoteProtocolError``, ...) for the rest.
A request whose reused keep-alive connection turns out to be closed by the server before any
byte of an answer arrived is sent once more on a new connection (the server cannot have read
it: this is the race between its idle timeout and our reuse, not a failure of the subgraph).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

__all__ = ["HttpClient", "HttpError", "HttpResponse", "HttpTimeout"]


class HttpError(Exception):
    """The exchange failed: no connection, the connection dropped, or a malformed answer."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class HttpTimeout(HttpError):
    def __init__(self) -> None:
        super().__init__("Timeout")


class _Stale(HttpError):
    """A reused connection was closed before any byte of the answer: safe to send again."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; at most one exchange at a time."""

    __slots__ = (
        "_body",
        "_got_bytes",
        "_parser",
        "_waiter",
        "closed",
        "keep_alive",
        "reused",
        "transport",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.keep_alive = True
        self.reused = False
        self._waiter: asyncio.Future[HttpResponse] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._body: list[bytes] = []
        self._got_bytes = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, only alike
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        self._got_bytes = True
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpError("RemoteProtocolError", str(exc)))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            if self._got_bytes:
                self._fail(HttpError("RemoteProtocolError", "connection closed mid-answer"))
            else:
                self._fail(_Stale("ReadError", "connection closed before an answer"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser = self._parser
        waiter = self._waiter
        if parser is None or waiter is None or waiter.done():
            return
        self.keep_alive = parser.should_keep_alive()
        self._parser = None
        body = b"".join(self._body)
        self._body = []
        waiter.set_result(HttpResponse(parser.get_status_code(), body))

    # the client's side
    def send(self, request: bytes, loop: asyncio.AbstractEventLoop) -> asyncio.Future[HttpResponse]:
        assert self.transport is not None
        waiter: asyncio.Future[HttpResponse] = loop.create_future()
        self._waiter = waiter
        self._parser = httptools.HttpResponseParser(self)
        self._body = []
        self._got_bytes = False
        self.transport.write(request)
        return waiter

    def _fail(self, error: HttpError) -> None:
        self._parser = None
        self.keep_alive = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    def close(self) -> None:
        self.closed = True
        self.keep_alive = False
        if self.transport is not None:
            self.transport.close()


class _Origin:
    """The idle connections to one (scheme, host, port), and who waits for one."""

    __slots__ = ("host", "idle", "max_connections", "open", "port", "prefix", "ssl", "waiters")

    def __init__(self, scheme: str, host: str, port: int, max_connections: int) -> None:
        self.host = host
        self.port = port
        self.ssl: ssl.SSLContext | None = (
            ssl.create_default_context() if scheme == "https" else None
        )
        self.max_connections = max_connections
        self.idle: list[_Connection] = []
        self.open = 0
        self.waiters: deque[asyncio.Future[_Connection | None]] = deque()
        default = 443 if scheme == "https" else 80
        authority = host if port == default else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            authority = f"[{host}]" if port == default else f"[{host}]:{port}"
        self.prefix = f"Host: {authority}\r\n".encode("latin-1")


class HttpClient:
    """POSTs over pooled keep-alive connections, at most ``max_connections`` per origin."""

    def __init__(self, *, max_connections: int = 100) -> None:
        self.max_connections = max_connections
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        self._targets: dict[str, tuple[_Origin, bytes]] = {}
        self._closed = False

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Iterable[tuple[str, str]] = (),
        *,
        within: float,
    ) -> HttpResponse:
        """POST ``body`` (JSON) and read the whole answer, within ``within`` seconds."""
        origin, path = self._target(url)
        request = _request(origin, path, body, headers)
        try:
            async with asyncio.timeout(within):
                try:
                    return await self._exchange(origin, request, fresh=False)
                except _Stale:
                    return await self._exchange(origin, request, fresh=True)
        except TimeoutError:
            raise HttpTimeout() from None

    async def aclose(self) -> None:
        self._closed = True
        for origin in self._origins.values():
            for connection in origin.idle:
                connection.close()
            origin.idle.clear()
            while origin.waiters:
                waiter = origin.waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)

    def _target(self, url: str) -> tuple[_Origin, bytes]:
        known = self._targets.get(url)
        if known is not None:
            return known
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError("UnsupportedProtocol", parts.scheme)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname, port)
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(
                parts.scheme, parts.hostname, port, self.max_connections
            )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        known = self._targets[url] = (origin, path.encode("ascii"))
        return known

    async def _exchange(self, origin: _Origin, request: bytes, *, fresh: bool) -> HttpResponse:
        connection = await self._acquire(origin, fresh=fresh)
        reused = connection.reused
        loop = asyncio.get_running_loop()
        ok = False
        try:
            response = await connection.send(request, loop)
            ok = True
            return response
        except _Stale:
            if not reused:  # a new connection that closed at once is the subgraph's failure
                raise HttpError("ReadError", "connection closed before an answer") from None
            raise
        finally:
            self._release(origin, connection, reusable=ok)

    async def _acquire(self, origin: _Origin, *, fresh: bool) -> _Connection:
        if self._closed:
            raise HttpError("ConnectError", "client closed")
        while not fresh and origin.idle:
            connection = origin.idle.pop()
            if not connection.closed:
                connection.reused = True
                return connection
            origin.open -= 1
        if origin.open >= origin.max_connections:
            waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
            origin.waiters.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                if not waiter.done():
                    waiter.cancel()
                elif not waiter.cancelled():  # handed over, but we no longer want it
                    given = waiter.result()
                    if given is None:
                        self._wake(origin)
                    else:
                        self._release(origin, given, reusable=True)
                raise
            if handed is None:
                if self._closed:
                    raise HttpError("ConnectError", "client closed")
                return await self._acquire(origin, fresh=fresh)  # a slot was freed
            if fresh or handed.closed:
                handed.close()
                origin.open -= 1
                return await self._connect(origin)
            handed.reused = True
            return handed
        return await self._connect(origin)

    async def _connect(self, origin: _Origin) -> _Connection:
        origin.open += 1
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                _Connection,
                origin.host,
                origin.port,
                ssl=origin.ssl,
                server_hostname=origin.host if origin.ssl else None,
            )
        except BaseException as exc:
            origin.open -= 1
            self._wake(origin)
            if isinstance(exc, OSError | ssl.SSLError):
                raise HttpError("ConnectError", str(exc)) from None
            raise
        return connection

    def _release(self, origin: _Origin, connection: _Connection, *, reusable: bool) -> None:
        if not reusable or not connection.keep_alive or connection.closed or self._closed:
            connection.close()
            origin.open -= 1
            self._wake(origin)
            return
        while origin.waiters:
            waiter = origin.waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        origin.idle.append(connection)

    def _wake(self, origin: _Origin) -> None:
        """A slot is free: let the first waiter open a connection of its own."""
        while origin.waiters:
            waiter = origin.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _request(
    origin: _Origin, path: bytes, body: bytes, headers: Iterable[tuple[str, str]]
) -> bytes:
    lines = [
        b"POST ",
        path,
        b" HTTP/1.1\r\n",
        origin.prefix,
        b"content-type: application/json\r\ncontent-length: ",
        str(len(body)).encode("ascii"),
        b"\r\n",
    ]
    for name, value in headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise HttpError("InvalidHeader", name)
        try:
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        except UnicodeEncodeError:
            raise HttpError("InvalidHeader", name) from None
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines)

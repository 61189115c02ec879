"""The gateway's subgraph HTTP client over real loopback TCP: keep-alive reuse, connection: close,
chunked answers, a keep-alive connection the server dropped, timeouts; and the fetcher's sharing
of identical in-flight query fetches (queries only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from gateway.fetch import StaticRouter, SubgraphFetcher
from gateway.http import HttpClient, HttpError, HttpTimeout
from tests.gateway.servers import serving

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # True: keep the connection


class RawServer:
    """A TCP server that reads one HTTP request at a time and answers with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                if not await self.answer(request, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def raw_server(answer: Answer) -> AsyncIterator[tuple[RawServer, str]]:
    server = RawServer(answer)
    tcp = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}/graphql"
    finally:
        tcp.close()
        await tcp.wait_closed()


def fixed(body: bytes, *, close: bool = False) -> Answer:
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> bool:
        extra = b"connection: close\r\n" if close else b""
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + extra
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        return not close

    return answer


async def test_reuses_one_keep_alive_connection_for_sequential_requests() -> None:
    async with raw_server(fixed(b'{"data":{"a":1}}')) as (server, url):
        client = HttpClient()
        for _ in range(3):
            response = await client.post(url, b"{}", [("authorization", "Bearer t")], within=5)
            assert (response.status, response.body) == (200, b'{"data":{"a":1}}')
        await client.aclose()
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /graphql HTTP/1.1\r\n")
    assert b"\r\nauthorization: Bearer t\r\n" in server.requests[0]


async def test_opens_a_new_connection_after_connection_close() -> None:
    async with raw_server(fixed(b'{"data":{}}', close=True)) as (server, url):
        client = HttpClient()
        for _ in range(2):
            assert (await client.post(url, b"{}", within=5)).body == b'{"data":{}}'
        await client.aclose()
    assert server.connections == 2


async def test_reads_a_chunked_answer() -> None:
    async def chunked(_: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b'5\r\n{"dat\r\n')
        await writer.drain()
        writer.write(b'8\r\na":null}\r\n0\r\n\r\n')
        await writer.drain()
        return True

    async with raw_server(chunked) as (_, url):
        client = HttpClient()
        assert (await client.post(url, b"{}", within=5)).body == b'{"data":null}'
        await client.aclose()


async def test_sends_again_when_a_reused_connection_is_closed_before_any_answer() -> None:
    # Keyed by the writer itself, not id(writer): a closed connection's writer may be freed and
    # its id given to the next connection's, which then looked "reused" and was hung up on.
    per_connection: dict[asyncio.StreamWriter, int] = {}

    async def first_only(request: bytes, writer: asyncio.StreamWriter) -> bool:
        seen = per_connection[writer] = per_connection.get(writer, 0) + 1
        if seen > 1:
            return False  # the idle-timeout race: the request arrived, the server closes
        return await fixed(b'{"data":{}}')(request, writer)

    async with raw_server(first_only) as (server, url):
        client = HttpClient()
        assert (await client.post(url, b"{}", within=5)).body == b'{"data":{}}'
        assert (await client.post(url, b"{}", within=5)).body == b'{"data":{}}'
        await client.aclose()
    assert server.connections == 2
    assert len(server.requests) == 3


async def test_a_new_connection_closed_before_any_answer_is_an_error() -> None:
    async def hang_up(_: bytes, writer: asyncio.StreamWriter) -> bool:
        return False

    async with raw_server(hang_up) as (server, url):
        client = HttpClient()
        with pytest.raises(HttpError) as error:
            await client.post(url, b"{}", within=5)
        await client.aclose()
    assert error.value.reason == "ReadError"
    assert server.connections == 1


async def test_a_connection_closed_mid_answer_and_a_silent_server_are_errors() -> None:
    async def truncated(_: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{")
        await writer.drain()
        return False

    async def silent(_: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    client = HttpClient()
    async with raw_server(truncated) as (_, url):
        with pytest.raises(HttpError) as error:
            await client.post(url, b"{}", within=5)
        assert error.value.reason == "RemoteProtocolError"
    async with raw_server(silent) as (_, url):
        with pytest.raises(HttpTimeout):
            await client.post(url, b"{}", within=0.2)
    await client.aclose()


async def test_refused_connection_is_a_connect_error() -> None:
    async with raw_server(fixed(b"{}")) as (_, url):
        pass  # closed: nothing listens on that port any more
    client = HttpClient()
    with pytest.raises(HttpError) as error:
        await client.post(url, b"{}", within=5)
    assert error.value.reason == "ConnectError"
    await client.aclose()


async def test_waits_for_a_free_connection_beyond_the_pool_limit() -> None:
    async def slow(request: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.05)
        return await fixed(b'{"data":{}}')(request, writer)

    async with raw_server(slow) as (server, url):
        client = HttpClient(max_connections=2)
        answers = await asyncio.gather(*(client.post(url, b"{}", within=5) for _ in range(6)))
        await client.aclose()
    assert [a.status for a in answers] == [200] * 6
    assert server.connections == 2


class SlowSubgraph:
    """Answers every GraphQL POST after 0.1 s and counts them."""

    def __init__(self) -> None:
        self.seen = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body: dict[str, Any] = await Request(scope, receive).json()
        self.seen += 1
        await asyncio.sleep(0.1)
        response = JSONResponse({"data": {"echo": body["variables"].get("n", 0)}})
        await response(scope, receive, send)


async def test_identical_query_fetches_in_flight_share_one_request_and_others_do_not() -> None:
    subgraph = SlowSubgraph()
    async with serving(subgraph) as base:
        fetcher = SubgraphFetcher(StaticRouter({"s": f"{base}/graphql"}))
        same = [fetcher.fetch("s", "query($n: Int) { echo(n: $n) }", {"n": 1}) for _ in range(5)]
        other = fetcher.fetch("s", "query($n: Int) { echo(n: $n) }", {"n": 2})
        answers = await asyncio.gather(*same, other)
        assert [a.data for a in answers] == [{"echo": 1}] * 5 + [{"echo": 2}]
        assert answers[0].data is not answers[1].data  # every asker gets its own copy
        assert subgraph.seen == 2
        await fetcher.aclose()


async def test_mutations_and_fetches_with_sharing_off_are_each_sent() -> None:
    subgraph = SlowSubgraph()
    async with serving(subgraph) as base:
        fetcher = SubgraphFetcher(StaticRouter({"s": f"{base}/graphql"}))
        await asyncio.gather(*(fetcher.fetch("s", "mutation { echo }", {}) for _ in range(3)))
        assert subgraph.seen == 3
        await fetcher.aclose()
        unshared = SubgraphFetcher(StaticRouter({"s": f"{base}/graphql"}), deduplicate=False)
        await asyncio.gather(*(unshared.fetch("s", "{ echo }", {}) for _ in range(3)))
        assert subgraph.seen == 6
        await unshared.aclose()


def test_works_on_uvloop_as_xinfang_gateway_runs_it() -> None:
    import uvloop

    async def exchange() -> tuple[list[bytes], int]:
        async with raw_server(fixed(b'{"data":{}}')) as (server, url):
            client = HttpClient()
            bodies = [(await client.post(url, b"{}", within=5)).body for _ in range(2)]
            await client.aclose()
        return bodies, server.connections

    assert uvloop.run(exchange()) == ([b'{"data":{}}'] * 2, 1)

"""Several tier services on free ports sharing one registry: a small province in one process."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import Clock
from shared.divisions import Tier, tier_of
from shared.holidays import default_calendar
from shared.registry import NodeRegistry
from tests.conftest import SECRET
from tests.identity import ActAs
from tests.messaging.servers import RunningServer, free_port, serving

T = TypeVar("T")


@dataclass
class Network:
    servers: dict[Tier, RunningServer]
    registry: NodeRegistry
    http: httpx.AsyncClient
    engine: AsyncEngine

    async def call(self, node: str, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            self.registry.graphql_url(node), json={"query": query, "variables": variables}
        )
        body: dict[str, Any] = response.json()
        return body

    async def gql(self, node: str, query: str, **variables: Any) -> Any:
        body = await self.call(node, query, **variables)
        assert "errors" not in body, body
        return body["data"]


@asynccontextmanager
async def network(
    engine: AsyncEngine, clock: Clock, nodes: Sequence[str]
) -> AsyncIterator[Network]:
    tiers = sorted({tier_of(code) for code in nodes}, key=lambda t: t.value)
    ports = {tier: free_port() for tier in tiers}
    registry = NodeRegistry(tiers={t: f"http://127.0.0.1:{p}" for t, p in ports.items()})
    async with AsyncExitStack() as stack:
        servers: dict[Tier, RunningServer] = {}
        for tier in tiers:
            name = tier.value.lower()
            factory = getattr(importlib.import_module(f"{name}.app"), f"create_{name}_app")
            app = factory(
                engine,
                [c for c in nodes if tier_of(c) is tier],
                calendar=default_calendar(),
                person_key_secret=SECRET,
                clock=clock,
                registry=registry,
            )
            servers[tier] = await stack.enter_async_context(serving(app, ports[tier]))
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10, auth=ActAs()))
        yield Network(servers, registry, http, engine)


async def eventually(check: Callable[[], Awaitable[T | None]], seconds: float = 10.0) -> T:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not delivered within {seconds} s")
        await asyncio.sleep(0.05)

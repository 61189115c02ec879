"""Every case's subgraphs on free ports, our gateway and @apollo/gateway over them, per session.

Cases are composed once per session (one node process for all supergraphs); a case's servers
start the first time a test needs them and stay up until the session ends. The reference
gateway is one node process serving every supergraph on its own port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway.server import create_gateway_app
from tests.gateway.federation.case import Case
from tests.gateway.federation.cases import CASES
from tests.gateway.federation.tablegraph import subgraph_app
from tests.gateway.reference import ReferenceGateway, compose_supergraphs, reference_gateways
from tests.gateway.servers import ServerPool


def placeholder_url(subgraph: str) -> str:
    return f"http://{subgraph}.invalid/graphql"


@dataclass
class CaseEnv:
    case: Case
    supergraph: str
    urls: dict[str, str]
    ours: str
    resets: list[Callable[[], None]]
    requests: dict[str, list[dict[str, Any]]]
    client: httpx.AsyncClient
    apollo: str | None = None

    def reset(self) -> None:
        for reset in self.resets:
            reset()

    async def ask(
        self, url: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Fresh data, then one POST; the JSON answer."""
        self.reset()
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        response = await self.client.post(url, json=payload)
        body: dict[str, Any] = response.json()
        return body


class Federation:
    def __init__(self, stack: AsyncExitStack, client: httpx.AsyncClient) -> None:
        self.stack = stack
        self.servers = ServerPool()
        stack.push_async_callback(self.servers.aclose)
        self.client = client
        self.supergraphs = compose_supergraphs(
            {
                case.name: [(s.name, placeholder_url(s.name), s.sdl) for s in case.subgraphs]
                for case in CASES
            }
        )
        self.envs: dict[str, CaseEnv] = {}
        self._reference: ReferenceGateway | None = None

    async def start(self, case: Case) -> CaseEnv:
        env = self.envs.get(case.name)
        if env is not None:
            return env
        urls: dict[str, str] = {}
        resets: list[Callable[[], None]] = []
        requests: dict[str, list[dict[str, Any]]] = {}
        for spec in case.subgraphs:
            app, reset, log = subgraph_app(spec)
            urls[spec.name] = await self.servers.serve(app) + "/graphql"
            resets.append(reset)
            requests[spec.name] = log
        supergraph = self.supergraphs[case.name]
        gateway_app = create_gateway_app(supergraph, verifier=None, subgraph_urls=urls, timeout=5.0)
        ours = await self.servers.serve(gateway_app) + "/graphql"
        env = CaseEnv(case, supergraph, urls, ours, resets, requests, self.client)
        self.envs[case.name] = env
        return env

    async def with_apollo(self, case: Case) -> CaseEnv:
        env = await self.start(case)
        if env.apollo is None:
            if self._reference is None:
                self._reference = await self.stack.enter_async_context(reference_gateways())
            env.apollo = await self._reference.load(env.supergraph, env.urls)
        return env


@pytest.fixture(scope="session")
async def federation() -> AsyncIterator[Federation]:
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        yield Federation(stack, client)

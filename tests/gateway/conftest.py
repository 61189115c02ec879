"""The demo subgraphs and the gateway, each a real HTTP server on a free port, per session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from starlette.applications import Starlette
from strawberry.asgi import GraphQL

from gateway.server import create_gateway_app
from tests.gateway.demo_data import reset_data
from tests.gateway.demo_monolith import build_monolith
from tests.gateway.demo_subgraphs import SUBGRAPH_NAMES, build_subgraph_schemas
from tests.gateway.servers import RecordingApp, serving

SUPERGRAPH_SDL = (Path(__file__).parent / "fixtures" / "demo.supergraph.graphql").read_text()


@dataclass
class Subgraphs:
    urls: dict[str, str]
    recorders: dict[str, RecordingApp]

    def clear(self) -> None:
        for recorder in self.recorders.values():
            recorder.requests.clear()
            recorder.headers.clear()
            recorder.delay = 0.0


@dataclass
class GatewayClient:
    url: str
    client: httpx.AsyncClient
    app: Starlette

    async def post(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = dict(variables)
        if operation_name is not None:
            payload["operationName"] = operation_name
        return await self.client.post(f"{self.url}/graphql", json=payload, headers=headers)

    async def query(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        response = await self.post(query, variables, operation_name)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="session")
async def subgraphs() -> AsyncIterator[Subgraphs]:
    schemas = build_subgraph_schemas()
    recorders = {name: RecordingApp(GraphQL(schemas[name])) for name in SUBGRAPH_NAMES}
    async with AsyncExitStack() as stack:
        urls = {
            name: await stack.enter_async_context(serving(recorder)) + "/graphql"
            for name, recorder in recorders.items()
        }
        yield Subgraphs(urls, recorders)


@asynccontextmanager
async def running_gateway(urls: Mapping[str, str], **options: Any) -> AsyncIterator[GatewayClient]:
    """A gateway over the demo supergraph, served on a free port, with a client for it."""
    app = create_gateway_app(SUPERGRAPH_SDL, verifier=None, subgraph_urls=urls, **options)
    async with serving(app) as url, httpx.AsyncClient(timeout=30) as client:
        yield GatewayClient(url, client, app)


@pytest.fixture(scope="session")
async def gateway(subgraphs: Subgraphs) -> AsyncIterator[GatewayClient]:
    async with running_gateway(subgraphs.urls, timeout=5.0) as client:
        yield client


@pytest.fixture(scope="session")
def monolith() -> strawberry.Schema:
    return build_monolith()


@pytest.fixture(autouse=True)
def fresh_demo(request: pytest.FixtureRequest) -> None:
    """Every test starts from the initial data and empty request logs."""
    reset_data()
    if "subgraphs" in request.fixturenames:
        request.getfixturevalue("subgraphs").clear()

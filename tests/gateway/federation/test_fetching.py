"""Fetching policies over real HTTP: retries (queries only), progressive override switched on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.server import create_gateway_app
from tests.gateway.federation.cases.fetching import BATCHING
from tests.gateway.federation.cases.operations import MUTATIONS
from tests.gateway.federation.cases.sharing import OVERRIDE
from tests.gateway.federation.conftest import Federation
from tests.gateway.servers import serving


class Flaky:
    """Answers the first ``failures`` requests with 503 and no GraphQL body."""

    def __init__(self, app: ASGIApp, failures: int) -> None:
        self.app = app
        self.failures = failures
        self.seen = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen += 1
            if self.seen <= self.failures:
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"busy"})
                return
        await self.app(scope, receive, send)


@asynccontextmanager
async def flaky_journal(federation: Federation, failures: int) -> AsyncIterator[Flaky]:
    env = await federation.start(MUTATIONS)
    yield Flaky(_Proxy(env.urls["journal"]), failures)


class _Proxy:
    """Forwards POST /graphql to a subgraph URL (the real one stays up)."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        async with httpx.AsyncClient() as client:
            response = await client.post(
                self.url, content=body, headers={"content-type": "application/json"}
            )
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": response.content})


async def ask(url: str, query: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        body: dict[str, Any] = (await client.post(url, json={"query": query})).json()
        return body


@asynccontextmanager
async def gateway_over(federation: Federation, flaky: Flaky, retries: int) -> AsyncIterator[str]:
    env = federation.envs[MUTATIONS.name]
    env.reset()
    async with serving(flaky) as journal:
        urls = {**env.urls, "journal": journal + "/graphql"}
        app = create_gateway_app(env.supergraph, verifier=None, subgraph_urls=urls, retries=retries)
        async with serving(app) as url:
            yield url + "/graphql"


async def test_a_query_is_retried_after_transport_failures(federation: Federation) -> None:
    async with (
        flaky_journal(federation, failures=2) as flaky,
        gateway_over(federation, flaky, retries=2) as url,
    ):
        body = await ask(url, "{ entries { id } }")
    assert body == {"data": {"entries": []}}
    assert flaky.seen == 3


async def test_retries_are_bounded(federation: Federation) -> None:
    async with (
        flaky_journal(federation, failures=5) as flaky,
        gateway_over(federation, flaky, retries=1) as url,
    ):
        body = await ask(url, "{ entries { id } }")
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["SUBGRAPH_UNAVAILABLE"]
    assert flaky.seen == 2


async def test_a_mutation_is_never_retried(federation: Federation) -> None:
    async with (
        flaky_journal(federation, failures=1) as flaky,
        gateway_over(federation, flaky, retries=3) as url,
    ):
        body = await ask(url, 'mutation { add(text: "once") { id } }')
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["add"]
    assert body["errors"][0]["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
    assert flaky.seen == 1
    assert federation.envs[MUTATIONS.name].requests["journal"] == []  # nothing reached it


async def test_a_progressive_override_switched_on_moves_the_field(federation: Federation) -> None:
    env = await federation.start(OVERRIDE)
    app = create_gateway_app(
        env.supergraph, verifier=None, subgraph_urls=env.urls, override_labels=["new-tier"]
    )
    async with serving(app) as url:
        body = await ask(url + "/graphql", "{ accounts { tier status } newAccounts { tier } }")
    # "new-tier" is on: tier comes from the overriding subgraph; status's label stays off.
    assert body == {
        "data": {
            "accounts": [{"tier": "gold", "status": "stale"}],
            "newAccounts": [{"tier": "gold"}],
        }
    }


async def test_identical_representations_are_sent_once(federation: Federation) -> None:
    env = await federation.start(BATCHING)
    body = await env.ask(env.ours, "{ events { place { name } } }")
    assert len(body["data"]["events"]) == 5
    [call] = env.requests["places"]
    assert call["variables"]["representations"] == [
        {"__typename": "Place", "code": code} for code in ("km", "dl", "lj")
    ]

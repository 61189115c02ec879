"""alertRaised live through the gateway (issue 8, item 2; docs/adr/0016): real tier services
and the gateway on free ports, graphql-transport-ws over real WebSockets.

A city leader subscribed through the gateway hears of a collective visit registered at a
township of the city within 5 seconds (the township's ALERT message reaches the city, whose
NOTIFY wakes the subscription); a leader of another city, subscribed at the same time, hears
nothing; a subscription outside the caller's subtree is refused with FORBIDDEN before any node
is asked, and a node refuses it again on its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.dashboard import QUERIES, dashboard_documents
from gateway.persisted import PersistedQueries, build_manifest, sha256
from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.auth import Role
from shared.casework import FixedClock
from shared.divisions import Tier
from shared.local_platform import SUPERGRAPH
from shared.persistence.migrate import migrate_nodes
from tests.conftest import CITY, COUNTY, PROVINCE, TOWNSHIP, empty_nodes
from tests.identity import User, suite_verifier
from tests.messaging.network import Network, network
from tests.messaging.servers import serving
from tests.roles import petition

OTHER_CITY = "5303"  # 曲靖市
TREE = [PROVINCE, CITY, OTHER_CITY, COUNTY, TOWNSHIP]
CITY_LEADER = User(CITY, (Role.LEADER,))
OTHER_LEADER = User(OTHER_CITY, (Role.LEADER,))
SUBSCRIBE = (
    "subscription($j: ID!, $m: AlertSeverity!) { alertRaised(jurisdiction: $j, minSeverity: $m) "
    "{ id kind severity caseId jurisdiction { code name } } }"
)
PROTOCOL = "graphql-transport-ws"


@asynccontextmanager
async def live_network(
    engine: AsyncEngine, clock: FixedClock, persisted: PersistedQueries | None = None
) -> AsyncIterator[tuple[Network, str]]:
    """The tree's nodes on real tier services, the gateway in front: (the network, the
    gateway's WebSocket URL)."""
    await migrate_nodes(engine, [OTHER_CITY])
    await empty_nodes(engine, [OTHER_CITY])
    async with network(engine, clock, TREE) as net:
        fallback = {
            t.value.lower(): f"{net.registry.tiers[t]}/tiers/{t.value.lower()}/graphql"
            for t in Tier
        }
        app = create_gateway_app(
            SUPERGRAPH.read_text(encoding="utf-8"),
            verifier=suite_verifier(),
            router=KeyRouter(net.registry, fallback),
            persisted=persisted,
        )
        async with serving(app) as gateway:
            yield net, gateway.url.replace("http", "ws", 1) + "/graphql"


@pytest.fixture
async def live(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[tuple[Network, str]]:
    async with live_network(clean_engine, clock) as running:
        yield running


async def send(socket: ClientConnection, message: dict[str, Any]) -> None:
    await socket.send(orjson.dumps(message).decode())


async def receive(socket: ClientConnection, seconds: float) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads(await asyncio.wait_for(socket.recv(), seconds))
    return message


@asynccontextmanager
async def connected(url: str, user: User) -> AsyncIterator[ClientConnection]:
    async with connect(url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await send(
            socket,
            {"type": "connection_init", "payload": {"authorization": f"Bearer {user.token()}"}},
        )
        assert await receive(socket, 5) == {"type": "connection_ack"}
        yield socket


async def subscribe(socket: ClientConnection, jurisdiction: str, severity: str = "INFO") -> None:
    await send(
        socket,
        {
            "id": "alerts",
            "type": "subscribe",
            "payload": {"query": SUBSCRIBE, "variables": {"j": jurisdiction, "m": severity}},
        },
    )


async def listening(net: Network, code: str, count: int) -> None:
    """Until ``count`` subscriptions are listening at node ``code``'s service."""
    service = net.servers[Tier.CITY].app.state.service
    for _ in range(200):
        if len(service.alert_listener._subscribers.get(code, ())) >= count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"no subscription listening at {code}")


async def test_a_city_leader_hears_of_a_collective_visit_in_the_city_within_5_seconds(
    live: tuple[Network, str],
) -> None:
    net, url = live
    async with connected(url, CITY_LEADER) as mine, connected(url, OTHER_LEADER) as theirs:
        await subscribe(mine, CITY)
        await subscribe(theirs, OTHER_CITY)
        await listening(net, CITY, 1)
        await listening(net, OTHER_CITY, 1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        registered = await net.gql(
            TOWNSHIP,
            "mutation($i: RegisterPetitionInput!) "
            '{ registerPetition(input: $i, idempotencyKey: "live-visit-1") { id } }',
            i=petition(TOWNSHIP, personCount=12),
        )
        heard = await receive(mine, 5.0)
        elapsed = loop.time() - started
        assert elapsed < 5.0
        assert (heard["type"], heard["id"]) == ("next", "alerts"), heard
        alert = heard["payload"]["data"]["alertRaised"]
        assert alert["kind"] == "COLLECTIVE_VISIT"
        assert alert["severity"] == "SEVERE"
        assert alert["caseId"] == registered["registerPetition"]["id"]
        assert alert["jurisdiction"]["code"] == TOWNSHIP
        # The other city's leader hears nothing (the alert never reaches that city).
        with pytest.raises(TimeoutError):
            await receive(theirs, 1.5)
        # Completing ends the subscription at the node too.
        await send(mine, {"id": "alerts", "type": "complete"})
        for _ in range(200):
            if not net.servers[Tier.CITY].app.state.service.alert_listener._subscribers.get(CITY):
                break
            await asyncio.sleep(0.025)
        assert not net.servers[Tier.CITY].app.state.service.alert_listener._subscribers.get(CITY)


async def test_min_severity_filters_what_is_heard(live: tuple[Network, str]) -> None:
    net, url = live
    async with connected(url, CITY_LEADER) as socket:
        await subscribe(socket, CITY, "CRITICAL")
        await listening(net, CITY, 1)
        for n, persons in enumerate((6, 55)):  # SEVERE, then CRITICAL
            await net.gql(
                TOWNSHIP,
                "mutation($i: RegisterPetitionInput!, $k: String!) "
                "{ registerPetition(input: $i, idempotencyKey: $k) { id } }",
                i=petition(TOWNSHIP, personCount=persons),
                k=f"live-severity-{n}",
            )
        heard = await receive(socket, 5.0)
        assert heard["payload"]["data"]["alertRaised"]["severity"] == "CRITICAL"
        with pytest.raises(TimeoutError):
            await receive(socket, 1.0)


async def test_a_subscription_outside_the_subtree_is_refused_with_a_stable_code(
    live: tuple[Network, str],
) -> None:
    net, url = live
    async with connected(url, OTHER_LEADER) as socket:
        await subscribe(socket, CITY)
        refused = await receive(socket, 5)
        assert (refused["type"], refused["id"]) == ("error", "alerts")
        [error] = refused["payload"]
        assert error["extensions"] == {
            "code": "FORBIDDEN",
            "field": "alertRaised",
            "jurisdiction": CITY,
        }
        # A query over the socket is refused; so is a subscription naming no node.
        await send(
            socket, {"id": "q", "type": "subscribe", "payload": {"query": "{ node { code } }"}}
        )
        [error] = (await receive(socket, 5))["payload"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        await send(
            socket,
            {"id": "v", "type": "subscribe", "payload": {"query": "subscription { nothing }"}},
        )
        [error] = (await receive(socket, 5))["payload"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert not net.servers[Tier.CITY].app.state.service.alert_listener._subscribers


async def test_the_gateway_and_the_node_refuse_a_connection_without_a_valid_token(
    live: tuple[Network, str],
) -> None:
    net, url = live
    node_url = net.registry.graphql_url(CITY).replace("http", "ws", 1)
    for target in (url, node_url):
        async with connect(target, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
            await send(
                socket, {"type": "connection_init", "payload": {"authorization": "Bearer x"}}
            )
            with pytest.raises(ConnectionClosed) as closed:
                await receive(socket, 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403


async def test_the_node_checks_the_scope_again(live: tuple[Network, str]) -> None:
    net, _ = live
    node_url = net.registry.graphql_url(CITY).replace("http", "ws", 1)
    # Straight at the city node, past the gateway: the other city's leader is refused there.
    async with connect(node_url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await send(
            socket,
            {
                "type": "connection_init",
                "payload": {"authorization": f"Bearer {OTHER_LEADER.token()}"},
            },
        )
        with pytest.raises(ConnectionClosed) as closed:
            await receive(socket, 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403
    # The city's leader at the city node may not stream the province, nor mutate over it.
    async with connected(node_url, CITY_LEADER) as socket:
        await subscribe(socket, PROVINCE)
        answer = await receive(socket, 5)  # an execution error: next (with errors), complete
        assert answer["payload"]["data"] is None
        [error] = answer["payload"]["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert (await receive(socket, 5))["type"] == "complete"
        await send(
            socket,
            {
                "id": "m",
                "type": "subscribe",
                "payload": {"query": 'mutation { resolveAlert(id: "5301-A-x") { id } }'},
            },
        )
        answer = await receive(socket, 5)
        assert (answer["type"], answer["id"]) == ("error", "m")
        assert answer["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_dashboard_subscription_is_a_manifest_document_and_passes_the_allow_list(
    clean_engine: AsyncEngine, clock: FixedClock
) -> None:
    """The dashboard's manifest (``xinfang persisted-queries`` of its query files) lists its
    subscription; behind that allow list the gateway streams it, sent as text or by hash alone,
    and refuses any other subscription before asking a node, as it refuses a query."""
    manifest = build_manifest(sorted(QUERIES.glob("*.graphql")))
    live_document = dashboard_documents()["ALERTS_LIVE"]
    [listed] = [o for o in manifest["operations"] if o["type"] == "subscription"]
    assert (listed["name"], listed["id"]) == ("DashboardAlertRaised", sha256(live_document))
    assert listed["body"] == live_document
    documents = {o["id"]: o["body"] for o in manifest["operations"]}
    allow_list = PersistedQueries(documents, allow_list=True)
    variables = {"code": CITY, "minSeverity": "WARNING"}
    async with (
        live_network(clean_engine, clock, allow_list) as (net, url),
        connected(url, CITY_LEADER) as socket,
    ):
        await send(
            socket, _subscribe("adhoc", {"query": SUBSCRIBE, "variables": {"j": CITY, "m": "INFO"}})
        )
        refused = await receive(socket, 5)
        assert (refused["type"], refused["id"]) == ("error", "adhoc")
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        unknown = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
        await send(socket, _subscribe("unknown", {"variables": variables, "extensions": unknown}))
        refused = await receive(socket, 5)
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        assert not net.servers[Tier.CITY].app.state.service.alert_listener._subscribers

        by_hash = {"persistedQuery": {"version": 1, "sha256Hash": sha256(live_document)}}
        await send(socket, _subscribe("text", {"query": live_document, "variables": variables}))
        await send(socket, _subscribe("hash", {"variables": variables, "extensions": by_hash}))
        await listening(net, CITY, 2)
        registered = await net.gql(
            TOWNSHIP,
            "mutation($i: RegisterPetitionInput!) "
            '{ registerPetition(input: $i, idempotencyKey: "live-allow-list") { id } }',
            i=petition(TOWNSHIP, personCount=8),
        )
        heard = {}
        for _ in range(2):
            message = await receive(socket, 5.0)
            assert message["type"] == "next", message
            heard[message["id"]] = message["payload"]["data"]["alertRaised"]
        assert set(heard) == {"text", "hash"}
        for alert in heard.values():
            assert alert["kind"] == "COLLECTIVE_VISIT"
            assert alert["caseId"] == registered["registerPetition"]["id"]
            assert alert["jurisdiction"] == {
                "code": TOWNSHIP,
                "name": alert["jurisdiction"]["name"],
            }
            assert alert["version"] == 1


def _subscribe(operation: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"id": operation, "type": "subscribe", "payload": payload}

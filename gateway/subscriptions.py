"""Subscriptions through the gateway: graphql-transport-ws on ``/graphql`` (docs/adr/0016).

The gateway does not plan a subscription: ``alertRaised(jurisdiction:)`` is answered whole by
the node holding the jurisdiction (its alerts table holds its subtree's, reported up by ALERT
messages), so the gateway relays the subscription to that node's WebSocket and each event
back. It checks the caller as for queries (ADR 0015), the node checks again:

- ``connection_init`` must carry a valid token (``{"authorization": "Bearer …"}``), else the
  socket is closed with 4403 (the protocol's Forbidden);
- each ``subscribe`` payload is a document as a ``POST /graphql`` body is (``gateway.persisted``):
  its text, or only its hash (``extensions.persistedQuery.sha256Hash``), and in the allow-list
  mode only a manifest document (the dashboard's ``alertRaised`` is one), except for the
  ad-hoc roles: else an ``error`` with ``PERSISTED_QUERY_NOT_IN_LIST`` (or ``…_NOT_FOUND``,
  ``…_HASH_MISMATCH``); the node is sent the text, never the hash;
- each ``subscribe`` is parsed and validated against the supergraph, must be a subscription,
  keep the request limits' depth and aliases (``gateway.limits``), and its root fields' node
  arguments must lie in the caller's subtree (``gateway.access``):
  else an ``error`` message with the stable code (``FORBIDDEN``, ``GRAPHQL_VALIDATION_FAILED``,
  ``BAD_USER_INPUT``, ``NOT_FOUND``), and nothing is sent to any node.

Each subscription has its own upstream socket, opened with the caller's token; a node that
refuses (4403) or goes away ends the subscription with an ``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    validate,
    value_from_ast_untyped,
)
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from gateway.access import Scope
from gateway.limits import QueryLimits, shape_refusals
from gateway.persisted import PersistedQueries, PersistedQueryError
from shared.auth import AuthError, TokenVerifier, connection_token
from shared.graphql.service_endpoint import root_fields
from shared.ownership import node_of_key

__all__ = ["PROTOCOL", "SubscriptionGateway"]

log = logging.getLogger("xinfang.gateway.subscriptions")

PROTOCOL = "graphql-transport-ws"
STREAM_ARGUMENT = "jurisdiction"  # the node a subscription is answered by
Body = dict[str, Any]


def _error(code: str, message: str, **extensions: Any) -> Body:
    return {"message": message, "extensions": {"code": code, **extensions}}


@dataclass
class _Connection:
    websocket: WebSocket
    token: str
    scope: Scope
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    operations: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def send(self, message: Body) -> None:
        async with self.lock:
            await self.websocket.send_text(orjson.dumps(message).decode())


@dataclass
class SubscriptionGateway:
    """Serves graphql-transport-ws for ``schema`` (the supergraph's API schema); ``node_url``
    gives a node's GraphQL URL (None: unknown node); ``verifier`` None only for a gateway
    without users (the generic federation tests), which then streams nothing."""

    schema: GraphQLSchema
    verifier: TokenVerifier | None
    node_url: Callable[[str], str | None]
    init_timeout: float = 10.0
    forwarded: Mapping[str, str] = field(default_factory=dict)
    limits: QueryLimits = field(default_factory=QueryLimits)  # depth and aliases, as queries
    # Documents by hash and the allow list, as for queries (one instance with the HTTP path).
    persisted: PersistedQueries = field(default_factory=PersistedQueries)

    async def __call__(self, websocket: WebSocket) -> None:
        if PROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.close(code=4406, reason="Subprotocol not acceptable")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        try:
            connection = await self._initialise(websocket)
            if connection is None:
                return
            await self._serve(connection)
        except WebSocketDisconnect:
            return

    async def _initialise(self, websocket: WebSocket) -> _Connection | None:
        try:
            raw = await asyncio.wait_for(websocket.receive_text(), timeout=self.init_timeout)
        except TimeoutError:
            await websocket.close(code=4408, reason="Connection initialisation timeout")
            return None
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await websocket.close(code=4400, reason="Invalid message")
            return None
        if not isinstance(message, dict) or message.get("type") != "connection_init":
            await websocket.close(code=4401, reason="Unauthorized")
            return None
        if self.verifier is None:
            await websocket.close(code=4403, reason="Forbidden")
            return None
        try:
            token = connection_token(message.get("payload") or {})
            principal = await self.verifier.verify(token)
        except AuthError as error:
            log.info("a subscription's connection_init was refused: %s", error.message)
            await websocket.close(code=4403, reason="Forbidden")
            return None
        await websocket.send_text(orjson.dumps({"type": "connection_ack"}).decode())
        return _Connection(websocket, token, Scope(principal))

    async def _serve(self, connection: _Connection) -> None:
        try:
            while True:
                raw = await connection.websocket.receive_text()
                try:
                    message = orjson.loads(raw)
                    kind = message["type"]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    await connection.websocket.close(code=4400, reason="Invalid message")
                    return
                if kind == "ping":
                    await connection.send({"type": "pong"})
                elif kind == "pong":
                    continue
                elif kind == "subscribe":
                    await self._subscribe(connection, message)
                elif kind == "complete":
                    task = connection.operations.pop(str(message.get("id")), None)
                    if task is not None:
                        task.cancel()
                elif kind == "connection_init":
                    await connection.websocket.close(code=4429, reason="Too many initialisations")
                    return
                else:
                    await connection.websocket.close(code=4400, reason=f"Unknown type {kind}")
                    return
        finally:
            for task in connection.operations.values():
                task.cancel()
            for task in list(connection.operations.values()):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _subscribe(self, connection: _Connection, message: Body) -> None:
        operation_id = message.get("id")
        payload = message.get("payload")
        if not isinstance(operation_id, str) or not isinstance(payload, dict):
            await connection.websocket.close(code=4400, reason="Invalid subscribe message")
            return
        if operation_id in connection.operations:
            await connection.websocket.close(
                code=4409, reason=f"Subscriber for {operation_id} already exists"
            )
            return
        checked = self._check(connection.scope, payload)
        if isinstance(checked, list):
            await connection.send({"id": operation_id, "type": "error", "payload": checked})
            return
        url, upstream = checked
        task = asyncio.create_task(self._relay(connection, operation_id, upstream, url))
        connection.operations[operation_id] = task
        task.add_done_callback(lambda _: connection.operations.pop(operation_id, None))

    def _check(self, scope: Scope, payload: Body) -> tuple[str, Body] | list[Body]:
        """The node URL to relay to and the payload to send it (the document's text, its
        variables and operation name), or the errors refusing the subscription."""
        variables = payload.get("variables") or {}
        extensions = payload.get("extensions")
        if not isinstance(variables, dict) or not isinstance(extensions, dict | None):
            return [_error("BAD_USER_INPUT", "a subscribe payload has a query and variables")]
        try:
            query = self.persisted.resolve(payload, scope.principal)
        except PersistedQueryError as error:
            code = "BAD_USER_INPUT" if error.code == "BAD_REQUEST" else error.code
            return [_error(code, error.message)]
        try:
            document = parse(query)
        except GraphQLError as error:
            return [_error("GRAPHQL_PARSE_FAILED", error.message)]
        errors = validate(self.schema, document)
        if errors:
            return [_error("GRAPHQL_VALIDATION_FAILED", e.message) for e in errors[:10]]
        operation = get_operation_ast(document, payload.get("operationName"))
        if operation is None:
            return [_error("BAD_USER_INPUT", "name the operation to run")]
        if operation.operation is not OperationType.SUBSCRIPTION:
            return [
                _error(
                    "BAD_USER_INPUT",
                    "over a WebSocket, only subscriptions; send queries and mutations over HTTP",
                )
            ]
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        refusals = shape_refusals(operation, fragments, self.limits)
        refusals += scope.refusals(operation, fragments, variables)
        if refusals:
            return refusals
        url = self._route(operation, fragments, variables)
        if isinstance(url, list):
            return url
        upstream: Body = {"query": query, "variables": variables}
        if isinstance(payload.get("operationName"), str):
            upstream["operationName"] = payload["operationName"]
        return url, upstream

    def _route(
        self,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> str | list[Body]:
        nodes = set()
        for root in root_fields(operation.selection_set, fragments):
            if root.name.value.startswith("__"):
                continue
            arguments = {
                a.name.value: value_from_ast_untyped(a.value, dict(variables))
                for a in root.arguments or ()
            }
            nodes.add(node_of_key(arguments.get(STREAM_ARGUMENT)))
        if len(nodes) != 1 or None in nodes:
            return [
                _error(
                    "BAD_USER_INPUT",
                    "a subscription names one jurisdiction (a division code) to stream",
                    field=STREAM_ARGUMENT,
                )
            ]
        (code,) = nodes
        assert code is not None
        url = self.node_url(code)
        if url is None:
            return [_error("NOT_FOUND", f"no node {code} is served here", jurisdiction=code)]
        return "ws" + url.removeprefix("http")

    async def _relay(
        self, connection: _Connection, operation_id: str, payload: Body, url: str
    ) -> None:
        """One subscription: the node's events under the caller's id, until either side ends."""
        try:
            async with connect(
                url,
                subprotocols=[PROTOCOL],  # type: ignore[list-item]
                additional_headers=dict(self.forwarded),
                open_timeout=10,
            ) as upstream:
                if not await self._open_upstream(connection, upstream, operation_id):
                    return
                subscribe = {"id": "1", "type": "subscribe", "payload": payload}
                await upstream.send(orjson.dumps(subscribe).decode())
                await self._forward(connection, upstream, operation_id)
        except asyncio.CancelledError:
            raise  # the caller completed: the upstream socket closes with the block
        except (OSError, InvalidHandshake, InvalidStatus, ConnectionClosed) as error:
            log.warning("subscription %s to %s failed: %s", operation_id, url, error)
            with contextlib.suppress(Exception):
                await connection.send(
                    {
                        "id": operation_id,
                        "type": "error",
                        "payload": [_error("SUBGRAPH_UNAVAILABLE", "the node did not answer")],
                    }
                )

    async def _open_upstream(
        self, connection: _Connection, upstream: ClientConnection, operation_id: str
    ) -> bool:
        init = {
            "type": "connection_init",
            "payload": {"authorization": f"Bearer {connection.token}"},
        }
        await upstream.send(orjson.dumps(init).decode())
        try:
            answer = orjson.loads(await asyncio.wait_for(upstream.recv(), self.init_timeout))
        except ConnectionClosed as closed:
            code = "FORBIDDEN" if closed.rcvd is not None and closed.rcvd.code == 4403 else None
            await connection.send(
                {
                    "id": operation_id,
                    "type": "error",
                    "payload": [
                        _error(code or "SUBGRAPH_UNAVAILABLE", "the node refused the subscription")
                    ],
                }
            )
            return False
        return bool(answer.get("type") == "connection_ack")

    async def _forward(
        self, connection: _Connection, upstream: ClientConnection, operation_id: str
    ) -> None:
        try:
            async for raw in upstream:
                message = orjson.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await upstream.send(orjson.dumps({"type": "pong"}).decode())
                    continue
                if kind not in ("next", "error", "complete"):
                    continue
                out: Body = {"id": operation_id, "type": kind}
                if "payload" in message:
                    out["payload"] = message["payload"]
                await connection.send(out)
                if kind in ("error", "complete"):
                    return
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await upstream.send(orjson.dumps({"id": "1", "type": "complete"}).decode())
            raise
        await connection.send(
            {
                "id": operation_id,
                "type": "error",
                "payload": [_error("SUBGRAPH_UNAVAILABLE", "the node closed the subscription")],
            }
        )

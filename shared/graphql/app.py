"""The tier service: one ASGI app hosting any number of nodes of one tier, each at
``/nodes/{code}/graphql``, the service endpoint ``/tiers/{tier}/graphql`` (entities of all of
them, split by owner), plus ``/health`` and ``/ready``.

Every node checks who asks on its own (ADR 0015), whatever the gateway already checked: a
request's token is verified here (``shared.auth``); a node reads only for callers whose
jurisdiction covers it and takes mutations only from its own handlers (``shared.access``).
Messages and matter-index requests from other nodes must carry a node's signature.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Protocol

from graphql import GraphQLError, GraphQLSyntaxError, OperationType, get_operation_ast, parse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.federation import Schema
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from shared.access import NodeCredential, read_refusal, verifier_from_env, write_refusal
from shared.auth import AuthError, Principal, TokenVerifier, bearer_token, connection_token
from shared.casework import CaseWork, Clock, SystemClock
from shared.divisions import Tier, division_tree
from shared.errors import DomainError, ErrorCode
from shared.graphql.context import CaseLoaders, NodeContext
from shared.graphql.service_endpoint import ServiceEndpoint
from shared.holidays import HolidayCalendar
from shared.messaging.matter_flows import MATTERS_PURPOSE
from shared.messaging.messages import Message
from shared.messaging.relay import MESSAGE_PURPOSE
from shared.persistence.database import database_unavailable
from shared.registry import NodeRegistry
from shared.service import TierService
from shared.telemetry import instrument_app
from shared.validation import NUL_REFUSED, ValidationFailed, carries_nul

DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"  # retryable: the server is restarting or away

log = logging.getLogger("xinfang.graphql")


def safe_message(message: str) -> str:
    """graphql-core's message without the values it echoes (they may be personal data)."""
    found = message.find(", found:")
    if found != -1:
        message = message[:found] + "."
    represent = message.find("cannot represent")
    if represent != -1:
        colon = message.find(": ", represent)
        if colon != -1:
            message = message[:colon] + "."
    return message[:300]


def error_code(error: GraphQLError) -> tuple[str, str, str | None]:
    """The stable code, the message to show and the field for one GraphQL error."""
    original = error.original_error
    if isinstance(original, DomainError):
        return original.code.value, original.message, original.field
    if isinstance(original, ValidationFailed):
        return original.code, original.message, original.field
    if original is None and isinstance((error.extensions or {}).get("code"), str):
        return str((error.extensions or {})["code"]), error.message, None  # e.g. AUTH_UNAVAILABLE
    if original is None or isinstance(original, GraphQLError):  # graphql-core's own refusal
        message = safe_message(error.message)
        if error.path is None and error.message.startswith("Syntax Error"):
            return "GRAPHQL_PARSE_FAILED", message, None
        if error.path is None:
            if error.message.startswith("Variable"):
                return ErrorCode.BAD_USER_INPUT.value, message, None
            return "GRAPHQL_VALIDATION_FAILED", message, None
        return ErrorCode.BAD_USER_INPUT.value, message, None
    if (
        error.path
        and error.path[0] == "_entities"
        and isinstance(original, (KeyError, TypeError, ValueError, AttributeError))
    ):
        return (
            ErrorCode.BAD_USER_INPUT.value,
            "a representation lacks its key field, has a key of the wrong type or names a type "
            "this subgraph does not resolve",
            "representations",
        )
    if database_unavailable(original):
        log.warning("database unavailable at %s: %s", error.path, original)
        return DATABASE_UNAVAILABLE, "the database is unavailable: try again shortly", None
    log.error("unexpected error at %s", error.path, exc_info=original)
    return "INTERNAL_SERVER_ERROR", "internal error: the request was not completed", None


async def authenticate(verifier: TokenVerifier, request: Request) -> Principal:
    """The principal of the request's bearer token; AuthError when there is none valid."""
    return await verifier.verify(bearer_token(request.headers.get("authorization")))


def refusal_error(code: ErrorCode, message: str) -> GraphQLError:
    return GraphQLError(message, original_error=DomainError(code, message))


class SubscriptionsOnly(BaseGraphQLTransportWSHandler[NodeContext, None]):
    """graphql-transport-ws for subscriptions only: a query or mutation sent over a WebSocket
    is refused (``BAD_USER_INPUT``), so the HTTP path's checks (a mutation by the node's own
    handler only) are the only way to write."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload") or {}
        try:
            document = parse(str(payload.get("query") or ""))
            operation = get_operation_ast(document, payload.get("operationName"))
        except GraphQLSyntaxError:  # strawberry reports it
            await super().handle_subscribe(message)
            return
        if operation is not None and operation.operation is not OperationType.SUBSCRIPTION:
            await self.send_message(
                {
                    "id": message["id"],
                    "type": "error",
                    "payload": [
                        {
                            "message": "over a WebSocket, only subscriptions; send queries and "
                            "mutations over HTTP",
                            "extensions": {"code": ErrorCode.BAD_USER_INPUT.value},
                        }
                    ],
                }
            )
            return
        await super().handle_subscribe(message)


class NodeGraphQL(GraphQL[NodeContext, None]):
    """strawberry's ASGI view, with a context per node, the node's own access check and stable
    error codes. Over a WebSocket (graphql-transport-ws) the token comes in the connection_init
    payload and is checked there; the subscription checks the scope again."""

    graphql_transport_ws_handler_class = SubscriptionsOnly

    def __init__(self, schema: Schema, service: TierService, verifier: TokenVerifier) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.service = service
        self.verifier = verifier

    async def get_context(self, request: Any, response: Any) -> NodeContext:
        code = request.path_params["code"]
        if isinstance(request, WebSocket):  # the token comes with connection_init
            pending = AuthError("sign in: connection_init carries the token")
            return node_context(self.service, request, code, pending, response)
        try:
            principal: Principal | AuthError = await authenticate(self.verifier, request)
        except AuthError as error:
            principal = error
        return node_context(self.service, request, code, principal, response)

    async def on_ws_connect(self, context: NodeContext) -> UnsetType:
        """connection_init: a valid token whose jurisdiction covers this node, else the socket
        is closed with 4403 (graphql-transport-ws's Forbidden)."""
        try:
            principal = await self.verifier.verify(connection_token(context.connection_params))
        except AuthError as error:
            raise ConnectionRejectionError(
                {"code": error.code, "message": error.message}
            ) from error
        if read_refusal(principal, context.node.code) is not None:
            raise ConnectionRejectionError({"code": ErrorCode.FORBIDDEN.value})
        context.principal = principal
        context.actor = principal.subject[:200]
        context.extra.pop("auth_error", None)
        return UNSET  # a bare connection_ack

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: NodeContext,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        refusal = self._refusal(context, request_data)
        if refusal is not None:
            return ExecutionResult(data=None, errors=[refusal])
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    @staticmethod
    def _refusal(context: NodeContext, request_data: GraphQLRequestData) -> GraphQLError | None:
        """Before anything runs: no valid token, a node outside the caller's subtree, or a
        mutation by anyone but this node's handler."""
        principal = context.principal
        if principal is None:
            error = context.extra.get("auth_error")
            message = error.message if isinstance(error, AuthError) else "sign in"
            code = ErrorCode.UNAUTHENTICATED
            if isinstance(error, AuthError) and error.code != code.value:
                return GraphQLError(message, extensions={"code": error.code})
            return refusal_error(code, message)
        node = context.node.code
        refused = read_refusal(principal, node)
        if refused is None and _is_mutation(request_data):
            refused = write_refusal(principal, node)
        if refused is not None:
            return refusal_error(ErrorCode.FORBIDDEN, f"node {node}: {refused}")
        if carries_nul(request_data.query, request_data.variables):
            return refusal_error(ErrorCode.BAD_USER_INPUT, NUL_REFUSED)
        return None

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        data: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            data["errors"] = [self._format(error) for error in result.errors]
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    @staticmethod
    def _format(error: GraphQLError) -> dict[str, Any]:
        code, message, field_name = error_code(error)
        formatted: dict[str, Any] = {"message": message}
        if error.locations:
            formatted["locations"] = [
                {"line": loc.line, "column": loc.column} for loc in error.locations
            ]
        if error.path is not None:
            formatted["path"] = error.path
        extensions = dict(error.extensions or {})
        extensions["code"] = code
        if field_name:
            extensions["field"] = field_name
        formatted["extensions"] = extensions
        return formatted


def _is_mutation(request_data: GraphQLRequestData) -> bool:
    """Whether the request's operation is a mutation (unparsable: strawberry says why)."""
    if not request_data.query:
        return False
    return _names_a_mutation(request_data.query, request_data.operation_name)


@functools.lru_cache(maxsize=1024)
def _names_a_mutation(query: str, operation_name: str | None) -> bool:
    """Cached by document: parsing costs 1.5-3 ms for a dashboard's query, and the same few
    documents come again and again (strawberry's own parser cache is not reachable here)."""
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLSyntaxError:
        return False
    return operation is not None and operation.operation is OperationType.MUTATION


def node_context(
    service: TierService,
    request: Request | WebSocket,
    code: str,
    principal: Principal | AuthError,
    response: Any = None,
) -> NodeContext:
    """What a resolver of node ``code`` gets for this request: the actor is the token's
    subject (an AuthError instead of a principal: the view refuses before anything runs)."""
    found = service.node(code)
    assert found is not None  # checked by the routes before a view runs
    division, work = found
    known = principal if isinstance(principal, Principal) else None
    return NodeContext(
        request=request,
        response=response,
        node=division,
        work=work,
        loaders=CaseLoaders(work.db),
        actor=known.subject[:200] if known is not None else "",
        principal=known,
        extra={} if known is not None else {"auth_error": principal},
        alerts=service.alert_listener,
    )


class NodeRoute:
    """Routes ``/nodes/{code}/...`` to the view of the service hosting ``code``; 404 when this
    process hosts no such node."""

    def __init__(self, views: Sequence[NodeGraphQL]) -> None:
        self.views = list(views)

    def view_for(self, code: str) -> NodeGraphQL | None:
        for view in self.views:
            if view.service.node(code) is not None:
                return view
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        code = scope["path_params"]["code"]
        view = self.view_for(code)
        if view is None and scope["type"] == "websocket":
            await WebSocket(scope, receive, send).close(code=4404, reason=f"no node {code}")
            return
        if view is None:
            response = JSONResponse(
                {
                    "errors": [
                        {
                            "message": f"this service hosts no node {code}",
                            "extensions": {"code": "NODE_NOT_FOUND"},
                        }
                    ]
                },
                status_code=404,
            )
            await response(scope, receive, send)
            return
        await view(scope, receive, send)


def create_tier_app(
    service: TierService,
    schema: Schema,
    *,
    on_shutdown_dispose: bool = True,
    relay: bool = True,
    verifier: TokenVerifier | None = None,
) -> Starlette:
    return create_service_app(
        [(service, schema)], on_shutdown_dispose=on_shutdown_dispose, relay=relay, verifier=verifier
    )


def create_service_app(
    parts: Sequence[tuple[TierService, Schema]],
    *,
    on_shutdown_dispose: bool = True,
    relay: bool = True,
    verifier: TokenVerifier | None = None,
) -> Starlette:
    """One ASGI app for the nodes of one or more tier services (one process, one port).

    ``verifier`` checks users' tokens (default: from the environment, ``XINFANG_JWKS``, else
    the local demo key); there is no way to turn the check off.
    """
    services = [service for service, _ in parts]
    users = verifier or verifier_from_env()
    router = NodeRoute([NodeGraphQL(schema, service, users) for service, schema in parts])
    engines = list({id(s.engine): s.engine for s in services}.values())

    def hosting(code: str) -> tuple[TierService, CaseWork] | None:
        for service in services:
            found = service.node(code)
            if found is not None:
                return service, found[1]
        return None

    endpoints = {
        service.tier.value.lower(): ServiceEndpoint(
            service,
            schema,
            context_for=functools.partial(node_context, service),
            format_error=NodeGraphQL._format,
            verifier=users,
        )
        for service, schema in parts
    }

    async def tier_graphql(request: Request) -> Response:
        endpoint = endpoints.get(request.path_params["tier"])
        if endpoint is None:
            tier = request.path_params["tier"]
            message = f"this service serves no {tier} tier"
            body = {"errors": [{"message": message, "extensions": {"code": "TIER_NOT_FOUND"}}]}
            return JSONResponse(body, status_code=404)
        return await endpoint(request)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "tiers": [s.tier.value for s in services]})

    async def ready(request: Request) -> Response:
        try:
            for engine in engines:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as error:  # any failure means "not ready"
            log.warning("not ready: %s", error)
            return JSONResponse({"status": "unavailable", "reason": "database"}, status_code=503)
        return JSONResponse({"status": "ready", "nodes": sum(len(s.works) for s in services)})

    async def index(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        tree = division_tree()
        return JSONResponse(
            {
                "tiers": [s.tier.value for s in services],
                "nodes": [
                    {
                        "code": code,
                        "name": tree.name(code),
                        "tier": service.tier.value,
                        "graphql": f"{base}/nodes/{code}/graphql",
                    }
                    for service in services
                    for code in service.works
                ],
            }
        )

    async def node_request(
        request: Request, purpose: str, credential: NodeCredential
    ) -> tuple[str, bytes] | Response:
        """The signing sender and the body of a request from another node, or the refusal."""
        body = await request.body()
        try:
            sender = credential.sender(purpose, request.path_params["code"], request.headers, body)
        except AuthError as error:
            return JSONResponse(
                {"status": "unauthenticated", "detail": error.message}, status_code=401
            )
        return sender, body

    async def messages(request: Request) -> Response:
        code = request.path_params["code"]
        found = hosting(code)
        if found is None:
            return JSONResponse({"status": "unknown-node"}, status_code=404)
        service, work = found
        signed = await node_request(request, MESSAGE_PURPOSE, service.credential)
        if isinstance(signed, Response):
            return signed
        sender, body = signed
        try:
            message = Message.from_json(json.loads(body))
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"status": "malformed", "detail": str(error)}, status_code=400)
        if message.sender != sender or message.recipient != code:
            mismatch = f"signed by {sender} for {code}, the message is from {message.sender} to "
            mismatch += message.recipient
            return JSONResponse({"status": "forbidden", "detail": mismatch}, status_code=403)
        try:
            receipt, detail = await service.receive(work, message)
        except Exception as error:
            if not database_unavailable(error):
                raise
            # Not applied (its transaction rolled back): the sender keeps it and retries.
            answer = {"status": "unavailable", "code": DATABASE_UNAVAILABLE, "detail": str(error)}
            return JSONResponse(answer, status_code=503, headers={"retry-after": "1"})
        return JSONResponse({"status": receipt.value, "detail": detail})

    async def matters(request: Request) -> Response:
        """The province's matter index: a matter key's cases (ids, nodes, statuses; no
        personal data: the key is a keyed hash)."""
        code = request.path_params["code"]
        found = hosting(code)
        if found is None:
            return JSONResponse({"status": "unknown-node"}, status_code=404)
        service, work = found
        signed = await node_request(request, MATTERS_PURPOSE, service.credential)
        if isinstance(signed, Response):
            return signed
        sender, raw = signed
        if not sender.startswith(code):
            detail = f"node {sender} is not of province {code}: its matter index is not theirs"
            return JSONResponse({"status": "forbidden", "detail": detail}, status_code=403)
        try:
            body = json.loads(raw)
            matter_key = str(body["matterKey"])
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"status": "malformed", "detail": str(error)}, status_code=400)
        entries = await service.matter_entries(work, matter_key)
        if entries is None:
            return JSONResponse({"status": "not-an-index"}, status_code=404)
        return JSONResponse({"entries": [e.to_json() for e in entries]})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if relay:
                for service in services:
                    await stack.enter_async_context(service.running_relay())
            yield
        for service in services:
            await service.close_alert_listener()
        if on_shutdown_dispose:
            for engine in engines:
                await engine.dispose()

    app = Starlette(
        routes=[
            Route("/nodes/{code}/graphql", router, methods=["GET", "POST"]),
            WebSocketRoute("/nodes/{code}/graphql", router),
            Route("/tiers/{tier}/graphql", tier_graphql, methods=["POST"]),
            Route("/nodes/{code}/messages", messages, methods=["POST"]),
            Route("/nodes/{code}/matters", matters, methods=["POST"]),
            Route("/health", health),
            Route("/ready", ready),
            Route("/", index),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.service = services[0]
    instrument_app(app)
    return app


def build_tier_app(
    tier: Tier,
    schema: Schema,
    engine: AsyncEngine,
    nodes: Sequence[str],
    *,
    calendar: HolidayCalendar,
    person_key_secret: bytes,
    clock: Clock | None = None,
    registry: NodeRegistry | None = None,
    relay: bool = True,
) -> Starlette:
    """A tier service hosting ``nodes`` (all of ``tier``) with that tier's schema."""
    service = TierService(
        tier=tier,
        engine=engine,
        calendar=calendar,
        person_key_secret=person_key_secret,
        clock=clock or SystemClock(),
        registry=registry or NodeRegistry(),
    )
    service.host(nodes)
    return create_tier_app(service, schema, relay=relay)


class TierAppFactory(Protocol):
    def __call__(
        self,
        engine: AsyncEngine,
        nodes: Sequence[str],
        *,
        calendar: HolidayCalendar,
        person_key_secret: bytes,
        clock: Clock | None = None,
        registry: NodeRegistry | None = None,
        relay: bool = True,
    ) -> Starlette: ...


def tier_app_factory(tier: Tier, schema: Schema) -> TierAppFactory:
    """The ``create_<tier>_app`` of a tier folder: its schema, served for its nodes."""

    def create(
        engine: AsyncEngine,
        nodes: Sequence[str],
        *,
        calendar: HolidayCalendar,
        person_key_secret: bytes,
        clock: Clock | None = None,
        registry: NodeRegistry | None = None,
        relay: bool = True,
    ) -> Starlette:
        return build_tier_app(
            tier,
            schema,
            engine,
            nodes,
            calendar=calendar,
            person_key_secret=person_key_secret,
            clock=clock,
            registry=registry,
            relay=relay,
        )

    create.__name__ = f"create_{tier.value.lower()}_app"
    return create

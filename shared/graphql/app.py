"""The tier service: one ASGI app hosting any number of nodes of one tier, each at
``/nodes/{code}/graphql``, the service endpoint ``/tiers/{tier}/graphql`` (entities of all of
them, split by owner), plus ``/health`` and ``/ready``."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Protocol

from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.federation import Schema
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from shared.casework import CaseWork, Clock, SystemClock
from shared.divisions import Tier, division_tree
from shared.errors import DomainError, ErrorCode
from shared.graphql.context import CaseLoaders, NodeContext
from shared.graphql.service_endpoint import ServiceEndpoint
from shared.holidays import HolidayCalendar
from shared.messaging.messages import Message
from shared.registry import NodeRegistry
from shared.service import TierService
from shared.telemetry import instrument_app
from shared.validation import ValidationFailed

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
    log.error("unexpected error at %s", error.path, exc_info=original)
    return "INTERNAL_SERVER_ERROR", "internal error: the request was not completed", None


class NodeGraphQL(GraphQL[NodeContext, None]):
    """strawberry's ASGI view, with a context per node and stable error codes."""

    def __init__(self, schema: Schema, service: TierService) -> None:
        super().__init__(schema, graphql_ide="graphiql")
        self.service = service

    async def get_context(self, request: Any, response: Any) -> NodeContext:
        return node_context(self.service, request, request.path_params["code"], response)

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


def node_context(
    service: TierService, request: Request, code: str, response: Any = None
) -> NodeContext:
    """What a resolver of node ``code`` gets for this request."""
    found = service.node(code)
    assert found is not None  # checked by the routes before a view runs
    division, work = found
    actor = request.headers.get("x-xinfang-user") or f"handler@{code}"
    return NodeContext(
        request=request,
        response=response,
        node=division,
        work=work,
        loaders=CaseLoaders(work.db),
        actor=actor[:200],
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
) -> Starlette:
    return create_service_app(
        [(service, schema)], on_shutdown_dispose=on_shutdown_dispose, relay=relay
    )


def create_service_app(
    parts: Sequence[tuple[TierService, Schema]],
    *,
    on_shutdown_dispose: bool = True,
    relay: bool = True,
) -> Starlette:
    """One ASGI app for the nodes of one or more tier services (one process, one port)."""
    services = [service for service, _ in parts]
    router = NodeRoute([NodeGraphQL(schema, service) for service, schema in parts])
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

    async def messages(request: Request) -> Response:
        found = hosting(request.path_params["code"])
        if found is None:
            return JSONResponse({"status": "unknown-node"}, status_code=404)
        try:
            message = Message.from_json(await request.json())
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"status": "malformed", "detail": str(error)}, status_code=400)
        service, work = found
        receipt, detail = await service.receive(work, message)
        return JSONResponse({"status": receipt.value, "detail": detail})

    async def matters(request: Request) -> Response:
        """The province's matter index: a matter key's cases (ids, nodes, statuses; no
        personal data: the key is a keyed hash)."""
        found = hosting(request.path_params["code"])
        if found is None:
            return JSONResponse({"status": "unknown-node"}, status_code=404)
        try:
            body = await request.json()
            matter_key = str(body["matterKey"])
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"status": "malformed", "detail": str(error)}, status_code=400)
        service, work = found
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
        if on_shutdown_dispose:
            for engine in engines:
                await engine.dispose()

    app = Starlette(
        routes=[
            Route("/nodes/{code}/graphql", router, methods=["GET", "POST"]),
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

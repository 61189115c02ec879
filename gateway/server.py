"""The gateway's HTTP face: ``POST /graphql``, GraphiQL on ``GET /graphql``, health probes.

``create_gateway_app`` loads the supergraph eagerly (a bad SDL fails at start, not at the
first request); the HTTP client to the subgraphs is built in the lifespan and closed with it.
``main`` is the command line: ``xinfang gateway --supergraph PATH [--registry JSON] [--host H]
[--port N]`` (with a registry, requests are routed by key: docs/adr/0010-key-routed-shards.md),
under uvicorn with uvloop and httptools (both dependencies; uvicorn picks them by default).

With a ``verifier`` (``xinfang gateway`` always has one: ``XINFANG_JWKS``, else the local demo
key) ``/graphql`` needs a valid bearer token (HTTP 401, ``UNAUTHENTICATED``, otherwise) and the
caller's scope is checked before planning and at every entity fetch (``gateway.access``); only
``/health``, ``/ready`` and the dashboard's static shell are open. The token is forwarded to
the subgraphs, which verify it again.

Subscriptions (graphql-transport-ws over a WebSocket on ``/graphql``) are relayed to the node
holding the jurisdiction they name (``gateway.subscriptions``, docs/adr/0016): with a key
router only, since the node registry says where each node is.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.http.ides import get_graphql_ide_html

from gateway.access import Scope
from gateway.dashboard import dashboard_routes
from gateway.fetch import Router, StaticRouter, SubgraphFetcher
from gateway.limits import QueryLimits
from gateway.persisted import PersistedQueries
from gateway.pipeline import Gateway
from gateway.ratelimit import RateLimit, RateLimiter, rate_limited_body
from gateway.subscriptions import SubscriptionGateway
from gateway.supergraph import load_supergraph
from gateway.timing import RequestTiming, start_timing
from shared.auth import AuthError, TokenVerifier, bearer_token
from shared.telemetry import configure_tracing, instrument_app

__all__ = ["DEFAULT_FORWARDED_HEADERS", "create_gateway_app", "main"]

DEFAULT_FORWARDED_HEADERS = ("authorization", "traceparent", "tracestate")


def create_gateway_app(
    supergraph_sdl: str,
    *,
    verifier: TokenVerifier | None,
    timeout: float = 10.0,
    subgraph_timeouts: Mapping[str, float] | None = None,
    subgraph_urls: Mapping[str, str] | None = None,
    router: Router | None = None,
    forwarded_headers: Sequence[str] = DEFAULT_FORWARDED_HEADERS,
    override_labels: Sequence[str] = (),
    retries: int = 2,
    deduplicate: bool = True,
    limits: QueryLimits | None = None,
    persisted: PersistedQueries | None = None,
    rate_limit: RateLimit | None = None,
) -> Starlette:
    """A Starlette app serving the supergraph.

    ``subgraph_urls`` overrides URLs from the supergraph (per subgraph name); ``router``
    replaces URL selection entirely (the seam for key-routed shards). ``override_labels``
    switches progressive ``@override(label:)``s on; ``retries`` bounds how often a query's
    fetch is retried after a transport failure (mutations never are); ``deduplicate`` lets
    identical query fetches in flight at the same time share one subgraph request.
    ``verifier`` checks users' tokens; None only for a generic federation gateway (the
    federation tests, the bench), never for xinfang.
    """
    supergraph = load_supergraph(supergraph_sdl, override_labels=override_labels)
    urls = {**supergraph.subgraph_urls(), **(subgraph_urls or {})}
    chosen_router: Router = router or StaticRouter(urls)
    forwarded = tuple(h.lower() for h in forwarded_headers)
    holder: dict[str, Gateway] = {}
    limiter = RateLimiter(rate_limit) if rate_limit is not None else None
    # One for queries and subscriptions: the same allow list, the same registered hashes.
    documents = persisted if persisted is not None else PersistedQueries()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        fetcher = SubgraphFetcher(
            chosen_router,
            timeout=timeout,
            timeouts=subgraph_timeouts,
            retries=retries,
            deduplicate=deduplicate,
        )
        holder["gateway"] = Gateway(supergraph, fetcher, limits=limits, persisted=documents)
        app.state.gateway = holder["gateway"]
        try:
            yield
        finally:
            holder.clear()
            await fetcher.aclose()

    async def graphql_post(request: Request) -> Response:
        timing = start_timing()
        gateway = holder.get("gateway")
        if gateway is None:
            return _not_ready()
        scope = await _scope(verifier, request, limiter)
        if isinstance(scope, Response):
            return scope
        payload = _json_body(await request.body())
        return await _answer(
            gateway, payload, request, forwarded, timing, allow_mutations=True, scope=scope
        )

    async def graphql_get(request: Request) -> Response:
        if "text/html" in request.headers.get("accept", "") and "query" not in request.query_params:
            return HTMLResponse(get_graphql_ide_html("graphiql"))
        timing = start_timing()
        gateway = holder.get("gateway")
        if gateway is None:
            return _not_ready()
        scope = await _scope(verifier, request, limiter)
        if isinstance(scope, Response):
            return scope
        params = request.query_params
        payload: dict[str, Any] = {
            "query": params.get("query"),
            "operationName": params.get("operationName"),
        }
        for name in ("variables", "extensions"):
            if params.get(name):
                try:
                    payload[name] = json.loads(params[name])
                except json.JSONDecodeError:
                    payload[name] = "invalid"
        return await _answer(
            gateway, payload, request, forwarded, timing, allow_mutations=False, scope=scope
        )

    async def health(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def ready(_: Request) -> Response:
        if "gateway" in holder:
            return PlainTextResponse("ready")
        return PlainTextResponse("not ready", status_code=503)

    node_url = getattr(chosen_router, "node_url", None)
    subscriptions = SubscriptionGateway(
        supergraph.api_schema,
        verifier,
        node_url if callable(node_url) else (lambda code: None),
        limits=limits if limits is not None else QueryLimits(),
        persisted=documents,
    )

    async def graphql_ws(websocket: WebSocket) -> None:
        await subscriptions(websocket)

    app = Starlette(
        routes=[
            Route("/graphql", graphql_post, methods=["POST"]),
            WebSocketRoute("/graphql", graphql_ws),
            Route("/graphql", graphql_get, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            *dashboard_routes(),
        ],
        lifespan=lifespan,
    )
    instrument_app(app)
    return app


async def _answer(
    gateway: Gateway,
    payload: Any,
    request: Request,
    forwarded: Sequence[str],
    timing: RequestTiming,
    *,
    allow_mutations: bool,
    scope: Scope | None,
) -> Response:
    headers = {name: request.headers[name] for name in forwarded if name in request.headers}
    result = await gateway.handle(
        payload, headers=headers, allow_mutations=allow_mutations, scope=scope
    )
    try:
        content = orjson.dumps(result.body)
    except TypeError:  # e.g. an integer beyond 64 bits: the standard library copes
        content = json.dumps(
            result.body, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()
    timing.finish()
    return Response(
        content,
        status_code=result.status,
        media_type="application/json",
        headers={"server-timing": timing.header()},
    )


async def _scope(
    verifier: TokenVerifier | None, request: Request, limiter: RateLimiter | None
) -> Scope | Response | None:
    """The caller's scope; a 401 (503 when the keys cannot be had) when there is no valid
    token, a 429 when the caller has spent their requests; None without a verifier."""
    if verifier is None:
        return None
    try:
        principal = await verifier.verify(bearer_token(request.headers.get("authorization")))
    except AuthError as error:
        body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
        if error.code != "UNAUTHENTICATED":
            return JSONResponse(body, status_code=503)
        return JSONResponse(body, status_code=401, headers={"www-authenticate": "Bearer"})
    if limiter is not None and (wait := limiter.take(principal.subject)) is not None:
        headers = {"retry-after": str(max(1, math.ceil(wait)))}
        return JSONResponse(rate_limited_body(wait), status_code=429, headers=headers)
    return Scope(principal)


def _json_body(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:  # what orjson refuses but JSON allows (e.g. a number beyond a double's range)
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None


def _not_ready() -> Response:
    body = {
        "errors": [{"message": "The gateway is starting.", "extensions": {"code": "NOT_READY"}}]
    }
    return JSONResponse(body, status_code=503)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xinfang gateway", description="Serve a Federation v2 supergraph over HTTP."
    )
    parser.add_argument("--supergraph", required=True, type=Path, help="supergraph SDL file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4000)
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="per-subgraph request timeout, seconds"
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="retries of a query's fetch after a transport failure",
    )
    parser.add_argument(
        "--no-deduplicate",
        action="store_false",
        dest="deduplicate",
        help="send every subgraph fetch, even when an identical one is in flight",
    )
    parser.add_argument(
        "--override-label",
        action="append",
        default=[],
        dest="override_labels",
        help="switch a progressive @override(label:) on (repeatable)",
    )
    parser.add_argument(
        "--registry",
        type=Path,
        help="node registry JSON: route each key to the service hosting its node",
    )
    parser.add_argument(
        "--forward-header",
        action="append",
        default=[],
        dest="forward_headers",
        help="also pass this request header to the subgraphs (repeatable; "
        f"always passed: {', '.join(DEFAULT_FORWARDED_HEADERS)})",
    )
    return parser


def forwarded_headers(extra: Sequence[str]) -> tuple[str, ...]:
    """The default forwarded headers plus ``extra``, lower-cased, each once."""
    names = [*DEFAULT_FORWARDED_HEADERS, *(h.strip().lower() for h in extra if h.strip())]
    return tuple(dict.fromkeys(names))


def policy_from_env() -> dict[str, Any]:
    """``create_gateway_app``'s ``limits``, ``persisted`` and ``rate_limit`` as the environment
    sets them (``XINFANG_MAX_*``, ``XINFANG_PERSISTED_QUERIES``, ``XINFANG_ALLOW_LIST``,
    ``XINFANG_ADHOC_ROLES``, ``XINFANG_RATE_LIMIT``, ``XINFANG_RATE_BURST``; README). A bad
    value stops the start with its name: SystemExit."""
    try:
        return {
            "limits": QueryLimits.from_env(),
            "persisted": PersistedQueries.from_env(),
            "rate_limit": RateLimit.from_env(),
        }
    except ValueError as error:
        raise SystemExit(f"xinfang gateway: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    from shared.access import verifier_from_env

    args = build_parser().parse_args(argv)
    configure_tracing("xinfang-gateway")
    sdl = args.supergraph.read_text(encoding="utf-8")
    router: Router | None = None
    if args.registry is not None:
        from gateway.routing import KeyRouter
        from shared.registry import NodeRegistry

        registry = NodeRegistry.from_file(args.registry)
        router = KeyRouter(registry, load_supergraph(sdl).subgraph_urls())
    app = create_gateway_app(
        sdl,
        verifier=verifier_from_env(),
        timeout=args.timeout,
        retries=args.retries,
        override_labels=args.override_labels,
        router=router,
        forwarded_headers=forwarded_headers(args.forward_headers),
        deduplicate=args.deduplicate,
        **policy_from_env(),
    )
    print(f"gateway: http://{args.host}:{args.port}/graphql", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

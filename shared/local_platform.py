"""The platform on one machine: tier services in their own processes, the gateway in front.

``xinfang run`` prepares the database, starts one process per tier it hosts (each a tier
service on its own port, so the machine's cores share the work), writes the node registry of
what it started, and serves the front at ``--port``:

- ``/graphql``: the federation gateway over the committed xinfang supergraph, routing by key
  to the tier services (real HTTP);
- ``/nodes/{code}/graphql``: one node's own endpoint, passed through to its tier service;
- ``/`` (every node), ``/health``, ``/ready`` (every tier service ready).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from shared.divisions import Tier, division_tree, tier_of
from shared.registry import NodeRegistry

__all__ = [
    "SUPERGRAPH",
    "TierProcess",
    "create_front_app",
    "start_tier_processes",
    "stop_tier_processes",
]

SUPERGRAPH = (
    Path(__file__).resolve().parent.parent / "gateway" / "supergraph" / "xinfang.supergraph.graphql"
)
PASSED_HEADERS = ("accept", "content-type", "authorization", "traceparent", "tracestate")


@dataclass
class TierProcess:
    tier: Tier
    nodes: list[str]
    port: int
    host: str
    process: BaseProcess | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def plan_tier_processes(nodes: Sequence[str], host: str, port: int) -> list[TierProcess]:
    """One process per tier with nodes, on port+1.. (by tier) when free, else any free port."""
    planned = []
    for offset, tier in enumerate(Tier, start=1):
        hosted = [code for code in nodes if tier_of(code) is tier]
        if hosted:
            wanted = port + offset
            chosen = wanted if port_is_free(host, wanted) else free_port(host)
            planned.append(TierProcess(tier, hosted, chosen, host))
    return planned


def local_registry(processes: Sequence[TierProcess], given: NodeRegistry | None) -> NodeRegistry:
    """The registry of what this machine hosts, over ``given`` for everything else."""
    hosted = {code for p in processes for code in p.nodes}
    base = given or NodeRegistry()
    return NodeRegistry(
        tiers={**base.tiers, **{p.tier: p.base_url for p in processes}},
        nodes={code: url for code, url in base.nodes.items() if code not in hosted},
    )


def serve_tier(nodes: list[str], host: str, port: int, registry_json: str) -> None:
    """A child process: one tier service (the same app ``build_app`` gives) on ``port``."""
    import uvicorn

    from shared.cli import build_app
    from shared.persistence.database import create_engine, server_url
    from shared.settings import Settings
    from shared.telemetry import configure_tracing

    configure_tracing("xinfang-tiers")
    settings = Settings.from_env()
    url = server_url(settings.database_url, settings.data_dir)
    engine = create_engine(url, settings.database_name)
    registry = NodeRegistry.from_json(registry_json)
    app = build_app(engine, nodes, settings, registry)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def start_tier_processes(
    processes: Sequence[TierProcess], registry: NodeRegistry, *, ready_within: float = 180.0
) -> None:
    context = multiprocessing.get_context("spawn")
    for planned in processes:
        planned.process = context.Process(
            target=serve_tier,
            args=(planned.nodes, planned.host, planned.port, registry.to_json()),
            name=f"xinfang-{planned.tier.value.lower()}",
            daemon=True,
        )
        planned.process.start()
    deadline = time.monotonic() + ready_within
    for planned in processes:
        while not _ready(planned):
            assert planned.process is not None
            if not planned.process.is_alive():
                stop_tier_processes(processes)
                raise RuntimeError(f"the {planned.tier.value.lower()} service exited at start")
            if time.monotonic() > deadline:
                stop_tier_processes(processes)
                raise RuntimeError(f"the {planned.tier.value.lower()} service is not ready")
            time.sleep(0.2)


def stop_tier_processes(processes: Sequence[TierProcess]) -> None:
    for planned in processes:
        if planned.process is not None and planned.process.is_alive():
            planned.process.terminate()
    for planned in processes:
        if planned.process is not None:
            planned.process.join(timeout=10)
            if planned.process.is_alive():
                planned.process.kill()


def _ready(planned: TierProcess) -> bool:
    try:
        return httpx.get(f"{planned.base_url}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def create_front_app(
    gateway: Starlette, registry: NodeRegistry, processes: Sequence[TierProcess]
) -> Starlette:
    """One address for users: the gateway, each node's endpoint, the index and probes."""
    hosted = [code for p in processes for code in p.nodes]
    holder: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        async with (
            httpx.AsyncClient(limits=limits, timeout=30) as client,
            gateway.router.lifespan_context(gateway),
        ):
            holder["client"] = client
            yield
            holder.clear()

    async def node_endpoint(request: Request) -> Response:
        code = request.path_params["code"]
        try:
            url = registry.graphql_url(code)
        except (LookupError, ValueError):
            body = {
                "errors": [{"message": f"no node {code}", "extensions": {"code": "NODE_NOT_FOUND"}}]
            }
            return JSONResponse(body, status_code=404)
        answer = await holder["client"].request(
            request.method,
            url,
            params=request.query_params,
            content=await request.body(),
            headers=_passed(request.headers, PASSED_HEADERS),
        )
        return Response(
            answer.content, answer.status_code, _passed(answer.headers, ("content-type",))
        )

    async def index(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        tree = division_tree()
        return JSONResponse(
            {
                "gateway": f"{base}/graphql",
                "nodes": [
                    {
                        "code": code,
                        "name": tree.name(code),
                        "tier": tier_of(code).value,
                        "graphql": f"{base}/nodes/{code}/graphql",
                    }
                    for code in hosted
                ],
            }
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "tiers": [p.tier.value for p in processes]})

    async def ready(request: Request) -> Response:
        client = holder.get("client")
        if client is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        answers = await asyncio.gather(
            *(client.get(f"{p.base_url}/ready", timeout=5) for p in processes),
            return_exceptions=True,
        )
        down = [
            p.tier.value
            for p, a in zip(processes, answers, strict=True)
            if isinstance(a, BaseException) or a.status_code != 200
        ]
        if down:
            return JSONResponse({"status": "unavailable", "tiers": down}, status_code=503)
        return JSONResponse({"status": "ready", "nodes": len(hosted)})

    return Starlette(
        routes=[
            Route("/nodes/{code}/graphql", node_endpoint, methods=["GET", "POST"]),
            Route("/", index),
            Route("/health", health),
            Route("/ready", ready),
            Mount("/", app=gateway),
        ],
        lifespan=lifespan,
    )


def _passed(headers: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    return {name: headers[name] for name in names if name in headers}

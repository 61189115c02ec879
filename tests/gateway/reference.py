"""The standard tools as test harness: the Federation v2 composer and ``@apollo/gateway``.

Both are the pinned npm packages under ``tools/node`` (installed by ``scripts/node-tools``):

- ``compose_supergraphs({id: [(name, url, sdl), ...]})`` composes many supergraphs in one
  node process (``tools/node/compose-all.mjs``) and raises ``CompositionError`` on errors.
- ``apollo_gateway(supergraph_sdl, urls) -> url`` serves a supergraph with ``@apollo/gateway``
  (``tools/node/reference-gateway.mjs``) as a real subprocess on a free port.
  ``reference_gateways()`` keeps one such process open for many supergraphs: call
  ``await reference.load(sdl, urls)`` for each (one node start, ~1 s, per session).

A differential test asks the reference and our gateway the same operation and compares.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "NODE_TOOLS",
    "CompositionError",
    "ReferenceGateway",
    "apollo_gateway",
    "compose_supergraphs",
    "reference_gateways",
]

NODE_TOOLS = Path(__file__).resolve().parents[2] / "tools" / "node"
SubgraphSource = tuple[str, str, str]  # name, url, SDL


class CompositionError(AssertionError):
    """The composer refused a set of subgraphs."""


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (NODE_TOOLS / "node_modules").is_dir():
        raise RuntimeError("node and tools/node/node_modules are needed (run scripts/install)")
    return node


def compose_supergraphs(
    requests: Mapping[str, Sequence[SubgraphSource]],
) -> dict[str, str]:
    """Compose each set of subgraphs; one node process for all of them."""
    payload = {
        key: {"subgraphs": [{"name": n, "url": u, "sdl": s} for n, u, s in subgraphs]}
        for key, subgraphs in requests.items()
    }
    completed = subprocess.run(
        [_node(), str(NODE_TOOLS / "compose-all.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    results: dict[str, dict[str, Any]] = json.loads(completed.stdout)
    failed = {k: r["errors"] for k, r in results.items() if "errors" in r}
    if failed:
        raise CompositionError(json.dumps(failed, indent=2, ensure_ascii=False))
    return {key: str(result["supergraph"]) for key, result in results.items()}


class ReferenceGateway:
    """One ``reference-gateway.mjs`` process; each loaded supergraph gets its own URL."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._ids = itertools.count()
        self._lock = asyncio.Lock()

    async def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        async with self._lock:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            await self.process.stdin.drain()
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout=60)
        if not line:
            raise RuntimeError("the reference gateway process ended")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"reference gateway: {answer['error']}")
        return answer

    async def load(self, supergraph_sdl: str, urls: Mapping[str, str] | None = None) -> str:
        """Serve ``supergraph_sdl`` (subgraph URLs overridden by ``urls``); its GraphQL URL."""
        key = f"s{next(self._ids)}"
        message = {"id": key, "op": "load", "supergraph": supergraph_sdl, "urls": dict(urls or {})}
        answer = await self._ask(message)
        url: str = answer["url"]
        return url

    async def aclose(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@asynccontextmanager
async def reference_gateways() -> AsyncIterator[ReferenceGateway]:
    process = await asyncio.create_subprocess_exec(
        _node(),
        str(NODE_TOOLS / "reference-gateway.mjs"),
        cwd=NODE_TOOLS,
        # No probing for a cloud metadata server (a dependency of @apollo/server does).
        env={**os.environ, "METADATA_SERVER_DETECTION": "none"},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    reference = ReferenceGateway(process)
    try:
        yield reference
    finally:
        await reference.aclose()


@asynccontextmanager
async def apollo_gateway(
    supergraph_sdl: str, urls: Mapping[str, str] | None = None
) -> AsyncIterator[str]:
    """``@apollo/gateway`` serving one supergraph; yields its GraphQL URL."""
    async with reference_gateways() as reference:
        yield await reference.load(supergraph_sdl, urls)

"""Our gateway as the bench runs it, in its own process: ``create_gateway_app`` under uvicorn
with a chosen event loop, HTTP parser and number of worker processes (``xinfang gateway`` itself
has no such options; it runs one process with uvicorn's defaults and an access log).

usage: python -m bench.gateways.ours --supergraph FILE --port N [--workers 1]
       [--loop asyncio|uvloop] [--http h11|httptools] [--no-deduplicate]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from gateway.limits import QueryLimits
from gateway.server import create_gateway_app

SUPERGRAPH_VARIABLE = "XINFANG_BENCH_SUPERGRAPH"
DEDUPLICATE_VARIABLE = "XINFANG_BENCH_DEDUPLICATE"


def app() -> Starlette:
    """The app factory each uvicorn worker calls."""
    return create_gateway_app(
        Path(os.environ[SUPERGRAPH_VARIABLE]).read_text(encoding="utf-8"),
        verifier=None,  # the bench's demo subgraphs: a plain federation gateway
        deduplicate=os.environ.get(DEDUPLICATE_VARIABLE, "1") == "1",
        # The reference gateways estimate no cost: the side by side compares execution, and the
        # classic deep query (~350,000 by xinfang's estimate) is no leader's screen (ADR 20).
        limits=QueryLimits(max_cost=10**12),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateways.ours")
    parser.add_argument("--supergraph", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--http", choices=["h11", "httptools"], default="h11")
    parser.add_argument("--no-deduplicate", action="store_true")
    args = parser.parse_args(argv)
    os.environ[SUPERGRAPH_VARIABLE] = str(args.supergraph.resolve())
    os.environ[DEDUPLICATE_VARIABLE] = "0" if args.no_deduplicate else "1"
    uvicorn.run(
        "bench.gateways.ours:app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        loop=args.loop,
        http=args.http,
        log_level="warning",
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

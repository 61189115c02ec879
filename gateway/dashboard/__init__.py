"""The leaders' dashboard: a static page served by the gateway at ``/dashboard``.

It uses only the public GraphQL API (``POST /graphql`` on the same origin) and vendored
Apache ECharts, so it needs no network beyond the gateway. The page is a shell: it holds no
data until it asks for it, so it may be served without a token (the data needs one).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["STATIC", "dashboard_routes"]

STATIC = Path(__file__).parent / "static"


async def _page(_: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})


async def _slash(_: Request) -> Response:
    return RedirectResponse("/dashboard", status_code=308)


def dashboard_routes() -> list[BaseRoute]:
    return [
        Route("/dashboard", _page, methods=["GET"]),
        Route("/dashboard/", _slash, methods=["GET"]),
        Mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static"),
    ]

"""The leaders' dashboard: a static page served by the gateway at ``/dashboard``.

It uses only the public GraphQL API (``POST /graphql`` on the same origin, and the live
alerts' subscription over graphql-transport-ws on the same ``/graphql``) and vendored Apache
ECharts, so it needs no network beyond the gateway. The page is a shell: it holds no data until
it asks for it, so it may be served without a token (the data needs one).

Every document the page sends is one file of ``static/queries/`` (docs/adr/0019), sent
verbatim, the subscription too: ``xinfang persisted-queries
gateway/dashboard/static/queries/*.graphql`` is the dashboard's allow list (docs/adr/0020),
for queries and subscriptions alike. The page gets them as ``queries.js``, written here from
those files, so there is one copy of each and no extra round trip before the first query.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["QUERIES", "STATIC", "dashboard_documents", "dashboard_routes", "queries_script"]

STATIC = Path(__file__).parent / "static"
QUERIES = STATIC / "queries"


def dashboard_documents() -> dict[str, str]:
    """The page's documents by name (``dashboard-overview.graphql`` → ``OVERVIEW``,
    ``dashboard-alerts-live.graphql`` → ``ALERTS_LIVE``), each the file's text exactly: the text
    whose SHA-256 a persisted-query manifest lists."""
    return {
        path.stem.removeprefix("dashboard-").replace("-", "_").upper(): path.read_text(
            encoding="utf-8"
        )
        for path in sorted(QUERIES.glob("dashboard-*.graphql"))
    }


def queries_script() -> str:
    """``window.XinfangQueries``: the documents, frozen, for dashboard.js."""
    documents = json.dumps(dashboard_documents(), ensure_ascii=False, indent=2)
    return (
        "// Written by the gateway from gateway/dashboard/static/queries/*.graphql: every\n"
        "// document the dashboard sends, verbatim (a persisted-query allow list).\n"
        f"window.XinfangQueries = Object.freeze({documents});\n"
    )


async def _page(_: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})


async def _queries(_: Request) -> Response:
    return Response(
        queries_script(),
        media_type="text/javascript; charset=utf-8",
        headers={"cache-control": "no-cache"},
    )


async def _slash(_: Request) -> Response:
    return RedirectResponse("/dashboard", status_code=308)


def dashboard_routes() -> list[BaseRoute]:
    return [
        Route("/dashboard", _page, methods=["GET"]),
        Route("/dashboard/", _slash, methods=["GET"]),
        Route("/dashboard/static/queries.js", _queries, methods=["GET"]),
        Mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static"),
    ]

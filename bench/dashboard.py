"""``xinfang bench dashboard``: the leaders' dashboard page, fully rendered, in headless Chromium.

Time from navigation to the province overview fully rendered: the page sets a marker
(``<html data-ready="overview">`` and ``window.dashboardReadyAt``, ms since navigation start)
once all its requests have answered and every chart has painted (gateway/dashboard/static).
The data is the demo data of ``xinfang run`` (its database, ``XINFANG_DATABASE``, default
xinfang; seeded with ``--cases-per-node`` cases for nodes that have none, the figures
converged), served by every tier service in this process, the gateway in front, as
bench/overview.py does; the browser is Debian's Chromium (/usr/bin/chromium), a process of its
own. Rows: a first visit (a new browser context each run: empty cache, the 1 MiB of ECharts
fetched and compiled again) and a reload in a warm context, p50/p95 over ``--runs``. The
refreshers do not run: the page's reads alone are measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from playwright.async_api import Browser, Page, Request, ViewportSize, async_playwright

from bench.province import demo_province, served
from bench.run import BenchUsers
from bench.timing import Summary
from shared.auth import Role

CHROMIUM = "/usr/bin/chromium"
# As tests/e2e/browser.py: without these Chromium keeps trying to reach Google's hosts.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
READY = "document.documentElement.dataset.ready"


@dataclass(frozen=True)
class Measured:
    name: str
    rendered: Summary  # navigation start to the page's ready marker, as the page measured it
    waited: Summary  # page.goto called to the marker seen, as this process saw it
    requests: int  # GraphQL requests per load


@dataclass(frozen=True)
class DashboardReport:
    database: str
    nodes: int
    cases: int
    seeded_seconds: float
    browser: str
    rows: list[Measured]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xinfang bench dashboard", description=__doc__)
    parser.add_argument("--province", default="53", help="province code (53: Yunnan)")
    parser.add_argument("--runs", type=int, default=20, help="timed page loads per row (20)")
    parser.add_argument("--warmups", type=int, default=2, help="untimed loads first (2)")
    parser.add_argument(
        "--cases-per-node", type=int, default=4, help="demo cases for empty nodes (4, as run)"
    )
    parser.add_argument("--database", help="database name (XINFANG_DATABASE, xinfang)")
    return parser


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def _load(page: Page, url: str, *, reload: bool) -> tuple[float, float, int]:
    """One load: (ms the page measured, seconds this process waited, GraphQL requests)."""
    requests: list[str] = []

    def seen(request: Request) -> None:
        if request.url.endswith("/graphql"):
            requests.append(request.url)

    page.on("request", seen)
    started = time.perf_counter()
    if reload:
        await page.reload(wait_until="commit")
    else:
        await page.goto(url, wait_until="commit")
    await page.wait_for_function(f"{READY} !== undefined", timeout=60_000)
    waited = time.perf_counter() - started
    page.remove_listener("request", seen)
    state = await page.evaluate(READY)
    if state != "overview":
        status = await page.text_content("#status")
        raise RuntimeError(f"the dashboard did not render the overview: {state}: {status}")
    rendered = float(await page.evaluate("window.dashboardReadyAt"))
    return rendered, waited, len(requests)


async def measure(
    browser: Browser, base: str, token: str, code: str, *, runs: int, warmups: int
) -> list[Measured]:
    """Load ``code``'s overview ``warmups + runs`` times for each row; the timed runs summed up."""
    url = f"{base}/dashboard?token={token}#code={code}"
    rows: list[Measured] = []
    # A first visit: a new context (no cache, no session) for every load.
    rendered: list[float] = []
    waited: list[float] = []
    requests = 0
    for i in range(warmups + runs):
        context = await browser.new_context(locale="zh-CN", viewport=VIEWPORT)
        try:
            page = await context.new_page()
            ms, seconds, requests = await _load(page, url, reload=False)
        finally:
            await context.close()
        if i >= warmups:
            rendered.append(ms / 1000)
            waited.append(seconds)
    rows.append(
        Measured("first visit (new context)", Summary.of(rendered), Summary.of(waited), requests)
    )
    # A reload in one warm context: ECharts and the page come from the cache.
    context = await browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    try:
        page = await context.new_page()
        await _load(page, url, reload=False)
        rendered, waited = [], []
        for i in range(warmups + runs):
            ms, seconds, requests = await _load(page, url, reload=True)
            if i >= warmups:
                rendered.append(ms / 1000)
                waited.append(seconds)
    finally:
        await context.close()
    rows.append(Measured("reload (warm cache)", Summary.of(rendered), Summary.of(waited), requests))
    return rows


async def run(args: argparse.Namespace) -> DashboardReport:
    async with demo_province(
        args.province, database=args.database, cases_per_node=args.cases_per_node
    ) as province:
        users = BenchUsers(args.province)
        leader = users.key.mint(
            subject=f"bench-leader@{args.province}",
            jurisdiction=args.province,
            roles=[Role.LEADER],
            issuer="xinfang-bench",
            audience="xinfang",
            ttl=24 * 3600,
        )
        async with served(province, users) as front, chromium() as browser:
            version = browser.version
            rows = await measure(
                browser, front.front, leader, args.province, runs=args.runs, warmups=args.warmups
            )
        return DashboardReport(
            database=province.database,
            nodes=len(province.nodes),
            cases=province.cases,
            seeded_seconds=province.prepared_seconds,
            browser=f"Chromium {version} (headless, {CHROMIUM})",
            rows=rows,
        )


def table(report: DashboardReport) -> str:
    lines = [
        f"database   {report.database}: {report.nodes:,} nodes, {report.cases:,} cases "
        f"(seeding and converging the figures: {report.seeded_seconds:.1f} s)",
        f"server     Python {platform.python_version()}, {os.cpu_count()} CPUs; the tier "
        "services and the gateway share one process and event loop",
        f"browser    {report.browser}, 1400x900",
        "page       /dashboard, the province overview: navigation start to every request "
        "answered and every chart drawn",
        "",
        f"{'benchmark':<30} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  "
        f"{'goto→ready p50/p95 ms':>22}  requests",
        "-" * 100,
    ]
    for r in report.rows:
        lines.append(
            f"{r.name:<30} {r.rendered.count:>5} {r.rendered.p50:>8.1f} {r.rendered.p95:>8.1f} "
            f"{r.rendered.max:>8.1f}  {r.waited.p50:>10.1f} / {r.waited.p95:>9.1f}  "
            f"{r.requests:>8}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.runs < 1 or args.warmups < 0:
        raise SystemExit("xinfang bench dashboard: --runs must be at least 1, --warmups >= 0")
    try:
        report = asyncio.run(run(args))
    except (RuntimeError, httpx.HTTPError, OSError) as error:
        print(f"xinfang bench dashboard: failed: {type(error).__name__}: {error}")
        return 1
    print(table(report))
    return 0

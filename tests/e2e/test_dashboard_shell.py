"""The dashboard page in real headless Chromium: its shell, assets and failure display."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser

from gateway.compose import SUPERGRAPH_FILE
from gateway.server import create_gateway_app
from tests.e2e.browser import chromium, watched_page
from tests.gateway.servers import free_port, serving
from tests.identity import PROVINCE_LEADER, suite_verifier

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def gateway_without_subgraphs() -> AsyncIterator[str]:
    # Every subgraph URL points at a port nobody listens on.
    dead = f"http://127.0.0.1:{free_port()}"
    urls = {
        name: f"{dead}/tiers/{name}/graphql" for name in ("province", "city", "county", "township")
    }
    app = create_gateway_app(
        SUPERGRAPH_FILE.read_text(encoding="utf-8"),
        verifier=suite_verifier(),
        subgraph_urls=urls,
        timeout=2.0,
    )
    async with serving(app) as base:
        yield base


async def test_the_dashboard_shell_and_its_vendored_charts_are_served(
    gateway_without_subgraphs: str,
) -> None:
    async with httpx.AsyncClient(base_url=gateway_without_subgraphs) as client:
        page = await client.get("/dashboard")
        charts = await client.get("/dashboard/static/vendor/echarts-6.1.0/echarts.min.js")
        slash = await client.get("/dashboard/", follow_redirects=False)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "信访工作态势" in page.text
    assert charts.status_code == 200
    assert len(charts.content) > 500_000
    assert slash.status_code == 308
    assert slash.headers["location"] == "/dashboard"


async def test_the_dashboard_loads_offline_and_says_when_no_jurisdiction_answers(
    browser: Browser, gateway_without_subgraphs: str
) -> None:
    async with watched_page(browser) as watched:
        page = watched.page
        outside: list[str] = []
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if not r.url.startswith((gateway_without_subgraphs, "data:", "blob:"))
                else None
            ),
        )
        await page.goto(f"{gateway_without_subgraphs}/dashboard?token={PROVINCE_LEADER.token()}")
        await page.wait_for_function(
            "document.getElementById('status').classList.contains('error')"
        )
        assert "token=" not in page.url  # kept in sessionStorage, out of the address bar
        status = await page.text_content("#status")
        assert status is not None
        assert "辖区服务暂未响应" in status
        assert "SUBGRAPH_UNAVAILABLE" in status
        assert await page.evaluate("typeof window.echarts") == "object"
        assert await page.input_value("#period-from") != ""
        assert await page.input_value("#period-to") != ""
        assert await page.is_hidden("#overview")
        await watched.screenshot("dashboard-no-subgraphs")
        assert outside == []
        assert watched.problems() == []


async def test_the_dashboard_without_a_token_asks_to_sign_in(
    browser: Browser, gateway_without_subgraphs: str
) -> None:
    async with watched_page(browser) as watched:
        page = watched.page
        await page.goto(f"{gateway_without_subgraphs}/dashboard")
        await page.wait_for_function(
            "document.getElementById('status').classList.contains('error')"
        )
        status = await page.text_content("#status")
        assert status is not None
        assert "请先登录" in status
        assert "UNAUTHENTICATED" in status
        assert await page.is_hidden("#overview")

"""The leaders' dashboard in real headless Chromium over the whole demo province.

Every node of Yunnan (1,607) on real tier services over HTTP behind the gateway (the shards of
tests/gateway/test_shards.py: 盘龙区 runs its own service, so it can be stopped). The page is
driven as a province leader would: the overview, drill-down to one township through the
children tables, back up with the browser's history, a case's escalation trail, a CSV export,
a period change, and a county that is down; the alert panel counted as the API counts, and a
collective visit registered at a township heard live by the province's page and not by
another city's. The figures on the page are checked against the same public API the page
uses. The browser's clock is set to the day the test data was seeded
(2025-06-01), so "this year" and "last month" hold cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Request, WebSocket
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.dashboard import measure
from gateway.dashboard import QUERIES, dashboard_documents
from gateway.persisted import PersistedQueries, build_manifest
from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.auth import Role
from shared.casework import CaseWork, FixedClock
from shared.divisions import Tier, division_tree
from shared.holidays import default_calendar
from shared.messaging import figures_flows
from shared.messaging.relay import Relay
from shared.persistence.migrate import schema_for
from shared.persistence.repository import NodeDatabase
from shared.registry import NodeRegistry
from shared.service import TierService
from tests.conftest import CITY, COUNTY, OTHER_COUNTY, SECRET, START, TEST_NODES, THIRD_COUNTY
from tests.e2e.browser import WatchedPage, chromium, watched_page
from tests.gateway.servers import free_port, serving
from tests.gateway.test_shards import (
    OWN_COUNTY,
    SUPERGRAPH,
    Province,
    province,
    shards,
    tier_service_app,
)
from tests.identity import PROVINCE_LEADER, User, handler, leader, suite_verifier
from tests.roles import petition

__all__ = ["province"]  # the module-scoped fixture, shared with the shard tests

pytestmark = pytest.mark.browser

TODAY = datetime(2025, 6, 1, 4, 0, tzinfo=UTC)  # 12:00 in China, the day the data was seeded
THIS_YEAR = {"from": "2025-01-01", "to": "2025-06-01"}
LAST_MONTH = {"from": "2025-05-01", "to": "2025-05-31"}
KUNMING = "5301"
QUJING = "5303"  # 曲靖市: another city
ANALYST = User("53", (Role.ANALYST,))
# Where the live test registers a collective visit: a township of 五华区 (昆明市), on the main
# service (盘龙区 has a service of its own, which another test stops).
VISIT_TOWNSHIP = "530102001"
SEVERITY_LABELS = {"CRITICAL": "紧急", "SEVERE": "严重", "WARNING": "警示"}

STATS = (
    "eventCount personCount timelyAcceptanceRate onTimeReplyRate satisfactionRate backlog "
    "overdue supervisionOrdersOpen firstPetitionReplyDays"
)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def api(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    # As an analyst: ad-hoc queries are their work, and pass the allow list (docs/adr/0020).
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=ANALYST.headers()
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"][:3]
    data: dict[str, Any] = body["data"]
    return data


async def subtree(client: httpx.AsyncClient, code: str, period: dict[str, str]) -> dict[str, Any]:
    query = (
        "query($code: ID!, $period: Period) { jurisdiction(code: $code) { name "
        f"subtreeStats(period: $period) {{ {STATS} }} "
        "childStats(period: $period) { jurisdiction { code name } "
        f"stats {{ {STATS} }} }} }} }}"
    )
    data = await api(client, query, code=code, period=period)
    found: dict[str, Any] = data["jurisdiction"]
    return found


async def a_township_with_an_overdue_case(
    client: httpx.AsyncClient, period: dict[str, str]
) -> tuple[str, str, str]:
    """(county, township, case id): the first township of 昆明市 holding an overdue case
    registered in the period."""
    query = (
        'query($period: Period) { jurisdiction(code: "5301") { children { code '
        "children { code cases(filter: { overdue: true, period: $period }, first: 1) "
        "{ edges { node { id } } } } } } }"
    )
    data = await api(client, query, period=period)
    for county in data["jurisdiction"]["children"]:
        if county["code"] == OWN_COUNTY:
            continue  # stopped by the other test: keep this one on the main service
        for township in county["children"]:
            if township["cases"]["edges"]:
                return county["code"], township["code"], township["cases"]["edges"][0]["node"]["id"]
    raise AssertionError("no township of 昆明市 has an overdue case in the period")


async def shown(page: Page, view: str, place: str, period: dict[str, str] | None = None) -> None:
    """Wait for the page's marker: every request of the view answered, every chart drawn."""
    expected = f"{period['from']}/{period['to']}" if period else None
    try:
        await page.wait_for_function(
            """([view, place, period]) => {
              const d = document.documentElement.dataset;
              const period_ok = period === null || d.period === period;
              return d.ready === view && d.place === place && period_ok;
            }""",
            arg=[view, place, expected],
            timeout=60_000,
        )
    except Exception as error:
        state = await page.evaluate(
            "({url: location.href, status: document.getElementById('status').textContent, "
            "...document.documentElement.dataset})"
        )
        raise AssertionError(f"the page did not show {view} {place} {expected}: {state}") from error


async def card(page: Page, metric: str) -> str:
    text = await page.text_content(f'.card[data-metric="{metric}"] .value')
    assert text is not None
    return text.strip()


def count(value: int) -> str:
    return f"{value:,}"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"


async def children_rows(page: Page) -> dict[str, list[str]]:
    rows: list[list[str]] = await page.eval_on_selector_all(
        "#children-table tbody tr",
        "rows => rows.map(r => [r.dataset.code, ...[...r.cells].map(c => c.textContent.trim())])",
    )
    return {r[0]: r[1:] for r in rows}


def graphql_queries(requests: list[Request]) -> list[str]:
    return [
        json.loads(r.post_data or "{}")["query"]
        for r in requests
        if r.url.endswith("/graphql") and r.method == "POST"
    ]


async def open_dashboard(
    watched: WatchedPage, base: str, hash_: str = "", user: User = PROVINCE_LEADER
) -> list[Request]:
    page = watched.page
    await page.clock.set_fixed_time(TODAY)
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request))
    await page.goto(f"{base}/dashboard?token={user.token()}{hash_}")
    return sent


def record_frames(page: Page) -> list[dict[str, Any]]:
    """Every graphql-transport-ws message the page sends, as sent."""
    frames: list[dict[str, Any]] = []

    def opened(socket: WebSocket) -> None:
        socket.on("framesent", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", opened)
    return frames


async def test_a_province_leader_drills_down_to_a_township_and_follows_a_case(
    browser: Browser, province: Province
) -> None:
    async with shards(province) as shard, watched_page(browser) as watched:
        client = shard.gateway
        base = str(client.base_url).rstrip("/")
        page = watched.page
        frames = record_frames(page)
        sent = await open_dashboard(watched, base)

        # The province overview: the whole province's figures and its 16 cities, one request.
        await shown(page, "overview", "53", THIS_YEAR)
        expected = await subtree(client, "53", THIS_YEAR)
        figures = expected["subtreeStats"]
        assert figures["eventCount"] > 0
        assert await card(page, "件次") == count(figures["eventCount"])
        assert await card(page, "及时受理率") == percent(figures["timelyAcceptanceRate"])
        assert await card(page, "按期办结率") == percent(figures["onTimeReplyRate"])
        assert await card(page, "群众满意率") == percent(figures["satisfactionRate"])
        assert await card(page, "积案") == count(figures["backlog"])
        cities = await children_rows(page)
        assert len(cities) == 16
        by_code = {c["jurisdiction"]["code"]: c for c in expected["childStats"]}
        assert set(cities) == set(by_code)
        for code, cells in cities.items():
            assert cells[0] == by_code[code]["jurisdiction"]["name"]
            assert cells[2] == count(by_code[code]["stats"]["eventCount"])
        in_cities = sum(c["stats"]["eventCount"] for c in expected["childStats"])
        assert in_cities <= figures["eventCount"]
        for chart in ("tree", "rates", "backlog", "flows", "categories"):
            assert await page.locator(f"#chart-{chart} canvas").count() == 1, chart
        treemap = await page.evaluate(
            "echarts.getInstanceByDom(document.getElementById('chart-tree'))"
            ".getOption().series[0].data.map(d => d.code)"
        )
        assert sorted(treemap) == sorted(by_code)
        sankey = await page.evaluate(
            "echarts.getInstanceByDom(document.getElementById('chart-flows'))"
            ".getOption().series[0].links.length"
        )
        assert sankey > 0
        assert await page.is_hidden("#missing")
        assert await page.text_content("#breadcrumb") == "云南省"
        province_tree = await page.locator("#chart-tree canvas").screenshot()
        await watched.screenshot("dashboard-province")

        # Drill-down: city, county, township, through the children tables.
        county, township, case_id = await a_township_with_an_overdue_case(client, THIS_YEAR)
        for code in (KUNMING, county, township):
            await page.click(f'#children-table tr[data-code="{code}"] a')
            await shown(page, "overview", code, THIS_YEAR)
            assert f"code={code}" in page.url
        crumbs = await page.text_content("#breadcrumb")
        assert crumbs is not None
        assert crumbs.startswith("云南省›昆明市›")
        town = await subtree(client, township, THIS_YEAR)
        assert crumbs.endswith(town["name"])
        assert await card(page, "件次") == count(town["subtreeStats"]["eventCount"])
        assert await page.is_hidden("#children-section")  # a township has no children
        overdue = await page.eval_on_selector_all(
            "#overdue-table tbody tr td:nth-child(2) a", "links => links.map(a => a.textContent)"
        )
        assert case_id in overdue
        await watched.screenshot("dashboard-township")

        # History keeps the place: back to the county, forward to the township again.
        await page.go_back()
        await shown(page, "overview", county, THIS_YEAR)
        await page.go_forward()
        await shown(page, "overview", township, THIS_YEAR)

        # The case's escalation trail: steps in time order, node, role, deadline held or missed.
        await page.click(f'#overdue-table a:text-is("{case_id}")')
        await shown(page, "trail", case_id)
        trail_query = (
            "query($id: ID!) { escalationTrail(caseId: $id) { at action role node { code } "
            "deadline { held } } }"
        )
        steps = (await api(client, trail_query, id=case_id))["escalationTrail"]
        assert steps
        rows = await page.eval_on_selector_all(
            "#trail-table tbody tr",
            "rows => rows.map(r => [r.dataset.action, ...[...r.cells].map(c => c.textContent)])",
        )
        assert [r[0] for r in rows] == [s["action"] for s in steps]
        assert rows[0][0] == "REGISTERED"
        assert rows[0][4] == "登记"
        assert rows[0][2].endswith(f"（{township}）")
        assert rows[0][5] == "登记窗口"  # INTAKE
        held = [r[9] for r in rows]
        assert held == [
            "" if s["deadline"] is None else ("按期" if s["deadline"]["held"] else "超期")
            for s in steps
        ]
        assert await page.is_hidden("#overview")
        await watched.screenshot("dashboard-trail")
        await page.click("#trail-close")
        await shown(page, "overview", township, THIS_YEAR)

        # CSV export of the county's townships, UTF-8 with a byte-order mark for Excel.
        county_name = (await subtree(client, county, THIS_YEAR))["name"]
        await page.click(f'#breadcrumb a:text-is("{county_name}")')
        await shown(page, "overview", county, THIS_YEAR)
        async with page.expect_download() as download_info:
            await page.click('[data-export="children-table"]')
        download = await download_info.value
        assert download.suggested_filename == f"children-table-{county}-2025-01-01_2025-06-01.csv"
        path = await download.path()
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
        assert table[0][:4] == ["辖区", "代码", "件次", "人次"]
        in_county = await subtree(client, county, THIS_YEAR)
        assert {(r[1], r[2]) for r in table[1:]} == {
            (c["jurisdiction"]["code"], count(c["stats"]["eventCount"]))
            for c in in_county["childStats"]
        }

        drawn = await page.evaluate(
            "echarts.getInstanceByDom(document.getElementById('chart-tree'))"
            ".getOption().series[0].data.map(d => d.name)"
        )
        assert sorted(drawn) == sorted(c["jurisdiction"]["name"] for c in in_county["childStats"])
        # The treemap is redrawn with the county's townships, not the tree seen before.
        assert await page.locator("#chart-tree canvas").screenshot() != province_tree
        await watched.screenshot("dashboard-county")

        # A period change updates every figure.
        year_events = await card(page, "件次")
        await page.select_option("#period-preset", "lastMonth")
        await shown(page, "overview", county, LAST_MONTH)
        month = await subtree(client, county, LAST_MONTH)
        assert await card(page, "件次") == count(month["subtreeStats"]["eventCount"])
        assert month["subtreeStats"]["eventCount"] != in_county["subtreeStats"]["eventCount"]
        assert await card(page, "件次") != year_events
        month_rows = await children_rows(page)
        assert {code: cells[2] for code, cells in month_rows.items()} == {
            c["jurisdiction"]["code"]: count(c["stats"]["eventCount"]) for c in month["childStats"]
        }
        assert "period=lastMonth" in page.url
        # A custom range, kept in the address too.
        await page.select_option("#period-preset", "custom")
        await page.fill("#period-from", "2024-07-01")
        await page.fill("#period-to", "2024-12-31")
        await page.click("#period button[type=submit]")
        custom = {"from": "2024-07-01", "to": "2024-12-31"}
        await shown(page, "overview", county, custom)
        second_half = await subtree(client, county, custom)
        assert await card(page, "件次") == count(second_half["subtreeStats"]["eventCount"])
        assert "from=2024-07-01" in page.url
        await watched.screenshot("dashboard-county-custom-period")

        # Every document the page sent is a file of static/queries/ (its allow list).
        documents = set(await page.evaluate("Object.values(window.XinfangQueries)"))
        assert documents == set(dashboard_documents().values())
        queries = graphql_queries(sent)
        assert len(queries) >= 14
        assert set(queries) <= documents
        # Over the WebSocket too: one subscription per place, the one before completed first.
        assert frames[0]["type"] == "connection_init"
        assert frames[0]["payload"] == {"authorization": f"Bearer {PROVINCE_LEADER.token()}"}
        subscribed = [f for f in frames if f["type"] == "subscribe"]
        assert {f["payload"]["query"] for f in subscribed} == {dashboard_documents()["ALERTS_LIVE"]}
        assert [f["payload"]["variables"]["code"] for f in subscribed] == [
            "53",
            KUNMING,
            county,
            township,
            county,  # back
            township,  # forward; the trail keeps the township's, the breadcrumb goes to the county
            county,
        ]
        completed = [f["id"] for f in frames if f["type"] == "complete"]
        assert completed == [f["id"] for f in subscribed[:-1]]
        assert await page.get_attribute("html", "data-live") == "live"
        assert watched.problems() == []


def allow_list() -> PersistedQueries:
    """The gateway's allow-list mode with the dashboard's own manifest, as
    ``xinfang persisted-queries gateway/dashboard/static/queries/*.graphql`` writes it."""
    manifest = build_manifest(sorted(QUERIES.glob("*.graphql")))
    documents = {o["id"]: o["body"] for o in manifest["operations"]}
    assert sorted(documents.values()) == sorted(dashboard_documents().values())
    return PersistedQueries(documents, allow_list=True, adhoc_roles=frozenset({Role.ANALYST}))


async def test_a_county_that_is_down_is_named_and_the_rest_of_its_city_renders(
    browser: Browser, province: Province
) -> None:
    """Behind the allow list of the dashboard's documents: the page needs nothing else."""
    persisted = allow_list()
    async with shards(province, persisted=persisted) as shard, watched_page(browser) as watched:
        refused = await shard.gateway.post(
            "/graphql", json={"query": '{ jurisdiction(code: "53") { name } }'}
        )
        assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        client = shard.gateway
        base = str(client.base_url).rstrip("/")
        expected = await subtree(client, KUNMING, THIS_YEAR)
        await shard.stop_county()  # 盘龙区's service is gone
        page = watched.page
        await open_dashboard(watched, base, f"#code={KUNMING}")
        await shown(page, "overview", KUNMING, THIS_YEAR)
        banner = await page.text_content("#missing")
        assert await page.is_visible("#missing")
        assert banner is not None
        assert "暂未响应：盘龙区（530103）" in banner
        assert await page.get_attribute("#missing", "data-codes") == OWN_COUNTY
        # Kunming's own figures and its counties' last reports still render.
        assert await card(page, "件次") == count(expected["subtreeStats"]["eventCount"])
        counties = await children_rows(page)
        assert set(counties) == {c["jurisdiction"]["code"] for c in expected["childStats"]}
        down = await page.get_attribute(f'#children-table tr[data-code="{OWN_COUNTY}"]', "class")
        assert down == "unavailable"  # its last report is shown, marked as not answering now
        overdue_places = await page.eval_on_selector_all(
            "#overdue-table tbody tr[data-code]", "rows => rows.map(r => r.dataset.code)"
        )
        assert OWN_COUNTY not in overdue_places
        assert overdue_places, "the other counties' overdue cases are listed"
        assert await page.locator("#chart-tree canvas").count() == 1
        assert not await page.eval_on_selector("#status", "s => s.classList.contains('error')")
        # Its live alerts' subscription is a manifest document: the allow list lets it through.
        await page.wait_for_function("document.documentElement.dataset.live === 'live'")
        await subscribed(province, KUNMING)
        await watched.screenshot("dashboard-county-down")
        assert watched.problems() == []


ALERTS_QUERY = """query($code: ID!) { jurisdiction(code: $code) {
  alertCounts(minSeverity: WARNING) { subtree { total bySeverity { severity count } }
    byChild { jurisdiction { code } counts { total bySeverity { severity count } } } }
  alerts(minSeverity: WARNING, first: 20) { totalCount edges { node { id caseId } } } } }"""


async def answered_alerts(client: httpx.AsyncClient, code: str, user: User) -> dict[str, Any]:
    """The alert panel's figures as the public API gives them to ``user``."""
    response = await client.post(
        "/graphql",
        json={"query": ALERTS_QUERY, "variables": {"code": code}},
        headers=user.headers(),
    )
    body = response.json()
    assert "errors" not in body, body["errors"][:3]
    found: dict[str, Any] = body["data"]["jurisdiction"]
    return found


def tally(counts: dict[str, Any]) -> list[str]:
    by = {c["severity"]: c["count"] for c in counts["bySeverity"]}
    return [count(counts["total"]), *(count(by[s]) for s in SEVERITY_LABELS)]


async def shown_alerts(page: Page) -> dict[str, Any]:
    """The alert panel as the page shows it."""
    panel: dict[str, Any] = await page.evaluate(
        """() => ({
          total: document.getElementById("alerts-total").textContent,
          severities: Object.fromEntries([...document.querySelectorAll(
            "#alert-severity-table tbody tr")].map(r => [r.dataset.severity,
            r.cells[1].textContent])),
          children: Object.fromEntries([...document.querySelectorAll(
            "#alert-children-table tbody tr")].map(r => [r.dataset.code,
            [...r.cells].slice(1).map(c => c.textContent)])),
          ids: [...document.querySelectorAll("#alerts-list tr[data-id]")].map(r => r.dataset.id),
          more: document.getElementById("alerts-more").textContent,
          live: document.documentElement.dataset.live,
        })"""
    )
    return panel


def assert_panel_is(panel: dict[str, Any], answer: dict[str, Any]) -> None:
    subtree = tally(answer["alertCounts"]["subtree"])
    assert panel["total"] == subtree[0]
    assert [panel["severities"][s] for s in SEVERITY_LABELS] == subtree[1:]
    assert panel["children"] == {
        c["jurisdiction"]["code"]: tally(c["counts"]) for c in answer["alertCounts"]["byChild"]
    }
    assert panel["ids"] == [e["node"]["id"] for e in answer["alerts"]["edges"]]


@asynccontextmanager
async def restored(engine: AsyncEngine, codes: Sequence[str]) -> AsyncIterator[None]:
    """The nodes' tables put back as they were, whatever the block wrote there: the province
    database is built once and kept (tests/gateway/province.py), its tests only read it, so a
    test that writes leaves it as it found it. ``cases`` goes back first (the other tables'
    foreign keys name it); the append-only trigger of ``case_events`` is row-level, so
    TRUNCATE passes it."""
    snapshot = "e2e_snapshot"
    tables: dict[str, list[str]] = {}
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {snapshot} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {snapshot}"))
        for code in codes:
            found = await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
                {"s": schema_for(code)},
            )
            names = sorted(found.scalars(), key=lambda name: name != "cases")
            tables[code] = names
            for name in names:
                await conn.execute(
                    text(
                        f'CREATE TABLE {snapshot}."{code}_{name}" '
                        f'AS TABLE "{schema_for(code)}"."{name}"'
                    )
                )
    try:
        yield
    finally:
        async with engine.begin() as conn:
            for code, names in tables.items():
                schema = schema_for(code)
                listed = ", ".join(f'"{schema}"."{name}"' for name in names)
                await conn.execute(text(f"TRUNCATE {listed}"))
                for name in names:
                    await conn.execute(
                        text(
                            f'INSERT INTO "{schema}"."{name}" '
                            f'SELECT * FROM {snapshot}."{code}_{name}"'
                        )
                    )
            await conn.execute(text(f"DROP SCHEMA {snapshot} CASCADE"))


def main_services(province: Province) -> list[TierService]:
    app: Any = province.main.app  # the tier services' Starlette app, under the recorder
    services: list[TierService] = app.state.services
    return services


@asynccontextmanager
async def relaying(province: Province, code: str) -> AsyncIterator[None]:
    """Node ``code``'s outbox relayed while the block runs, woken by its commits as a running
    service's is (the module's services run without relays: the other tests only read). At the
    end, every message the block left there has been delivered."""
    [service] = [s for s in main_services(province) if code in s.works]
    started = datetime.now(UTC)
    async with httpx.AsyncClient() as client:
        relay = Relay(
            {code: service.works[code]},
            service.registry,
            client=client,
            credential=service.credential,
        )
        service.relay, service.http = relay, client
        task = asyncio.create_task(relay.run())
        try:
            yield
            for _ in range(200):
                async with province.engine.connect() as conn:
                    pending = await conn.execute(
                        text(
                            f'SELECT count(*) FROM "{schema_for(code)}".outbox '
                            "WHERE delivered_at IS NULL AND created_at >= :t"
                        ),
                        {"t": started},
                    )
                    if pending.scalar_one() == 0:
                        break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"node {code}'s messages were not delivered")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            service.relay, service.http = None, None


async def subscribed(province: Province, code: str) -> None:
    """Until a subscription is listening at node ``code``'s service."""
    [service] = [s for s in main_services(province) if code in s.works]
    for _ in range(400):
        if service.alert_listener._subscribers.get(code):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"no subscription listening at {code}")


async def test_the_alert_panel_counts_as_the_api_and_hears_a_collective_visit_live(
    browser: Browser, province: Province
) -> None:
    """A province leader's page over every node of Yunnan, and a leader of 曲靖市 on their
    city's: each panel says what the API says to that user; a collective visit registered at a
    township of 昆明市 appears at the top of the province's list within 5 s, without a reload,
    counted in the province's, 昆明市's and SEVERE's figures; 曲靖市's page never hears of it."""
    qujing = leader(QUJING)
    town_handler = handler(VISIT_TOWNSHIP)
    codes = [VISIT_TOWNSHIP, VISIT_TOWNSHIP[:6], KUNMING, "53"]
    async with (
        shards(province) as shard,
        restored(province.engine, codes),
        relaying(province, VISIT_TOWNSHIP),
        watched_page(browser) as mine,
        watched_page(browser) as theirs,
    ):
        client = shard.gateway
        base = str(client.base_url).rstrip("/")
        await open_dashboard(mine, base)
        await open_dashboard(theirs, base, f"#code={QUJING}", user=qujing)
        await shown(mine.page, "overview", "53", THIS_YEAR)
        await shown(theirs.page, "overview", QUJING, THIS_YEAR)

        # The panel says what the public API says, to the same user.
        province_answer = await answered_alerts(client, "53", PROVINCE_LEADER)
        assert province_answer["alerts"]["totalCount"] > 0
        before = await shown_alerts(mine.page)
        assert_panel_is(before, province_answer)
        assert len(before["children"]) == 16
        assert before["more"] == (
            f"共 {count(province_answer['alerts']['totalCount'])} 条，显示最新 20 条"
            if province_answer["alerts"]["totalCount"] > 20
            else ""
        )
        qujing_answer = await answered_alerts(client, QUJING, qujing)
        assert_panel_is(await shown_alerts(theirs.page), qujing_answer)
        await mine.screenshot("dashboard-alerts-province")

        # Both pages listen; a township handler registers a collective visit of twelve.
        await mine.page.wait_for_function("document.documentElement.dataset.live === 'live'")
        await theirs.page.wait_for_function("document.documentElement.dataset.live === 'live'")
        await subscribed(province, "53")
        await subscribed(province, QUJING)
        await mine.page.evaluate("window.loadedOnce = true")
        started = time.perf_counter()
        registered = await client.post(
            "/graphql",
            json={
                "query": "mutation($i: RegisterPetitionInput!) "
                '{ registerPetition(input: $i, idempotencyKey: "e2e-live-visit") { id } }',
                "variables": {"i": petition(VISIT_TOWNSHIP, personCount=12)},
            },
            headers=town_handler.headers(),
        )
        case_id = registered.json()["data"]["registerPetition"]["id"]
        await mine.page.wait_for_function(
            "(id) => [...document.querySelectorAll('#alerts-list tr')]"
            ".some(r => r.textContent.includes(id))",
            arg=case_id,
            timeout=5_000,
        )
        heard_after = time.perf_counter() - started
        print(f"\nregistered to shown on the province's page: {heard_after * 1000:.0f} ms")
        assert heard_after < 5.0
        assert await mine.page.evaluate("window.loadedOnce") is True  # no reload
        first = mine.page.locator("#alerts-list tr").first
        assert await first.get_attribute("data-kind") == "COLLECTIVE_VISIT"
        assert await first.get_attribute("data-severity") == "SEVERE"
        assert await first.get_attribute("class") == "fresh"
        cells = [c.strip() for c in await first.locator("td").all_text_contents()]
        assert cells[1:5] == [
            "严重",
            "集体访",
            division_tree().name(VISIT_TOWNSHIP),
            "12人集体来访",
        ]
        assert cells[5] == case_id
        assert await first.locator("td:last-child a").get_attribute("href") == (
            f"#case={case_id}&period=year"
        )
        after = await shown_alerts(mine.page)
        assert after["total"] == count(province_answer["alertCounts"]["subtree"]["total"] + 1)
        severe = int(before["severities"]["SEVERE"].replace(",", ""))
        assert after["severities"]["SEVERE"] == count(severe + 1)
        kunming_before = int(before["children"][KUNMING][0].replace(",", ""))
        assert after["children"][KUNMING][0] == count(kunming_before + 1)
        await mine.screenshot("dashboard-alerts-live")
        # Once the page has asked again (its resync after live alerts), what the API says.
        await mine.page.wait_for_function("window.alertResyncs >= 1", timeout=15_000)
        assert_panel_is(
            await shown_alerts(mine.page), await answered_alerts(client, "53", PROVINCE_LEADER)
        )

        # A socket that closes is opened again, subscribed again and the list asked again.
        frames = record_frames(mine.page)
        await mine.page.evaluate("live.socket.close()")
        await mine.page.wait_for_function(
            "document.documentElement.dataset.live === 'live' && window.alertResyncs >= 2",
            timeout=15_000,
        )
        assert [f["type"] for f in frames] == ["connection_init", "subscribe"]
        assert frames[1]["payload"]["variables"] == {"code": "53", "minSeverity": "WARNING"}

        # 曲靖市's page, listening all along, heard nothing: its panel is as it was.
        theirs_now = await shown_alerts(theirs.page)
        assert theirs_now["live"] == "live"
        assert case_id not in (await theirs.page.text_content("#alerts-list") or "")
        assert_panel_is(theirs_now, qujing_answer)
        assert mine.problems() == []
        assert theirs.problems() == []


async def test_the_dashboard_bench_times_the_province_overview_to_its_ready_marker(
    browser: Browser, province: Province
) -> None:
    """bench/dashboard.py's measuring loop on the test province (nothing timed is asserted:
    how fast is for docs/benchmarks.md)."""
    async with shards(province) as shard:
        base = str(shard.gateway.base_url).rstrip("/")
        rows = await measure(browser, base, PROVINCE_LEADER.token(), "53", runs=2, warmups=0)
    assert [r.name for r in rows] == ["first visit (new context)", "reload (warm cache)"]
    for row in rows:
        assert row.rendered.count == 2
        assert 0 < row.rendered.p50 <= row.rendered.max
        assert row.waited.p50 > 0
        assert row.requests == 3  # the overview, the overdue list and the alerts


@pytest.fixture
async def city_with_silent_counties(clean_engine: AsyncEngine) -> AsyncIterator[str]:
    """昆明市 with three of its fourteen counties (and one township) on a tier service, their
    figures reported up once at START; the other eleven counties have no node here and never
    reported. Yields the gateway's base URL."""
    clock = FixedClock(START)
    works = {
        code: CaseWork(
            NodeDatabase(clean_engine, code),
            calendar=default_calendar(),
            clock=clock,
            person_key_secret=SECRET,
        )
        for code in TEST_NODES
    }
    await figures_flows.converge(works)
    port = free_port()
    main_url = f"http://127.0.0.1:{port}"
    registry = NodeRegistry(tiers=dict.fromkeys(Tier, main_url))
    fallback = {t.value.lower(): f"{main_url}/tiers/{t.value.lower()}/graphql" for t in Tier}
    gateway = create_gateway_app(
        SUPERGRAPH, verifier=suite_verifier(), router=KeyRouter(registry, fallback), timeout=30
    )
    async with (
        serving(tier_service_app(clean_engine, TEST_NODES, registry), port),
        serving(gateway) as base,
    ):
        yield base


async def test_children_that_never_reported_or_went_quiet_are_named_in_the_banner(
    browser: Browser, city_with_silent_counties: str
) -> None:
    async with watched_page(browser) as watched:
        page = watched.page
        await page.clock.set_fixed_time(START + timedelta(days=2))  # a day past the reports
        await page.goto(
            f"{city_with_silent_counties}/dashboard?token={PROVINCE_LEADER.token()}#code={CITY}"
        )
        await shown(page, "overview", CITY)
        banner = await page.text_content("#missing")
        assert banner is not None
        reported = {COUNTY, OTHER_COUNTY, THIRD_COUNTY}
        silent = [d.code for d in division_tree().children(CITY) if d.code not in reported]
        assert len(silent) == 11
        never = banner.split("从未上报：")[1].split("；")[0]
        assert sorted(never.split("、")) == sorted(
            f"{division_tree().name(code)}（{code}）" for code in silent
        )
        stale = banner.split("超过24小时未上报：")[1]
        for code in reported:
            assert f"{division_tree().name(code)}（{code}）" in stale
        rows = await children_rows(page)
        assert len(rows) == 14
        classes = await page.eval_on_selector_all(
            "#children-table tbody tr.unavailable", "rows => rows.map(r => r.dataset.code)"
        )
        assert set(silent) <= set(classes)
        assert await card(page, "件次") == "0"
        # The eleven have no node here either: their errors are theirs, named in the banner.
        assert not await page.eval_on_selector("#status", "s => s.classList.contains('error')")
        await watched.screenshot("dashboard-city-silent-counties")

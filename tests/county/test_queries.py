"""Reading a node: case lists with filters and cursor pagination, the dashboard figures of
domain.md §4 (computed by hand here), and the service endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from county.app import create_county_app
from shared.casework import FixedClock
from shared.holidays import default_calendar
from tests.conftest import SECRET, TEST_COUNTIES, GraphQLClient
from tests.county.helpers import act_ok, register
from tests.identity import ActAs

DAY = timedelta(days=1)

PAGE = """
query Page($first: Int!, $after: String, $filter: CaseFilter) {
  cases(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id registeredAt status } }
  }
}
"""

STATS_FIELDS = """
  eventCount personCount timelyAcceptanceRate onTimeReplyRate satisfactionRate backlog
  backlogResolutionRate overdue repeatPetitions repeatPetitionRate firstPetitionReplyDays asOf
"""
STATS = f"query Stats($period: Period) {{ stats(period: $period) {{ {STATS_FIELDS} }} }}"


async def page(
    gql: GraphQLClient, first: int, after: str | None = None, **filter_: Any
) -> dict[str, Any]:
    result = await gql(PAGE, {"first": first, "after": after, "filter": filter_ or None})
    assert not result.get("errors"), result
    connection: dict[str, Any] = result["data"]["cases"]
    return connection


async def ids_where(gql: GraphQLClient, **filter_: Any) -> list[str]:
    connection = await page(gql, 500, **filter_)
    ids = [edge["node"]["id"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(ids)
    assert connection["pageInfo"]["hasNextPage"] is False
    return ids


async def walk(gql: GraphQLClient, first: int, **filter_: Any) -> tuple[list[str], list[int]]:
    """Every page in turn: the ids in order and the totalCount each page reported."""
    ids: list[str] = []
    totals: list[int] = []
    after = None
    for _ in range(100):
        connection = await page(gql, first, after, **filter_)
        edges = connection["edges"]
        totals.append(connection["totalCount"])
        ids += [edge["node"]["id"] for edge in edges]
        info = connection["pageInfo"]
        if edges:
            assert info["endCursor"] == edges[-1]["cursor"]
        if not info["hasNextPage"]:
            assert len(edges) <= first
            return ids, totals
        assert len(edges) == first
        after = info["endCursor"]
    raise AssertionError("pagination does not end")


# -- filters --------------------------------------------------------------------------------


@pytest.fixture
async def six_cases(gql: GraphQLClient, clock: FixedClock) -> dict[str, str]:
    """q1..q6 registered on 3, 3, 4, 4, 5, 5 March; the clock ends on 20 March (day 17)."""
    specs = [
        ("q1", "VISIT", "土地征收"),
        ("q2", "LETTER", "劳动争议"),
        ("q3", "ONLINE", "土地征收"),
        ("q4", "VISIT", "劳动争议"),
        ("q5", "PHONE", "城乡建设"),
        ("q6", "LETTER", "土地征收"),
    ]
    ids: dict[str, str] = {}
    for n, (name, channel, category) in enumerate(specs):
        if n in (2, 4):
            clock.advance(DAY)
        case = await register(gql, channel=channel, category=category, petitionerIdNumber=None)
        ids[name] = case["id"]
    await act_ok(gql, "acceptCase", ids["q1"])
    await act_ok(gql, "notAcceptCase", ids["q3"], reason="不属受理范围")
    await act_ok(gql, "acceptCase", ids["q6"])
    clock.advance(15 * DAY)  # Thu 20 March: q2 and q4 are past their acceptance deadline
    return ids


def newest_first(ids: dict[str, str], *names: str) -> list[str]:
    return sorted((ids[name] for name in names), reverse=True)


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({}, ["q1", "q2", "q3", "q4", "q5", "q6"]),
        ({"status": ["REGISTERED"]}, ["q2", "q4", "q5"]),
        ({"status": ["ACCEPTED", "NOT_ACCEPTED"]}, ["q1", "q3", "q6"]),
        ({"status": ["CLOSED"]}, []),
        ({"category": "土地征收"}, ["q1", "q3", "q6"]),
        ({"category": " 土地征收 "}, ["q1", "q3", "q6"]),
        ({"channel": "VISIT"}, ["q1", "q4"]),
        ({"category": "土地征收", "channel": "LETTER"}, ["q6"]),
        ({"overdue": True}, ["q2", "q4"]),
        ({"overdue": False}, ["q1", "q3", "q5", "q6"]),
        ({"overdue": False, "status": ["REGISTERED"]}, ["q5"]),
        ({"period": {"from": "2025-03-03", "to": "2025-03-03"}}, ["q1", "q2"]),
        ({"period": {"from": "2025-03-04", "to": "2025-03-05"}}, ["q3", "q4", "q5", "q6"]),
        ({"period": {"from": "2025-03-06", "to": "2025-03-31"}}, []),
        (
            {"period": {"from": "2025-03-01", "to": "2025-03-04"}, "channel": "VISIT"},
            ["q1", "q4"],
        ),
    ],
    ids=lambda value: repr(value) if isinstance(value, dict) else None,
)
async def test_cases_are_filtered_and_listed_newest_first(
    filter_: dict[str, Any], expected: list[str], gql: GraphQLClient, six_cases: dict[str, str]
) -> None:
    assert await ids_where(gql, **filter_) == newest_first(six_cases, *expected)


async def test_an_empty_page_has_no_cursor(gql: GraphQLClient, six_cases: dict[str, str]) -> None:
    connection = await page(gql, 10, status=["CLOSED"])
    assert connection == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


async def test_a_period_is_counted_in_china_time(gql: GraphQLClient, clock: FixedClock) -> None:
    clock.advance(3 * DAY)  # 6 March; letters received earlier are registered now
    late_evening = await register(gql, receivedAt="2025-03-04T15:30:00+00:00")  # 23:30, 4 Mar
    after_midnight = await register(gql, receivedAt="2025-03-04T16:30:00+00:00")  # 00:30, 5 Mar
    assert await ids_where(gql, period={"from": "2025-03-04", "to": "2025-03-04"}) == [
        late_evening["id"]
    ]
    assert await ids_where(gql, period={"from": "2025-03-05", "to": "2025-03-05"}) == [
        after_midnight["id"]
    ]


# -- pagination ------------------------------------------------------------------------------


async def test_walking_every_page_of_three_returns_each_case_once(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    registered: list[tuple[str, str]] = []
    for n in range(10):
        if n % 3 == 0:  # several cases share one instant: the id breaks the tie
            clock.advance(timedelta(hours=1))
        case = await register(gql, petitionerIdNumber=None, channel="LETTER" if n % 2 else "VISIT")
        registered.append((case["events"][0]["at"], case["id"]))
    expected = [case_id for _, case_id in sorted(registered, reverse=True)]

    ids, totals = await walk(gql, 3)
    assert ids == expected
    assert len(set(ids)) == 10
    assert totals == [10, 10, 10, 10]

    visits, totals = await walk(gql, 3, channel="VISIT")
    assert visits == [case_id for case_id in expected if int(case_id[-6:]) % 2 == 1]
    assert totals == [5, 5]


async def test_a_case_registered_while_paging_does_not_shift_the_pages(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    for _ in range(7):
        clock.advance(timedelta(minutes=5))
        await register(gql, petitionerIdNumber=None)
    first = await page(gql, 3)
    clock.advance(timedelta(minutes=5))
    newcomer = await register(gql, petitionerIdNumber=None)
    seen = [edge["node"]["id"] for edge in first["edges"]]
    after = first["pageInfo"]["endCursor"]
    while after:
        connection = await page(gql, 3, after)
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        assert connection["totalCount"] == 8
        after = (
            connection["pageInfo"]["endCursor"] if connection["pageInfo"]["hasNextPage"] else None
        )
    assert seen == [f"530102-2025-{n:06d}" for n in range(7, 0, -1)]
    assert newcomer["id"] not in seen


# -- stats -----------------------------------------------------------------------------------


async def stats(gql: GraphQLClient, period: dict[str, str] | None = None) -> dict[str, Any]:
    result = await gql(STATS, {"period": period})
    assert not result.get("errors"), result
    figures: dict[str, Any] = result["data"]["stats"]
    return figures


async def test_a_node_without_cases_has_no_rates_rather_than_zero_or_full_marks(
    gql: GraphQLClient,
) -> None:
    figures = await stats(gql)
    assert figures["eventCount"] == 0
    assert figures["personCount"] == 0
    for rate in ("timelyAcceptanceRate", "onTimeReplyRate", "satisfactionRate"):
        assert figures[rate] is None
    assert figures["backlog"] == 0
    assert figures["overdue"] == 0


async def test_a_collective_visit_of_30_is_one_event_and_30_persons(gql: GraphQLClient) -> None:
    await register(gql, personCount=30, petitionerIdNumber=None)
    figures = await stats(gql)
    assert (figures["eventCount"], figures["personCount"]) == (1, 30)


async def test_the_three_rates_backlog_and_overdue_are_computed_as_by_hand(
    gql: GraphQLClient, clock: FixedClock
) -> None:
    # Day 0, Mon 3 March: five petitions, one a collective visit of 30.
    ids = {}
    for name, channel, persons in [
        ("A", "VISIT", 30),
        ("B", "LETTER", 1),
        ("C", "PHONE", 2),
        ("D", "ONLINE", 1),
        ("E", "VISIT", 1),
    ]:
        case = await register(gql, channel=channel, personCount=persons, petitionerIdNumber=None)
        ids[name] = case["id"]
    clock.advance(DAY)  # 4 Mar: A and C accepted; handling due end of Tue 6 May (after May Day)
    await act_ok(gql, "acceptCase", ids["A"])
    await act_ok(gql, "acceptCase", ids["C"])
    clock.advance(DAY)  # 5 Mar: E transferred, which meets its acceptance deadline
    await act_ok(gql, "transferCase", ids["E"], to="530102001", reason="属地转送")
    clock.advance(DAY)  # 6 Mar: D accepted; handling due end of 6 May
    await act_ok(gql, "acceptCase", ids["D"])
    clock.advance(7 * DAY)  # 13 Mar: A replied on time (10 days after registration), satisfied
    await act_ok(gql, "replyCase", ids["A"], outcome="SUPPORTED", text="予以支持")
    await act_ok(gql, "rateSatisfaction", ids["A"], rating="SATISFIED")
    clock.advance(6 * DAY)  # 19 Mar, day 16: B accepted late; handling due 19 May
    await act_ok(gql, "acceptCase", ids["B"])
    clock.advance(14 * DAY)  # 2 Apr: F registered (outside March 3), never accepted
    ids["F"] = (await register(gql, personCount=5, petitionerIdNumber=None))["id"]
    clock.advance(38 * DAY)  # Sat 10 May: C replied late (68 days after registration)
    await act_ok(gql, "replyCase", ids["C"], outcome="EXPLAINED", text="解释说明")
    await act_ok(gql, "rateSatisfaction", ids["C"], rating="DISSATISFIED")
    assert clock.now() == datetime(2025, 5, 10, 2, 0, tzinfo=UTC)

    # Registered on 3 March: A, B, C, D, E.
    day_one = await stats(gql, {"from": "2025-03-03", "to": "2025-03-03"})
    assert day_one["eventCount"] == 5
    assert day_one["personCount"] == 30 + 1 + 2 + 1 + 1
    # Acceptance: A, C, D accepted and E transferred within 15 days; B on day 16.
    assert day_one["timelyAcceptanceRate"] == pytest.approx(4 / 5)
    # Replies due by now: A (on time), C (late), D (due 6 May, still open). B is not yet due.
    assert day_one["onTimeReplyRate"] == pytest.approx(1 / 3)
    assert day_one["satisfactionRate"] == pytest.approx(1 / 2)  # A satisfied, C not
    assert day_one["backlog"] == 1  # D: open and past its handling deadline
    assert day_one["backlogResolutionRate"] == pytest.approx(1 / 2)  # C late but replied, D not
    assert day_one["overdue"] == 1  # D
    assert day_one["repeatPetitions"] == 0
    assert day_one["repeatPetitionRate"] == 0.0
    assert day_one["firstPetitionReplyDays"] == pytest.approx((10 + 68) / 2)
    assert datetime.fromisoformat(day_one["asOf"]) == clock.now()

    # Without a period F counts too: 6 events, one more missed acceptance, one more overdue.
    everything = await stats(gql)
    assert everything["eventCount"] == 6
    assert everything["personCount"] == 35 + 5
    assert everything["timelyAcceptanceRate"] == pytest.approx(4 / 6)
    assert everything["onTimeReplyRate"] == pytest.approx(1 / 3)
    assert everything["satisfactionRate"] == pytest.approx(1 / 2)
    assert everything["backlog"] == 1
    assert everything["overdue"] == 2  # D and F

    # The node's own Jurisdiction gives the same figures.
    result = await gql("{ node { code stats { eventCount personCount overdue } } }")
    assert result["data"]["node"] == {
        "code": "530102",
        "stats": {"eventCount": 6, "personCount": 40, "overdue": 2},
    }
    assert await ids_where(gql, overdue=True) == sorted([ids["D"], ids["F"]], reverse=True)


# -- service endpoints -----------------------------------------------------------------------


async def test_health_answers_200(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "tiers": ["COUNTY"]}


async def test_ready_answers_200_after_asking_the_database(
    client: httpx.AsyncClient, clean_engine: AsyncEngine
) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(clean_engine.sync_engine, "before_cursor_execute", record)
    try:
        response = await client.get("/ready")
    finally:
        event.remove(clean_engine.sync_engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "nodes": len(TEST_COUNTIES)}
    assert statements == ["SELECT 1"]


async def test_ready_answers_503_when_the_database_is_unreachable(clock: FixedClock) -> None:
    unreachable = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nowhere")
    app = create_county_app(
        unreachable,
        TEST_COUNTIES,
        calendar=default_calendar(),
        person_key_secret=SECRET,
        clock=clock,
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://county.test", auth=ActAs()
        ) as http:
            response = await http.get("/ready")
            health = await http.get("/health")
    finally:
        await unreachable.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert health.status_code == 200  # alive, just not ready


async def test_graphiql_is_served_to_a_browser(client: httpx.AsyncClient) -> None:
    response = await client.get("/nodes/530102/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_the_index_lists_the_hosted_nodes(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["tiers"] == ["COUNTY"]
    assert {node["tier"] for node in body["nodes"]} == {"COUNTY"}
    assert [node["code"] for node in body["nodes"]] == TEST_COUNTIES
    assert body["nodes"][0]["name"] == "五华区"
    assert body["nodes"][0]["graphql"].endswith("/nodes/530102/graphql")

"""Subtree figures reported up hop by hop (docs/adr/0013) on a small real tree: the province,
a city, two counties with two townships each, every tier a real service over HTTP. Cases are
registered, transferred, assigned, reviewed and supervised through the API; after the
refreshes and the relay are quiet, every node's ``subtreeStats`` is what direct SQL over its
whole subtree's schemas counts."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.access import NodeCredential
from shared.casework import FixedClock
from shared.divisions import is_in_subtree, parent_code, tier_of
from shared.figures import FIGURE_COUNTS
from shared.messaging.messages import Message, MessageKind
from shared.messaging.relay import MESSAGE_PURPOSE
from shared.persistence.migrate import migrate_nodes, schema_for
from tests.conftest import (
    CITY,
    COUNTY,
    OTHER_COUNTY,
    PROVINCE,
    THIRD_COUNTY,
    TOWNSHIP,
    empty_nodes,
)
from tests.messaging.network import Network, eventually, network

DAY = timedelta(days=1)
T12 = "530102002"  # 护国街道, beside 华山街道 (TOWNSHIP) in 五华区 (COUNTY)
T21 = "530103001"  # 拓东街道, in 盘龙区 (OTHER_COUNTY)
T22 = "530103002"  # 鼓楼街道
EXTRA = [T12, T21, T22]
TREE = [PROVINCE, CITY, COUNTY, OTHER_COUNTY, TOWNSHIP, *EXTRA]
FIELDS = (
    "eventCount personCount receivedCount backlog overdue repeatPetitions skipLevelVisits "
    "skipLevelVisitsReceived supervisionOrdersOpen supervisionOrdersOverdue "
    "timelyAcceptanceRate onTimeReplyRate satisfactionRate firstPetitionReplyDays asOf"
)
SUMMED = [
    "eventCount",
    "personCount",
    "receivedCount",
    "backlog",
    "overdue",
    "repeatPetitions",
    "skipLevelVisits",
    "skipLevelVisitsReceived",
    "supervisionOrdersOpen",
    "supervisionOrdersOverdue",
]
REGISTER = (
    "mutation($i: RegisterPetitionInput!, $k: String!) "
    "{ registerPetition(input: $i, idempotencyKey: $k) { id } }"
)
OWN = f"query($c: ID!) {{ jurisdiction(code: $c) {{ stats {{ {FIELDS} }} }} }}"
keys = itertools.count(1)
MISMATCH: list[Any] = []  # the last node whose figures had not converged, for the failure


@pytest.fixture
async def tree(
    clean_engine: AsyncEngine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Network]:
    # Time moves deadlines into overdue without a write: every node counts again each second.
    monkeypatch.setenv("XINFANG_FIGURES_INTERVAL", "1")
    await migrate_nodes(clean_engine, EXTRA)
    await empty_nodes(clean_engine, EXTRA)
    async with network(clean_engine, clock, TREE) as net:
        yield net


async def register(
    net: Network, node: str, category: str = "城乡建设", persons: int = 1, locality: str = ""
) -> str:
    data = await net.gql(
        node,
        REGISTER,
        i={
            "channel": "VISIT",
            "category": category,
            "summary": "反映问题",
            "issueLocality": locality or node,
            "petitionerName": "钱一",
            "personCount": persons,
        },
        k=f"figures-{next(keys)}",
    )
    case_id: str = data["registerPetition"]["id"]
    return case_id


async def act(net: Network, node: str, mutation: str, case_id: str) -> None:
    await net.gql(node, f"mutation($id: ID!) {{ {mutation} }}", id=case_id)


async def subtree_of(net: Network, node: str) -> dict[str, Any]:
    data = await net.gql(
        node,
        f"query($c: ID!) {{ jurisdiction(code: $c) {{ subtreeStats {{ {FIELDS} }} "
        f"childStats {{ jurisdiction {{ code }} missing reportedAt stats {{ {FIELDS} }} }} "
        "escalationFlows { kind fromTier toTier count } "
        "topCategories(first: 3) { category count } } }",
        c=node,
    )
    found: dict[str, Any] = data["jurisdiction"]
    return found


async def by_sql(engine: AsyncEngine, root: str, now: Any) -> dict[str, int]:
    """Straight from the schemas of every node of ``root``'s subtree (tests may; nodes not)."""
    totals = dict.fromkeys(
        ["eventCount", "personCount", "receivedCount", "supervisionOrdersOpen", "overdue"], 0
    )
    async with engine.connect() as conn:
        for code in TREE:
            if not is_in_subtree(code, root):
                continue
            s = schema_for(code)
            row = (
                await conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE received_from IS NULL), "
                        "coalesce(sum(person_count) FILTER (WHERE received_from IS NULL), 0), "
                        "count(*) FILTER (WHERE received_from IS NOT NULL), "
                        f'(SELECT count(*) FROM "{s}".supervision_received '
                        "WHERE status = 'ISSUED'), "
                        "count(*) FILTER (WHERE status NOT IN ('CLOSED', 'TRANSFERRED', "
                        "'NOT_ACCEPTED', 'REDIRECTED') AND EXISTS (SELECT 1 FROM "
                        f'"{s}".case_deadlines d WHERE d.case_id = c.id AND d.met_at IS NULL '
                        "AND d.due <= :now AND d.kind IN ('ACCEPTANCE', 'HANDLING', "
                        "'REVIEW_DECISION', 'FINAL_REVIEW_DECISION', 'FAST_TRACK_MEETING', "
                        "'FAST_TRACK_FACTS', 'FAST_TRACK_REPLY', 'ASSIGNMENT'))) "
                        f'FROM "{s}".cases c'
                    ),
                    {"now": now},
                )
            ).one()
            for name, value in zip(totals, row, strict=True):
                totals[name] += int(value)
    return totals


async def flows_by_sql(engine: AsyncEngine) -> dict[tuple[str, str, str], int]:
    found: dict[tuple[str, str, str], int] = {}

    def count(key: tuple[str, str, str], n: int) -> None:
        found[key] = found.get(key, 0) + n

    async with engine.connect() as conn:
        for code in TREE:
            s, tier = schema_for(code), tier_of(code).value
            for kind, remote, n in await conn.execute(
                text(
                    f'SELECT kind, remote_node, count(*) FROM "{s}".case_links WHERE kind IN '
                    "('TRANSFERRED_TO', 'ASSIGNED_TO') GROUP BY kind, remote_node"
                )
            ):
                flow = "TRANSFER" if kind == "TRANSFERRED_TO" else "ASSIGNMENT"
                count((flow, tier, tier_of(remote).value), int(n))
            for level, node, n in await conn.execute(
                text(f'SELECT level, case_node, count(*) FROM "{s}".reviews GROUP BY 1, 2')
            ):
                count((level, tier_of(node).value, tier), int(n))
            for node, n in await conn.execute(
                text(f'SELECT case_node, count(*) FROM "{s}".supervision_orders GROUP BY 1')
            ):
                count(("SUPERVISION_ORDER", tier, tier_of(node).value), int(n))
    return found


def summed(stats: list[dict[str, Any]], name: str) -> int:
    return sum(int(s[name]) for s in stats)


async def converged(net: Network, engine: AsyncEngine, now: Any) -> dict[str, Any] | None:
    """Every node's subtree figures as direct SQL counts them, and each parent's the sum of
    its reporting children's plus its own; None while reports are still on their way."""
    figures = {code: await subtree_of(net, code) for code in TREE}
    for code in TREE:
        expected = await by_sql(engine, code, now)
        got = {name: figures[code]["subtreeStats"][name] for name in expected}
        if got != expected:
            MISMATCH[:] = [(code, got, expected)]
            return None
    return figures


async def test_every_node_s_subtree_figures_are_its_subtree_s_counts_after_the_reports(
    tree: Network, clean_engine: AsyncEngine, clock: FixedClock
) -> None:
    net = tree
    # New petitions at every tier, one collective visit, three categories.
    for node in (TOWNSHIP, TOWNSHIP, T12, T21, T22, COUNTY, OTHER_COUNTY, CITY, PROVINCE):
        await register(net, node)
    await register(net, T21, category="劳动社保", persons=12)
    await register(net, T22, category="劳动社保")
    # A transfer county → township, an assignment city → county: received, not new, there.
    transferred = await register(net, COUNTY, category="自然资源", locality=T12)
    await act(
        net,
        COUNTY,
        'transferCase(id: $id, to: "530102002", reason: "属地办理") { id }',
        transferred,
    )
    assigned = await register(net, CITY, category="自然资源", locality=OTHER_COUNTY)
    await act(net, CITY, 'assignCase(id: $id, to: "530103", due: "2025-03-28") { id }', assigned)
    # A township reply reviewed at its county.
    reviewed = await register(net, TOWNSHIP, category="农村农业")
    clock.advance(DAY)
    await act(net, TOWNSHIP, "acceptCase(id: $id) { id }", reviewed)
    clock.advance(3 * DAY)
    await act(
        net,
        TOWNSHIP,
        'replyCase(id: $id, outcome: NOT_SUPPORTED, text: "不予支持") { id }',
        reviewed,
    )
    clock.advance(2 * DAY)
    await act(net, COUNTY, 'openReview(caseId: $id, reason: "对答复不服") { id }', reviewed)
    # Time passes: unaccepted cases become overdue; the city supervises one at a county.
    clock.advance(14 * DAY)
    supervised = (
        await net.gql(
            OTHER_COUNTY, "{ cases(filter: { status: [REGISTERED] }) { edges { node { id } } } }"
        )
    )["cases"]["edges"][0]["node"]["id"]
    await net.gql(
        CITY,
        'mutation($c: ID!) { issueSupervisionOrder(caseId: $c, severity: "yellow", '
        'text: "请受理并书面回复") { id } }',
        c=supervised,
    )

    async def quiet() -> dict[str, Any] | None:
        return await converged(net, clean_engine, clock.now())

    try:
        figures = await eventually(quiet, seconds=30)
    except AssertionError as error:
        raise AssertionError(f"not converged: {MISMATCH}") from error
    province = figures[PROVINCE]["subtreeStats"]
    assert province["eventCount"] == 14  # every new petition once, wherever it went
    assert province["receivedCount"] == 2  # the transfer and the assignment
    assert province["personCount"] == 25
    assert province["supervisionOrdersOpen"] == 1
    assert province["overdue"] > 0
    # A parent's subtree is its own figures plus its children's reports.
    for parent in (PROVINCE, CITY, COUNTY, OTHER_COUNTY):
        children = [c for c in figures[parent]["childStats"] if not c["missing"]]
        hosted = {c["jurisdiction"]["code"] for c in children}
        assert hosted == {code for code in TREE if parent_code(code) == parent}
        own = (await net.gql(parent, OWN, c=parent))["jurisdiction"]["stats"]
        for name in SUMMED:
            assert figures[parent]["subtreeStats"][name] == own[name] + summed(
                [c["stats"] for c in children], name
            ), (parent, name)
    missing = [c["jurisdiction"]["code"] for c in figures[CITY]["childStats"] if c["missing"]]
    assert THIRD_COUNTY in missing  # not hosted here: it never reported
    assert COUNTY not in missing
    # The flows of the whole province, counted once each, at the node that acted.
    flows = {
        (f["kind"], f["fromTier"], f["toTier"]): f["count"]
        for f in figures[PROVINCE]["escalationFlows"]
    }
    assert flows == await flows_by_sql(clean_engine)
    assert flows[("TRANSFER", "COUNTY", "TOWNSHIP")] == 1
    assert flows[("ASSIGNMENT", "CITY", "COUNTY")] == 1
    assert flows[("REVIEW", "TOWNSHIP", "COUNTY")] == 1
    assert flows[("SUPERVISION_ORDER", "CITY", "COUNTY")] == 1
    assert figures[PROVINCE]["topCategories"][:2] == [
        {"category": "城乡建设", "count": 9},
        {"category": "劳动社保", "count": 2},
    ]
    assert figures[OTHER_COUNTY]["subtreeStats"]["supervisionOrdersOverdue"] == 0

    # A change at a township reaches the county, the city and the province.
    await register(net, T22, category="劳动社保", persons=3)

    async def arrived() -> dict[str, Any] | None:
        found = await subtree_of(net, PROVINCE)
        return found if found["subtreeStats"]["eventCount"] == 15 else None

    after = await eventually(arrived, seconds=30)
    assert after["subtreeStats"]["personCount"] == 28
    assert (await subtree_of(net, CITY))["subtreeStats"][
        "eventCount"
    ] == 14  # all but the province's


async def test_an_older_report_applied_late_does_not_overwrite_a_newer_one(
    tree: Network, clock: FixedClock
) -> None:
    net = tree
    quiet_child = THIRD_COUNTY  # a county of the city not hosted here: only these reports
    day = clock.now().date().isoformat()  # 10:00 in China: the same day there

    async def post(version: int, events: int, category_cases: int) -> str:
        counts = {**dict.fromkeys(FIGURE_COUNTS, 0), "event_count": events, "person_count": events}
        message = Message(
            id=f"{quiet_child}-M-test-{version}-{events}",
            sender=quiet_child,
            recipient=CITY,
            kind=MessageKind.SUBTREE_FIGURES,
            payload={
                "version": version,
                "asOf": clock.now().isoformat(),
                "days": [{"day": day, **counts}],
                "categories": [[day, "城乡建设", category_cases]],
                "flows": [[day, "TRANSFER", "COUNTY", "TOWNSHIP", events]],
            },
            created_at=clock.now(),
        )
        sent = json.dumps(message.to_json()).encode()
        signed = NodeCredential.from_env().headers(MESSAGE_PURPOSE, quiet_child, CITY, sent)
        answer = await net.http.post(net.registry.messages_url(CITY), content=sent, headers=signed)
        status: str = answer.json()["status"]
        return status

    async def reported_by_child() -> dict[str, Any]:
        found = await subtree_of(net, CITY)
        children: list[dict[str, Any]] = found["childStats"]
        [child] = [c for c in children if c["jurisdiction"]["code"] == quiet_child]
        return child

    assert (await reported_by_child())["missing"] is True
    assert await post(5, 7, 7) == "applied"
    assert await post(3, 99, 99) == "applied"  # late and older: applied, overwrites nothing
    child = await reported_by_child()
    assert (child["missing"], child["stats"]["eventCount"]) == (False, 7)

    async def city_counts(events: int) -> dict[str, Any] | None:
        found = await subtree_of(net, CITY)
        return found if found["subtreeStats"]["eventCount"] == events else None

    city = await eventually(lambda: city_counts(7), seconds=30)  # the city refreshed on it
    assert city["topCategories"] == [{"category": "城乡建设", "count": 7}]
    assert await post(6, 0, 0) == "applied"  # zeroed keys are sent as zeros
    city = await eventually(lambda: city_counts(0), seconds=30)
    assert city["topCategories"] == []
    assert city["escalationFlows"] == []
    assert await post(0, 1, 1) == "rejected"  # versions start at 1

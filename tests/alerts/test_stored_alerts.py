"""Alerts through the stored path (docs/adr/0016) on a small real tree: the province, a city,
a county and a township, each tier a real service over HTTP. Each kind fires at the node whose
data fires it, and stays silent on data that should not fire it; every alert reaches every
ancestor by ALERT messages (the list and the counts of a subtree come from one node); people
acknowledge and resolve alerts at the owning node only."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.alerts import AlertKind
from shared.auth import Role
from shared.casework import CaseWork, FixedClock, PetitionInput
from shared.divisions import Tier
from shared.holidays import default_calendar
from shared.lifecycle import Channel
from shared.messaging import alert_flows
from shared.messaging.messages import Message, MessageKind, new_message_id
from shared.persistence import alert_records
from shared.persistence.alert_records import AlertRecord
from shared.persistence.migrate import schema_for
from shared.service import Receipt, TierService
from tests.conftest import CITY, COUNTY, PROVINCE, SECRET, TOWNSHIP
from tests.county.helpers import PERSON_A
from tests.identity import User, handler, leader
from tests.messaging.network import Network, eventually, network
from tests.roles import petition

DAY = timedelta(days=1)
TREE = [PROVINCE, CITY, COUNTY, TOWNSHIP]
ABOVE_TOWNSHIP = [COUNTY, CITY, PROVINCE]
REGISTER = (
    "mutation($i: RegisterPetitionInput!, $k: String!) "
    "{ registerPetition(input: $i, idempotencyKey: $k) { id repeatOf { id } } }"
)
FIELDS = "id key kind severity state caseId category detail due version jurisdiction { code }"
ALERTS = (
    "query($c: ID!, $k: [AlertKind!], $s: [AlertState!], $m: AlertSeverity) "
    "{ jurisdiction(code: $c) { alerts(kinds: $k, states: $s, minSeverity: $m, first: 100) "
    f"{{ totalCount edges {{ node {{ {FIELDS} }} }} }} }} }}"
)
ACK = (
    "mutation($id: ID!, $v: Int) { acknowledgeAlert(id: $id, expectedVersion: $v) "
    f"{{ {FIELDS} acknowledgedBy }} }}"
)
RESOLVE = f"mutation($id: ID!) {{ resolveAlert(id: $id) {{ {FIELDS} resolvedBy }} }}"
ID_A = PERSON_A
keys = itertools.count(1)


@pytest.fixture
async def tree(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Network]:
    async with network(clean_engine, clock, TREE) as net:
        yield net


def service(net: Network, tier: Tier) -> TierService:
    found: TierService = net.servers[tier].app.state.service
    return found


def work(net: Network, code: str) -> CaseWork:
    for tier in Tier:
        if tier in net.servers and code in service(net, tier).works:
            return service(net, tier).works[code]
    raise LookupError(code)


async def register(net: Network, node: str, **overrides: Any) -> dict[str, Any]:
    data = await net.gql(
        node,
        REGISTER,
        i=petition(node if len(node) == 9 else TOWNSHIP, **overrides),
        k=f"alerts-{next(keys)}",
    )
    found: dict[str, Any] = data["registerPetition"]
    return found


async def alerts(net: Network, node: str, **variables: Any) -> list[dict[str, Any]]:
    data = await net.gql(node, ALERTS, c=node, **variables)
    return [e["node"] for e in data["jurisdiction"]["alerts"]["edges"]]


async def of_kind(net: Network, node: str, kind: str, **variables: Any) -> list[dict[str, Any]]:
    return await alerts(net, node, k=[kind], **variables)


async def everywhere_above(net: Network, alert: dict[str, Any], nodes: list[str]) -> None:
    """The alert reached each of ``nodes`` at the same version and state."""

    async def arrived() -> bool:
        for node in nodes:
            found = [
                a
                for a in await alerts(net, node, s=["OPEN", "ACKNOWLEDGED", "RESOLVED"])
                if a["id"] == alert["id"]
            ]
            if [(a["version"], a["state"]) for a in found] != [(alert["version"], alert["state"])]:
                return False
        return True

    await eventually(arrived)


async def evaluate(net: Network, code: str) -> list[AlertRecord]:
    found = await alert_flows.evaluate(work(net, code))
    work(net, code).committed()  # wake the relay: the ALERT messages go up
    return found


async def test_a_collective_visit_fires_at_its_node_and_reaches_every_ancestor(
    tree: Network,
) -> None:
    await register(tree, TOWNSHIP, personCount=4)  # four people: not a collective visit
    assert await of_kind(tree, TOWNSHIP, "COLLECTIVE_VISIT") == []
    small = await register(tree, TOWNSHIP, personCount=5, category="劳动社保")
    large = await register(tree, TOWNSHIP, personCount=60, category="城乡建设")
    found = {a["caseId"]: a for a in await of_kind(tree, TOWNSHIP, "COLLECTIVE_VISIT")}
    assert set(found) == {small["id"], large["id"]}
    assert found[small["id"]]["severity"] == "SEVERE"
    assert found[large["id"]]["severity"] == "CRITICAL"
    assert found[small["id"]]["jurisdiction"] == {"code": TOWNSHIP}
    assert found[small["id"]]["id"].startswith(f"{TOWNSHIP}-A-")
    for alert in found.values():
        await everywhere_above(tree, alert, ABOVE_TOWNSHIP)
    # A city leader's counts: by severity, and rolled up by child (the county).
    counts = await tree.gql(
        CITY,
        "query($c: ID!) { jurisdiction(code: $c) { alertCounts { subtree { total "
        "bySeverity { severity count } } own { total } byChild { jurisdiction { code } "
        "counts { total byKind { kind count } } } } } }",
        c=CITY,
    )
    rolled = counts["jurisdiction"]["alertCounts"]
    assert (rolled["subtree"]["total"], rolled["own"]["total"]) == (2, 0)
    severities = {s["severity"]: s["count"] for s in rolled["subtree"]["bySeverity"]}
    assert severities == {"INFO": 0, "WARNING": 0, "SEVERE": 1, "CRITICAL": 1}
    by_child = {c["jurisdiction"]["code"]: c["counts"] for c in rolled["byChild"]}
    assert by_child[COUNTY]["total"] == 2
    assert sum(c["total"] for c in by_child.values()) == 2  # no other county has any
    kinds = {k["kind"]: k["count"] for k in by_child[COUNTY]["byKind"]}
    assert (kinds["COLLECTIVE_VISIT"], kinds["OVERDUE"]) == (2, 0)
    # Filters: at least CRITICAL is the large one only.
    critical = await alerts(tree, CITY, m="CRITICAL")
    assert [a["caseId"] for a in critical] == [large["id"]]


async def test_registering_the_same_visit_again_raises_one_alert_only(tree: Network) -> None:
    variables = {"i": petition(TOWNSHIP, personCount=8), "k": "alerts-same-visit"}
    first = await tree.gql(TOWNSHIP, REGISTER, **variables)
    again = await tree.gql(TOWNSHIP, REGISTER, **variables)  # the idempotent retry
    assert first == again
    assert len(await of_kind(tree, TOWNSHIP, "COLLECTIVE_VISIT")) == 1
    async with tree.engine.connect() as conn:
        rows = await conn.execute(
            text(f'SELECT count(*) FROM "{schema_for(TOWNSHIP)}".outbox WHERE kind = :k'),
            {"k": MessageKind.ALERT.value},
        )
        assert rows.scalar_one() == len(ABOVE_TOWNSHIP)  # one message to each ancestor


async def test_a_repeat_petitioner_fires_and_a_new_matter_does_not(tree: Network) -> None:
    first = await register(tree, TOWNSHIP, channel="LETTER", petitionerIdNumber=ID_A)
    other = await register(
        tree, TOWNSHIP, channel="LETTER", petitionerIdNumber=ID_A, category="医疗卫生"
    )
    assert other["repeatOf"] is None
    assert await of_kind(tree, TOWNSHIP, "REPEAT_PETITIONER") == []
    again = await register(tree, TOWNSHIP, channel="LETTER", petitionerIdNumber=ID_A)
    assert again["repeatOf"] == {"id": first["id"]}
    [alert] = await of_kind(tree, TOWNSHIP, "REPEAT_PETITIONER")
    assert (alert["caseId"], alert["severity"]) == (again["id"], "WARNING")
    await everywhere_above(tree, alert, ABOVE_TOWNSHIP)


async def test_deadlines_warn_before_they_pass_then_overdue_then_clear(
    tree: Network, clock: FixedClock
) -> None:
    case = await register(tree, TOWNSHIP, channel="LETTER")
    deadlines = await tree.gql(
        TOWNSHIP, "query($id: ID!) { case(id: $id) { deadlines { kind due } } }", id=case["id"]
    )
    due = datetime.fromisoformat(
        {d["kind"]: d["due"] for d in deadlines["case"]["deadlines"]}["ACCEPTANCE"]
    )
    assert await evaluate(tree, TOWNSHIP) == []  # 15 days off: silent
    assert await of_kind(tree, TOWNSHIP, "DEADLINE_APPROACHING") == []
    clock.at = due - 2 * DAY  # within the 3 days' lead
    [approaching] = await evaluate(tree, TOWNSHIP)
    assert (approaching.kind, approaching.case_id) == ("DEADLINE_APPROACHING", case["id"])
    assert await evaluate(tree, TOWNSHIP) == []  # the same again: nothing new
    clock.at = due + DAY
    changed = {(r.kind.value, r.state.value) for r in await evaluate(tree, TOWNSHIP)}
    assert changed == {("OVERDUE", "OPEN"), ("DEADLINE_APPROACHING", "RESOLVED")}
    [overdue] = await of_kind(tree, TOWNSHIP, "OVERDUE")
    assert (overdue["severity"], overdue["version"]) == ("SEVERE", 1)
    clock.at = due + 31 * DAY  # a month late: the same alert, risen to CRITICAL
    await evaluate(tree, TOWNSHIP)
    [overdue] = await of_kind(tree, TOWNSHIP, "OVERDUE")
    assert (overdue["severity"], overdue["version"]) == ("CRITICAL", 2)
    await everywhere_above(tree, overdue, ABOVE_TOWNSHIP)
    await tree.gql(TOWNSHIP, "mutation($id: ID!) { acceptCase(id: $id) { id } }", id=case["id"])
    [cleared] = await evaluate(tree, TOWNSHIP)
    assert (cleared.kind, cleared.state, cleared.resolved_by) == ("OVERDUE", "RESOLVED", "system")
    assert await of_kind(tree, TOWNSHIP, "OVERDUE") == []
    [resolved] = await of_kind(tree, TOWNSHIP, "OVERDUE", s=["RESOLVED"])
    await everywhere_above(tree, resolved, ABOVE_TOWNSHIP)


async def test_a_surge_in_one_category_fires_and_an_ordinary_day_does_not(
    tree: Network, clock: FixedClock
) -> None:
    start = clock.at
    for day in range(21):  # three weeks of one petition a day about 噪音
        clock.at = start + day * DAY
        await register(tree, TOWNSHIP, channel="LETTER", category="噪音扰民")
    clock.at = start + 21 * DAY
    await register(tree, TOWNSHIP, channel="LETTER", category="噪音扰民")  # an ordinary day
    assert [r for r in await evaluate(tree, TOWNSHIP) if r.kind == "SURGE"] == []
    for _ in range(9):  # ten that day
        await register(tree, TOWNSHIP, channel="LETTER", category="噪音扰民")
    surges = [r for r in await evaluate(tree, TOWNSHIP) if r.kind == "SURGE"]
    assert {(r.category, r.locality) for r in surges} == {
        ("噪音扰民", None),
        (None, TOWNSHIP),  # the place surges too: every petition here is about it
    }
    listed = await of_kind(tree, TOWNSHIP, "SURGE", m="SEVERE")
    assert sorted(a["key"] for a in listed) == sorted(r.key for r in surges)
    assert all(a["detail"].startswith("10 on ") for a in listed)  # ten that day
    for alert in listed:
        await everywhere_above(tree, alert, ABOVE_TOWNSHIP)
    clock.at = start + 22 * DAY  # the next day the surge day is history: resolved
    resolved = [r for r in await evaluate(tree, TOWNSHIP) if r.kind == "SURGE"]
    assert [r.state.value for r in resolved] == ["RESOLVED", "RESOLVED"]


async def test_a_matter_reaching_its_final_review_fires_at_the_owner(
    clean_engine: AsyncEngine, clock: FixedClock
) -> None:
    async with network(clean_engine, clock, [PROVINCE, CITY, COUNTY]) as net:
        case = await register(net, COUNTY, channel="LETTER")
        case_id = case["id"]
        await net.gql(COUNTY, "mutation($id: ID!) { acceptCase(id: $id) { id } }", id=case_id)
        clock.advance(10 * DAY)
        await net.gql(
            COUNTY,
            'mutation($id: ID!) { replyCase(id: $id, outcome: NOT_SUPPORTED, text: "不予支持") '
            "{ id } }",
            id=case_id,
        )
        clock.advance(DAY)
        review = (
            await net.gql(
                CITY,
                'mutation($c: ID!) { openReview(caseId: $c, reason: "不服") { id } }',
                c=case_id,
            )
        )["openReview"]

        async def status(wanted: str) -> bool:
            data = await net.gql(COUNTY, "query($id: ID!) { case(id: $id) { status } }", id=case_id)
            return bool(data["case"]["status"] == wanted)

        await eventually(lambda: status("UNDER_REVIEW"))
        assert await of_kind(net, COUNTY, "SECOND_REVIEW") == []  # a first review: silent
        await net.gql(
            CITY,
            'mutation($id: ID!) { decideReview(id: $id, outcome: UPHELD, text: "维持") { id } }',
            id=review["id"],
        )
        await eventually(lambda: status("REVIEWED"))
        clock.advance(2 * DAY)
        await net.gql(
            PROVINCE,
            'mutation($c: ID!) { openFinalReview(caseId: $c, reason: "仍不服") { id } }',
            c=case_id,
        )

        async def fired() -> list[dict[str, Any]]:
            return await of_kind(net, COUNTY, "SECOND_REVIEW")

        [alert] = await eventually(fired)
        assert (alert["caseId"], alert["jurisdiction"]) == (case_id, {"code": COUNTY})
        await everywhere_above(net, alert, [CITY, PROVINCE])


async def test_acknowledge_and_resolve_at_the_owning_node_only(tree: Network) -> None:
    await register(tree, TOWNSHIP, personCount=6)
    [alert] = await of_kind(tree, TOWNSHIP, "COLLECTIVE_VISIT")
    await everywhere_above(tree, alert, ABOVE_TOWNSHIP)

    async def refused(node: str, query: str, user: User | None = None, **variables: Any) -> str:
        response = await tree.http.post(
            tree.registry.graphql_url(node),
            json={"query": query, "variables": variables},
            headers=user.headers() if user is not None else None,
        )
        body = response.json()
        assert body["data"] is None or not any(body["data"].values()), body
        return str(body["errors"][0]["extensions"]["code"])

    # Not its handler: a leader of the township, a handler of the county (at the township).
    assert await refused(TOWNSHIP, ACK, leader(TOWNSHIP), id=alert["id"]) == "FORBIDDEN"
    assert await refused(TOWNSHIP, ACK, handler(COUNTY), id=alert["id"]) == "FORBIDDEN"
    # The county holds a copy: its own handler cannot act on it there.
    assert await refused(COUNTY, ACK, id=alert["id"]) == "WRONG_NODE"
    assert await refused(TOWNSHIP, ACK, id=f"{TOWNSHIP}-A-nosuchalert") == "NOT_FOUND"
    assert await refused(TOWNSHIP, ACK, id="not-an-alert") == "BAD_USER_INPUT"
    assert await refused(TOWNSHIP, ACK, id=alert["id"], v=7) == "CONFLICT"
    acked = (await tree.gql(TOWNSHIP, ACK, id=alert["id"], v=1))["acknowledgeAlert"]
    assert (acked["state"], acked["version"]) == ("ACKNOWLEDGED", 2)
    assert acked["acknowledgedBy"] == f"handler@{TOWNSHIP}"
    assert await refused(TOWNSHIP, ACK, id=alert["id"]) == "INVALID_TRANSITION"
    await everywhere_above(tree, acked, ABOVE_TOWNSHIP)
    done = (await tree.gql(TOWNSHIP, RESOLVE, id=alert["id"]))["resolveAlert"]
    assert (done["state"], done["version"]) == ("RESOLVED", 3)
    assert done["resolvedBy"] == f"handler@{TOWNSHIP}"
    assert await refused(TOWNSHIP, RESOLVE, id=alert["id"]) == "INVALID_TRANSITION"
    assert await refused(TOWNSHIP, ACK, id=alert["id"]) == "INVALID_TRANSITION"
    await everywhere_above(tree, done, ABOVE_TOWNSHIP)
    assert await of_kind(tree, CITY, "COLLECTIVE_VISIT") == []  # open and acknowledged only
    # A stale report (version 2) arriving late at the city changes nothing: newest wins.
    stale = Message(
        id=new_message_id(TOWNSHIP),
        sender=TOWNSHIP,
        recipient=CITY,
        kind=MessageKind.ALERT,
        payload={**await stored_payload(tree, alert["id"]), "state": "ACKNOWLEDGED", "version": 2},
        created_at=work(tree, TOWNSHIP).clock.now(),
    )
    city = service(tree, Tier.CITY)
    assert (await city.receive(city.works[CITY], stale))[0] is Receipt.APPLIED
    [kept] = await of_kind(tree, CITY, "COLLECTIVE_VISIT", s=["RESOLVED", "ACKNOWLEDGED"])
    assert (kept["state"], kept["version"]) == ("RESOLVED", 3)
    # A node not above the owner cannot report it: rejected.
    forged = Message(
        id=new_message_id(COUNTY),
        sender=COUNTY,
        recipient=CITY,
        kind=MessageKind.ALERT,
        payload=await stored_payload(tree, alert["id"]),
        created_at=stale.created_at,
    )
    assert (await city.receive(city.works[CITY], forged))[0] is Receipt.REJECTED


async def stored_payload(net: Network, alert: str) -> dict[str, Any]:
    async with work(net, TOWNSHIP).db.connect() as conn:
        record = await alert_records.load(conn, alert)
    assert record is not None
    return record.to_payload()


async def test_bad_arguments_of_the_alert_list_have_stable_codes(tree: Network) -> None:
    async def code(query: str, **variables: Any) -> str:
        body = await tree.call(TOWNSHIP, query, **variables)
        return str(body["errors"][0]["extensions"]["code"])

    page = (
        f'query($f: Int!, $a: String) {{ jurisdiction(code: "{TOWNSHIP}") '
        "{ alerts(first: $f, after: $a) { totalCount } } }"
    )
    assert await code(page, f=0) == "BAD_USER_INPUT"
    assert await code(page, f=501) == "BAD_USER_INPUT"
    assert await code(page, f=5, a="garbage!") == "BAD_USER_INPUT"
    assert await code(ALERTS, c=TOWNSHIP, s=[]) == "BAD_USER_INPUT"
    assert await code(ALERTS, c=TOWNSHIP, k=["NO_SUCH_KIND"]) == "BAD_USER_INPUT"
    assert await code(ALERTS, c=COUNTY) == "NOT_FOUND"  # a township holds its own only
    # A leader of another city may not read them.
    response = await tree.http.post(
        tree.registry.graphql_url(TOWNSHIP),
        json={"query": ALERTS, "variables": {"c": TOWNSHIP}},
        headers=User("5303", (Role.LEADER,)).headers(),
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_pages_of_the_alert_list_follow_each_other(tree: Network) -> None:
    for n in range(5):
        await register(tree, TOWNSHIP, personCount=5 + n)
    query = (
        f'query($a: String) {{ jurisdiction(code: "{TOWNSHIP}") {{ alerts(first: 2, after: $a) '
        "{ totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } }"
    )
    seen: list[str] = []
    after = None
    while True:
        page = (await tree.gql(TOWNSHIP, query, a=after))["jurisdiction"]["alerts"]
        assert page["totalCount"] == 5
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 5 == len(set(seen))


async def test_the_service_evaluates_time_fired_alerts_beside_the_relay(
    clean_engine: AsyncEngine, clock: FixedClock
) -> None:

    town = TierService(
        tier=Tier.TOWNSHIP,
        engine=clean_engine,
        calendar=default_calendar(),
        person_key_secret=SECRET,
        clock=clock,
        evaluate_alerts=True,
        alerts_interval=0.2,
    )
    town.host([TOWNSHIP])
    work_here = town.works[TOWNSHIP]
    await work_here.register_petition(
        PetitionInput(
            channel=Channel.LETTER,
            category="邻里纠纷",
            summary="反映邻居占用宅基地通道",
            issue_locality_code=TOWNSHIP,
            petitioner_name="王五",
        ),
        idempotency_key="alerts-evaluator-1",
        actor="clerk",
    )
    clock.advance(60 * DAY)  # the acceptance deadline long past: nothing was written since
    async with town.running_relay():

        async def overdue() -> list[AlertRecord]:
            async with work_here.db.connect() as conn:
                found = await alert_records.own_alerts(
                    conn, TOWNSHIP, [AlertKind.OVERDUE], lock=False
                )
            return list(found.values())

        [alert] = await eventually(overdue, 10.0)
    assert alert.severity == "CRITICAL"  # more than 30 days late


def test_the_interval_comes_from_the_environment() -> None:
    assert alert_flows.interval_from_env({}) == 300.0
    assert alert_flows.interval_from_env({"XINFANG_ALERTS_INTERVAL": "2.5"}) == 2.5
    for bad in ("soon", "0", "-1"):
        with pytest.raises(ValueError, match="XINFANG_ALERTS_INTERVAL"):
            alert_flows.interval_from_env({"XINFANG_ALERTS_INTERVAL": bad})

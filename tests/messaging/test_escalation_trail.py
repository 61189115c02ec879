"""One petition's whole path across four nodes (docs/adr/0014), through the real API, the
message relay and the gateway: the province's trail index answers ``escalationTrail`` for any
case of the chain, and the gateway reads each step's case, review and order at its owner.

The path: registered at a township (华山街道), transferred to its county (五华区), assigned back
down to the township where it arose (属地: an assignment goes to the body the matter arose
under), accepted and replied there (the completion report reaches the county after the
assignment's due date: that deadline does not hold), reviewed at the county (one tier above
the township that replied), finally reviewed at the city, and supervised by the province in
between, whose order the township answers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.compose import SUPERGRAPH_FILE
from gateway.routing import KeyRouter
from gateway.server import create_gateway_app
from shared.access import NodeCredential
from shared.casework import FixedClock
from shared.deadlines import local_date
from shared.messaging.messages import Message, MessageKind
from shared.messaging.relay import MESSAGE_PURPOSE
from shared.persistence.migrate import schema_for
from shared.trail import TrailAction, TrailRole, order_issued
from tests.conftest import CITY, COUNTY, PROVINCE, START, TOWNSHIP
from tests.identity import ActAs, suite_verifier
from tests.messaging.network import Network, eventually, network
from tests.messaging.servers import serving

DAY = timedelta(days=1)
TRAIL = """query($c: ID!) { escalationTrail(caseId: $c) {
  at action role note node { code }
  deadline { kind due metAt held }
  case { id status owner { code } }
  review { id level status }
  supervisionOrder { id status replyText }
} }"""


class TickingClock(FixedClock):
    """A fixed clock that moves a millisecond each time it is read: an act caused by a message
    is always later than the act that sent it, as on real clocks."""

    def now(self) -> datetime:
        self.at += timedelta(milliseconds=1)
        return self.at


@dataclass
class Province:
    net: Network
    clock: TickingClock
    gateway: httpx.AsyncClient


@pytest.fixture
async def province(clean_engine: AsyncEngine) -> AsyncIterator[Province]:
    clock = TickingClock(START)
    async with network(clean_engine, clock, [TOWNSHIP, COUNTY, CITY, PROVINCE]) as net:
        fallback = {
            tier.value.lower(): f"{url}/tiers/{tier.value.lower()}/graphql"
            for tier, url in net.registry.tiers.items()
        }
        router = KeyRouter(net.registry, fallback)
        app = create_gateway_app(
            SUPERGRAPH_FILE.read_text(encoding="utf-8"), verifier=suite_verifier(), router=router
        )
        async with (
            serving(app) as gateway,
            httpx.AsyncClient(base_url=gateway.url, timeout=30, auth=ActAs()) as client,
        ):
            yield Province(net, clock, client)


async def through_gateway(province: Province, query: str, **variables: Any) -> dict[str, Any]:
    response = await province.gateway.post(
        "/graphql", json={"query": query, "variables": variables}
    )
    body: dict[str, Any] = response.json()
    return body


async def cases_at(net: Network, node: str) -> list[dict[str, Any]]:
    data = await net.gql(node, "{ cases { edges { node { id status final } } } }")
    return [e["node"] for e in data["cases"]["edges"]]


async def case_at(net: Network, node: str, case_id: str) -> dict[str, Any]:
    data = await net.gql(node, "query($id: ID!) { case(id: $id) { id status final } }", id=case_id)
    found: dict[str, Any] = data["case"]
    return found


async def walk_the_path(p: Province) -> dict[str, str]:
    """The petition's path; the ids of its cases, review, final review and order."""
    net, clock = p.net, p.clock
    registered = await net.gql(
        TOWNSHIP,
        "mutation($i: RegisterPetitionInput!) "
        '{ registerPetition(input: $i, idempotencyKey: "trail-path-0001") { id } }',
        i={
            "channel": "VISIT",
            "category": "农村农业",
            "summary": "反映土地承包经营权纠纷",
            "issueLocality": TOWNSHIP,
            "petitionerName": "孙七",
        },
    )
    entered = registered["registerPetition"]["id"]
    clock.advance(DAY)
    await net.gql(
        TOWNSHIP,
        f'mutation($id: ID!) {{ transferCase(id: $id, to: "{COUNTY}", reason: "需县级协调") '
        "{ id } }",
        id=entered,
    )

    async def at_county() -> list[dict[str, Any]]:
        return await cases_at(net, COUNTY)

    [county_case] = await eventually(at_county)
    clock.advance(DAY)
    report_due = local_date(clock.at) + timedelta(days=9)  # a Friday: no rolling forward
    await net.gql(
        COUNTY,
        f'mutation($id: ID!, $due: Date!) {{ assignCase(id: $id, to: "{TOWNSHIP}", due: $due) '
        "{ id } }",
        id=county_case["id"],
        due=report_due.isoformat(),
    )

    async def assigned_down() -> list[dict[str, Any]]:
        return [c for c in await cases_at(net, TOWNSHIP) if c["id"] != entered]

    [handled] = await eventually(assigned_down)
    handled_id = handled["id"]
    clock.advance(DAY)
    await net.gql(TOWNSHIP, "mutation($id: ID!) { acceptCase(id: $id) { id } }", id=handled_id)
    clock.advance(14 * DAY)  # replied in time, but after the assignment's report date
    await net.gql(
        TOWNSHIP,
        'mutation($id: ID!) { replyCase(id: $id, outcome: NOT_SUPPORTED, text: "不予支持") '
        "{ id } }",
        id=handled_id,
    )

    async def county_closed() -> dict[str, Any] | None:
        found = await case_at(net, COUNTY, county_case["id"])
        return found if found["status"] == "CLOSED" else None

    await eventually(county_closed)
    clock.advance(5 * DAY)
    opened = await net.gql(
        COUNTY,
        'mutation($c: ID!) { openReview(caseId: $c, reason: "对答复不服") { id } }',
        c=handled_id,
    )
    review_id = opened["openReview"]["id"]
    await eventually(lambda: _review_status(net, COUNTY, review_id, "OPEN"))
    clock.advance(10 * DAY)
    await net.gql(
        COUNTY,
        'mutation($id: ID!) { decideReview(id: $id, outcome: UPHELD, text: "维持") { id } }',
        id=review_id,
    )

    async def reviewed() -> dict[str, Any] | None:
        found = await case_at(net, TOWNSHIP, handled_id)
        return found if found["status"] == "REVIEWED" else None

    await eventually(reviewed)
    clock.advance(3 * DAY)
    final = await net.gql(
        CITY,
        'mutation($c: ID!) { openFinalReview(caseId: $c, reason: "仍不服") { id } }',
        c=handled_id,
    )
    final_id = final["openFinalReview"]["id"]
    await eventually(lambda: _review_status(net, CITY, final_id, "OPEN"))
    clock.advance(DAY)
    issued = await net.gql(
        PROVINCE,
        'mutation($c: ID!) { issueSupervisionOrder(caseId: $c, severity: "YELLOW", '
        'text: "请依法按期办结") { id } }',
        c=handled_id,
    )
    order_id = issued["issueSupervisionOrder"]["id"]

    async def order_received() -> list[Any]:
        data = await net.gql(TOWNSHIP, "{ supervisionOrdersReceived { id } }")
        found: list[Any] = data["supervisionOrdersReceived"]
        return found

    await eventually(order_received)
    clock.advance(2 * DAY)
    await net.gql(
        TOWNSHIP,
        'mutation($id: ID!) { replySupervisionOrder(id: $id, text: "已按期办理") { id } }',
        id=order_id,
    )
    clock.advance(5 * DAY)
    await net.gql(
        CITY,
        'mutation($id: ID!) { decideReview(id: $id, outcome: UPHELD, text: "复核维持") { id } }',
        id=final_id,
    )

    async def final_at_township() -> dict[str, Any] | None:
        found = await case_at(net, TOWNSHIP, handled_id)
        return found if found["final"] else None

    await eventually(final_at_township)
    return {
        "entered": entered,
        "county": county_case["id"],
        "handled": handled_id,
        "review": review_id,
        "final": final_id,
        "order": order_id,
        "reportDue": report_due.isoformat(),
    }


async def _review_status(net: Network, node: str, review_id: str, status: str) -> bool:
    data = await net.gql(node, "query($id: ID!) { review(id: $id) { status } }", id=review_id)
    return bool(data["review"] and data["review"]["status"] == status)


async def all_notices_applied(engine: AsyncEngine) -> bool:
    """Every TRAIL_NOTICE of the three other nodes delivered (the province writes its own)."""
    async with engine.connect() as conn:
        for node in (TOWNSHIP, COUNTY, CITY):
            pending = await conn.execute(
                text(
                    f'SELECT count(*) FROM "{schema_for(node)}".outbox '
                    "WHERE kind = 'TRAIL_NOTICE' AND delivered_at IS NULL"
                )
            )
            if pending.scalar_one():
                return False
    return True


async def test_the_escalation_trail_of_a_petition_across_four_nodes(
    province: Province, clean_engine: AsyncEngine
) -> None:
    ids = await walk_the_path(province)
    await eventually(lambda: all_notices_applied(clean_engine))
    entered, county_case, handled = ids["entered"], ids["county"], ids["handled"]

    answers = []
    for case_id in (entered, county_case, handled):
        body = await through_gateway(province, TRAIL, c=case_id)
        assert "errors" not in body, body["errors"]
        answers.append(body["data"]["escalationTrail"])
    assert answers[0] == answers[1] == answers[2]  # any case of the chain: the same trail
    trail = answers[0]

    expected = [
        ("REGISTERED", TOWNSHIP, "INTAKE", entered),
        ("TRANSFERRED", TOWNSHIP, "PETITION_OFFICE", entered),
        ("REGISTERED", COUNTY, "INTAKE", county_case),
        ("ASSIGNED", COUNTY, "PETITION_OFFICE", county_case),
        ("REGISTERED", TOWNSHIP, "INTAKE", handled),
        ("ACCEPTED", TOWNSHIP, "PETITION_OFFICE", handled),
        ("REPLIED", TOWNSHIP, "HANDLER", handled),
        ("COMPLETION_REPORTED", COUNTY, "PETITION_OFFICE", county_case),
        ("REVIEW_REQUESTED", COUNTY, "REVIEWER", handled),
        ("REVIEW_DECIDED", COUNTY, "REVIEWER", handled),
        ("FINAL_REVIEW_REQUESTED", CITY, "FINAL_REVIEWER", handled),
        ("SUPERVISION_ORDERED", PROVINCE, "SUPERVISOR", handled),
        ("SUPERVISION_REPLIED", TOWNSHIP, "HANDLER", handled),
        ("FINAL_REVIEW_DECIDED", CITY, "FINAL_REVIEWER", handled),
    ]
    assert [(s["action"], s["node"]["code"], s["role"], s["case"]["id"]) for s in trail] == expected
    times = [datetime.fromisoformat(s["at"]) for s in trail]
    assert times == sorted(times)
    assert len(set(times)) == len(times)

    # Deadlines: where a step meets one, when it was due and met, and whether it held.
    held = {s["action"]: s["deadline"] for s in trail if s["deadline"] is not None}
    assert {a: (d["kind"], d["held"]) for a, d in held.items()} == {
        "TRANSFERRED": ("ACCEPTANCE", True),
        "ASSIGNED": ("ACCEPTANCE", True),
        "ACCEPTED": ("ACCEPTANCE", True),
        "REPLIED": ("HANDLING", True),
        "COMPLETION_REPORTED": ("ASSIGNMENT", False),  # reported after the date set
        "REVIEW_DECIDED": ("REVIEW_DECISION", True),
        "SUPERVISION_REPLIED": ("SUPERVISION_REPLY", True),
        "FINAL_REVIEW_DECIDED": ("FINAL_REVIEW_DECISION", True),
    }
    missed = held["COMPLETION_REPORTED"]
    assert local_date(datetime.fromisoformat(missed["due"])) == date.fromisoformat(
        ids["reportDue"]
    ) + timedelta(days=1)  # due: the first instant after the report date
    assert datetime.fromisoformat(missed["metAt"]) > datetime.fromisoformat(missed["due"])
    for step in trail:
        if step["deadline"] is not None:
            assert step["deadline"]["metAt"] == step["at"]

    # Notes: codes and division names, nothing of the petition.
    notes = {s["action"]: s["note"] for s in trail if s["note"]}
    assert notes["TRANSFERRED"] == f"to 五华区 ({COUNTY})"
    assert notes["REGISTERED"] == f"VISIT, received from 五华区 ({COUNTY})"  # the last one
    assert notes["SUPERVISION_ORDERED"] == "YELLOW"
    assert not any("孙七" in n or "土地" in n for n in notes.values())

    # The references resolve at their owners, through the gateway.
    by_action = {s["action"]: s for s in trail}
    assert by_action["TRANSFERRED"]["case"] == {
        "id": entered,
        "status": "TRANSFERRED",
        "owner": {"code": TOWNSHIP},
    }
    assert by_action["COMPLETION_REPORTED"]["case"]["status"] == "CLOSED"
    assert by_action["COMPLETION_REPORTED"]["case"]["owner"] == {"code": COUNTY}
    assert by_action["FINAL_REVIEW_DECIDED"]["case"]["status"] == "CLOSED"
    assert by_action["REVIEW_DECIDED"]["review"] == {
        "id": ids["review"],
        "level": "REVIEW",
        "status": "DECIDED",
    }
    assert by_action["FINAL_REVIEW_REQUESTED"]["review"]["id"] == ids["final"]
    assert by_action["SUPERVISION_REPLIED"]["supervisionOrder"] == {
        "id": ids["order"],
        "status": "REPLIED",
        "replyText": "已按期办理",
    }
    assert all(s["review"] is None for s in trail if "REVIEW" not in s["action"])

    # The owner's own trail links carry the same references (remoteId kept).
    links = await through_gateway(
        province,
        "query($id: ID!) { case(id: $id) { trail { action remoteId node { code } "
        "case { id status } review { id status } supervisionOrder { id status } } } }",
        id=handled,
    )
    assert "errors" not in links, links["errors"]
    assert [
        (s["action"], s["remoteId"], (s["case"] or s["review"] or s["supervisionOrder"])["id"])
        for s in links["data"]["case"]["trail"]
    ] == [
        ("ASSIGNED_BY", county_case, county_case),
        ("COMPLETION_REPORTED_TO", county_case, county_case),
        ("REVIEWED_AT", ids["review"], ids["review"]),
        ("FINAL_REVIEWED_AT", ids["final"], ids["final"]),
        ("SUPERVISED_BY", ids["order"], ids["order"]),
    ]
    assert links["data"]["case"]["trail"][0]["case"]["status"] == "CLOSED"  # read at the county
    assert links["data"]["case"]["trail"][2]["review"]["status"] == "DECIDED"


async def test_a_trail_notice_delivered_twice_writes_one_step(
    province: Province, clean_engine: AsyncEngine
) -> None:
    net = province.net
    step = order_issued(CITY, f"{CITY}-SO-2025-000077", f"{COUNTY}-2025-000042", START, "RED", True)
    notice = Message(
        id=f"{CITY}-M-trail-twice",
        sender=CITY,
        recipient=PROVINCE,
        kind=MessageKind.TRAIL_NOTICE,
        payload=step.to_json(),
        created_at=START,
    )
    url = net.registry.messages_url(PROVINCE)
    answers = []
    for message in (notice, notice, Message(**{**notice.__dict__, "id": f"{CITY}-M-again"})):
        sent = json.dumps(message.to_json()).encode()
        signed = NodeCredential.from_env().headers(MESSAGE_PURPOSE, CITY, PROVINCE, sent)
        response = await net.http.post(url, content=sent, headers=signed)  # as the relay sends
        answers.append(response.json()["status"])
    assert answers == ["applied", "duplicate", "applied"]  # the third: same step, new message
    async with clean_engine.connect() as conn:
        rows = await conn.execute(
            text(f'SELECT step_key, message_id FROM "{schema_for(PROVINCE)}".trail_steps')
        )
        assert [tuple(r) for r in rows] == [(step.key, notice.id)]
    body = await through_gateway(
        province,
        "query($c: ID!) { escalationTrail(caseId: $c) "
        "{ action role note node { code } case { id } supervisionOrder { id } } }",
        c=step.case_id,
    )
    assert "errors" not in body, body["errors"]
    [only] = body["data"]["escalationTrail"]
    assert (only["case"], only["supervisionOrder"]) == (
        {"id": step.case_id},
        {"id": step.order_id},
    )
    assert (only["action"], only["role"], only["node"]["code"]) == (
        TrailAction.SUPERVISION_ORDERED.value,
        TrailRole.SUPERVISOR.value,
        CITY,
    )
    assert only["note"] == "RED, flagged (挂牌督办)"
    # A node notes only the steps it took.
    forged = Message(**{**notice.__dict__, "id": f"{COUNTY}-M-forged", "sender": COUNTY})
    sent = json.dumps(forged.to_json()).encode()
    signed = NodeCredential.from_env().headers(MESSAGE_PURPOSE, COUNTY, PROVINCE, sent)
    response = await net.http.post(url, content=sent, headers=signed)  # truly from the county
    assert response.json()["status"] == "rejected"


async def test_an_unknown_case_has_no_trail_but_a_stable_error(province: Province) -> None:
    body = await through_gateway(province, TRAIL, c=f"{TOWNSHIP}-2025-999999")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "CASE_NOT_FOUND", error
    assert body["data"] is None
    # At the province node itself: a malformed id, a case of another province.
    for case_id, code in (("not-a-case", "BAD_USER_INPUT"), ("110105-2025-000001", "WRONG_NODE")):
        answer = await province.net.call(
            PROVINCE, "query($c: ID!) { escalationTrail(caseId: $c) { action } }", c=case_id
        )
        assert answer["errors"][0]["extensions"]["code"] == code, answer


async def test_a_skip_level_visit_sent_down_is_one_chain_with_the_case_it_became(
    province: Province, clean_engine: AsyncEngine
) -> None:
    net = province.net
    registered = await net.gql(
        PROVINCE,
        "mutation($i: RegisterPetitionInput!) "
        '{ registerPetition(input: $i, idempotencyKey: "trail-skip-0001") { id status } }',
        i={
            "channel": "VISIT",
            "category": "征地拆迁",
            "summary": "反映征地补偿款未足额发放",
            "issueLocality": TOWNSHIP,
            "petitionerName": "钱十一",
        },
    )
    visit = registered["registerPetition"]
    assert visit["status"] == "NOT_ACCEPTED"  # 越级走访: refused here, sent down

    async def sent_down() -> list[dict[str, Any]]:
        return await cases_at(net, TOWNSHIP)

    [down] = await eventually(sent_down)
    await eventually(lambda: all_notices_applied(clean_engine))
    for case_id in (visit["id"], down["id"]):
        body = await through_gateway(
            province,
            "query($c: ID!) { escalationTrail(caseId: $c) "
            "{ action role note node { code } case { id } } }",
            c=case_id,
        )
        assert "errors" not in body, body["errors"]
        assert [
            (s["action"], s["node"]["code"], s["case"]["id"], s["note"])
            for s in body["data"]["escalationTrail"]
        ] == [
            ("REGISTERED", PROVINCE, visit["id"], "VISIT"),
            ("NOT_ACCEPTED", PROVINCE, visit["id"], "SKIP_LEVEL"),
            ("REGISTERED", TOWNSHIP, down["id"], f"VISIT, received from 云南省 ({PROVINCE})"),
        ]

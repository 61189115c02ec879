"""The cross-node rules of intake over real HTTP between four tier services: skip-level visits
sent down (Art. 20), matters pending below refused above (Art. 19), no re-acceptance after final
review anywhere in the province (Art. 36), repeats recognised by the person key, and what
happens when the province's matter index cannot be reached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from shared.divisions import Tier
from shared.persistence.migrate import schema_for
from shared.validation import id_check_char
from tests.conftest import CITY, COUNTY, PROVINCE, TOWNSHIP
from tests.messaging.network import Network, eventually, network

DAY = timedelta(days=1)
PERSON = "53010219820415321"
PERSON += id_check_char(PERSON)
OTHER_PERSON = "53010219900101002"
OTHER_PERSON += id_check_char(OTHER_PERSON)
CASE = """id status skipLevel refusalCode repeat repeatOfId matterCheck personCount
  receivedFrom { code } skipLevelFrom { code }
  trail { action node { code } remoteId }
  events { action reason }
  representatives(purpose: "check the visit") { name idNumber masked }"""
REGISTER = f"""mutation($i: RegisterPetitionInput!, $k: String!) {{
  registerPetition(input: $i, idempotencyKey: $k) {{ {CASE} }} }}"""
STATS = "{ stats { eventCount skipLevelVisits skipLevelVisitsReceived repeatPetitions } }"


@pytest.fixture
async def net(clean_engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Network]:
    async with network(clean_engine, clock, [PROVINCE, CITY, COUNTY, TOWNSHIP]) as running:
        yield running


def petition(locality: str, **overrides: Any) -> dict[str, Any]:
    return {
        "channel": "VISIT",
        "category": "征地拆迁",
        "summary": "反映征地补偿款未足额发放",
        "issueLocality": locality,
        "petitionerName": "钱十一",
        "petitionerIdNumber": PERSON,
        **overrides,
    }


async def register(net: Network, node: str, key: str, locality: str, **overrides: Any) -> Any:
    data = await net.gql(node, REGISTER, i=petition(locality, **overrides), k=key)
    return data["registerPetition"]


async def case_at(net: Network, node: str, case_id: str) -> dict[str, Any]:
    data = await net.gql(node, f"query($id: ID!) {{ case(id: $id) {{ {CASE} }} }}", id=case_id)
    case: dict[str, Any] = data["case"]
    return case


async def only_case(net: Network, node: str) -> dict[str, Any] | None:
    data = await net.gql(node, "{ cases { edges { node { id } } } }")
    edges = data["cases"]["edges"]
    return await case_at(net, node, edges[0]["node"]["id"]) if edges else None


async def act(net: Network, node: str, mutation: str, case_id: str) -> None:
    await net.gql(node, f"mutation($id: ID!) {{ {mutation} {{ id }} }}", id=case_id)


async def indexed(net: Network, case_id: str, status: str) -> bool:
    """The province's matter index has heard of ``case_id`` in ``status``."""
    async with net.engine.connect() as conn:
        found = (
            await conn.execute(
                text(
                    f'SELECT status FROM "{schema_for(PROVINCE)}".matter_index WHERE case_id = :id'
                ),
                {"id": case_id},
            )
        ).scalar_one_or_none()
    return found == status


def steps(case: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(s["action"], s["node"]["code"], s["remoteId"]) for s in case["trail"]]


async def test_a_skip_level_visit_at_the_province_is_refused_and_sent_down_to_the_township(
    net: Network,
) -> None:
    visit = await register(
        net,
        PROVINCE,
        "skip-level-1",
        TOWNSHIP,
        personCount=30,
        representatives=[
            {"name": "钱十一", "idNumber": PERSON},
            {"name": "孙十二", "phone": "13800001234"},
        ],
    )
    assert (visit["status"], visit["skipLevel"], visit["refusalCode"]) == (
        "NOT_ACCEPTED",
        True,
        "SKIP_LEVEL",
    )
    assert [e["action"] for e in visit["events"]] == ["REGISTER", "NOT_ACCEPT"]
    assert "Art. 20" in visit["events"][1]["reason"]
    assert TOWNSHIP in visit["events"][1]["reason"]
    assert visit["matterCheck"] == "CHECKED"  # the province is its own index

    sent_down = await eventually(lambda: only_case(net, TOWNSHIP))
    assert sent_down["status"] == "REGISTERED"
    assert sent_down["receivedFrom"] == {"code": PROVINCE}
    assert sent_down["skipLevelFrom"] == {"code": PROVINCE}
    assert sent_down["skipLevel"] is False  # the visit skipped levels, not this case
    assert sent_down["personCount"] == 30
    # The ID number travelled sealed and is opened at the township for its own handler.
    assert sent_down["representatives"] == [
        {"name": "钱十一", "idNumber": PERSON, "masked": False},
        {"name": "孙十二", "idNumber": None, "masked": False},
    ]
    assert steps(sent_down) == [("REDIRECTED_FROM", PROVINCE, visit["id"])]

    async def province_trail() -> dict[str, Any] | None:
        case = await case_at(net, PROVINCE, visit["id"])
        return case if case["trail"] and case["trail"][0]["remoteId"] else None

    at_province = await eventually(province_trail)
    assert steps(at_province) == [("REDIRECTED_TO", TOWNSHIP, sent_down["id"])]

    async def township_checked() -> dict[str, Any] | None:
        case = await case_at(net, TOWNSHIP, sent_down["id"])
        return case if case["matterCheck"] == "CHECKED" else None

    checked = await eventually(township_checked)
    # The petition sent down is the same petition, not a repeat of the visit it came from.
    assert (checked["repeat"], checked["status"]) == (False, "REGISTERED")
    # Counted against the issue locality, where it arose; received at the province.
    township_stats = (await net.gql(TOWNSHIP, STATS))["stats"]
    assert (township_stats["skipLevelVisits"], township_stats["skipLevelVisitsReceived"]) == (1, 0)
    province_stats = (await net.gql(PROVINCE, STATS))["stats"]
    assert (province_stats["skipLevelVisits"], province_stats["skipLevelVisitsReceived"]) == (0, 1)
    assert (await net.gql(COUNTY, STATS))["stats"]["skipLevelVisits"] == 0


async def test_a_visit_one_level_above_the_competent_node_is_not_skip_level(
    net: Network,
) -> None:
    at_city = await register(net, CITY, "one-level-up", COUNTY)
    assert (at_city["status"], at_city["skipLevel"], at_city["refusalCode"]) == (
        "REGISTERED",
        False,
        None,
    )
    letter = await register(net, PROVINCE, "letter-to-province", TOWNSHIP, channel="LETTER")
    assert (letter["status"], letter["skipLevel"]) == ("REGISTERED", False)


async def test_refuses_a_matter_pending_below_and_accepts_it_once_answered_there(
    net: Network, clock: FixedClock
) -> None:
    below = await register(net, TOWNSHIP, "pending-below-1", TOWNSHIP)
    assert below["matterCheck"] == "CHECKED"
    await eventually(lambda: indexed(net, below["id"], "REGISTERED"))
    clock.advance(timedelta(hours=1))
    above = await register(net, COUNTY, "pending-below-2", TOWNSHIP)
    assert (above["status"], above["refusalCode"]) == ("NOT_ACCEPTED", "PENDING_BELOW")
    assert "Art. 19" in above["events"][1]["reason"]
    assert (above["repeat"], above["repeatOfId"]) == (True, below["id"])
    assert steps(above) == [("REPEAT_OF", TOWNSHIP, below["id"])]
    # Another matter of the same person, or the same matter at the same node, is not refused.
    other = await register(net, COUNTY, "pending-below-3", TOWNSHIP, category="劳动社保")
    assert (other["status"], other["repeat"]) == ("REGISTERED", False)
    same_node = await register(net, TOWNSHIP, "pending-below-4", TOWNSHIP, channel="LETTER")
    assert (same_node["status"], same_node["repeatOfId"]) == ("REGISTERED", below["id"])

    clock.advance(DAY)
    await act(net, TOWNSHIP, "acceptCase(id: $id)", below["id"])
    await act(
        net, TOWNSHIP, 'replyCase(id: $id, outcome: EXPLAINED, text: "已解释说明")', below["id"]
    )
    await act(net, TOWNSHIP, 'notAcceptCase(id: $id, reason: "同一事项正在办理")', same_node["id"])
    await eventually(lambda: indexed(net, below["id"], "REPLIED"))
    await eventually(lambda: indexed(net, same_node["id"], "NOT_ACCEPTED"))
    answered = await register(net, COUNTY, "pending-below-5", TOWNSHIP)
    assert (answered["status"], answered["refusalCode"]) == ("REGISTERED", None)
    assert answered["repeatOfId"] == below["id"]  # a repeat petition all the same
    county_stats = (await net.gql(COUNTY, STATS))["stats"]
    assert (county_stats["eventCount"], county_stats["repeatPetitions"]) == (3, 2)


async def final_county_case(net: Network, clock: FixedClock, key: str) -> str:
    """A county case taken to its final review decision (三级终结) at the county's record."""
    case = await register(net, COUNTY, key, COUNTY, channel="LETTER")
    case_id: str = case["id"]
    clock.advance(DAY)
    await act(net, COUNTY, "acceptCase(id: $id)", case_id)
    clock.advance(10 * DAY)
    for mutation in (
        'replyCase(id: $id, outcome: NOT_SUPPORTED, text: "不予支持")',
        'requestReview(id: $id, reason: "不服")',
        'recordReviewDecision(id: $id, outcome: UPHELD, text: "维持")',
        'requestFinalReview(id: $id, reason: "仍不服")',
        'recordFinalReviewDecision(id: $id, outcome: UPHELD, text: "复核维持")',
    ):
        clock.advance(5 * DAY)
        await act(net, COUNTY, mutation, case_id)
    await eventually(lambda: indexed(net, case_id, "CLOSED"))
    clock.advance(DAY)
    return case_id


async def test_a_matter_finally_reviewed_is_not_accepted_again_anywhere_in_the_province(
    net: Network, clock: FixedClock
) -> None:
    final_id = await final_county_case(net, clock, "final-anywhere-1")
    at_city = await register(net, CITY, "final-anywhere-2", COUNTY, channel="ONLINE")
    assert (at_city["status"], at_city["refusalCode"], at_city["repeatOfId"]) == (
        "NOT_ACCEPTED",
        "NO_REACCEPTANCE",
        final_id,
    )
    assert "Art. 36" in at_city["events"][1]["reason"]
    # A skip-level visit on a final matter: barred, not sent down, still counted at the county.
    await eventually(lambda: indexed(net, at_city["id"], "NOT_ACCEPTED"))
    at_province = await register(net, PROVINCE, "final-anywhere-3", COUNTY)
    assert (at_province["status"], at_province["refusalCode"], at_province["skipLevel"]) == (
        "NOT_ACCEPTED",
        "NO_REACCEPTANCE",
        True,
    )

    async def counted() -> dict[str, Any] | None:
        stats: dict[str, Any] = (await net.gql(COUNTY, STATS))["stats"]
        return stats if stats["skipLevelVisits"] else None

    county_stats = await eventually(counted)
    assert (county_stats["skipLevelVisits"], county_stats["eventCount"]) == (1, 1)  # no new case
    assert steps(at_province) == [
        ("REPEAT_OF", COUNTY, final_id),
        ("REPEAT_OF", CITY, at_city["id"]),
    ]
    # Someone else on the same matter, or the same person on another matter, is accepted.
    other = await register(net, CITY, "final-anywhere-4", COUNTY, petitionerIdNumber=OTHER_PERSON)
    assert (other["status"], other["repeat"]) == ("REGISTERED", False)
    another = await register(net, CITY, "final-anywhere-5", COUNTY, category="教育")
    assert (another["status"], another["refusalCode"]) == ("REGISTERED", None)


async def test_while_the_index_is_unreachable_intake_registers_and_rechecks_when_it_answers(
    net: Network, clock: FixedClock
) -> None:
    final_id = await final_county_case(net, clock, "index-down-1")
    province = net.servers[Tier.PROVINCE]
    await province.stop()
    try:
        waiting = await register(net, CITY, "index-down-2", COUNTY, channel="ONLINE")
        moved_on = await register(net, CITY, "index-down-3", COUNTY, channel="LETTER")
        # Nothing known here bars it: registered as usual, its check pending.
        for case in (waiting, moved_on):
            assert (case["status"], case["matterCheck"], case["refusalCode"]) == (
                "REGISTERED",
                "PENDING",
                None,
            )
        assert moved_on["repeatOfId"] == waiting["id"]  # the node's own cases still count
        await act(net, CITY, "acceptCase(id: $id)", moved_on["id"])
    finally:
        await province.start()
    async with net.engine.begin() as conn:  # skip the backoff: retry now
        await conn.execute(text(f'UPDATE "{schema_for(CITY)}".outbox SET next_attempt_at = now()'))
    net.servers[Tier.CITY].app.state.service.relay.wake(CITY)

    async def rechecked(case_id: str) -> dict[str, Any] | None:
        case = await case_at(net, CITY, case_id)
        return case if case["matterCheck"] != "PENDING" else None

    refused = await eventually(lambda: rechecked(waiting["id"]), seconds=30)
    assert (refused["status"], refused["refusalCode"], refused["matterCheck"]) == (
        "NOT_ACCEPTED",
        "NO_REACCEPTANCE",
        "CHECKED",
    )
    assert refused["repeatOfId"] == final_id
    assert ("REPEAT_OF", COUNTY, final_id) in steps(refused)
    assert [e["action"] for e in refused["events"]] == ["REGISTER", "NOT_ACCEPT"]
    # Accepted before the answer came: not undone behind the handler's back, but flagged.
    conflict = await eventually(lambda: rechecked(moved_on["id"]), seconds=30)
    assert (conflict["status"], conflict["matterCheck"], conflict["refusalCode"]) == (
        "ACCEPTED",
        "CONFLICT",
        None,
    )
    await eventually(lambda: indexed(net, refused["id"], "NOT_ACCEPTED"))

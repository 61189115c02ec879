"""Seeding many nodes by the bulk path: the figures land near domain.md §4, every event log
replays, and the records cases leave at other nodes agree at both ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import CaseWork, FixedClock, PetitionInput
from shared.divisions import division_tree
from shared.holidays import default_calendar
from shared.lifecycle import Channel
from shared.messaging.matter_flows import LocalMatterIndex
from shared.metrics import StatsCounts
from shared.persistence.daily_figures import node_stats
from shared.persistence.migrate import migrate_nodes, schema_for
from shared.persistence.province import seed_nodes_bulk
from shared.persistence.repository import NodeDatabase, verify_log
from shared.privacy import IdCipher
from shared.seed import spread
from tests.conftest import (
    CITY,
    COUNTY,
    OTHER_COUNTY,
    PROVINCE,
    SECRET,
    START,
    empty_nodes,
)

pytestmark = pytest.mark.db

# One line of the tree with all four tiers: 云南省, 昆明市, two districts, 五华区's townships.
NODES = [PROVINCE, CITY, COUNTY, OTHER_COUNTY, *(d.code for d in division_tree().children(COUNTY))]
CASES = 6000
NOW = START


@pytest.fixture(scope="module")
async def seeded(engine: AsyncEngine) -> AsyncIterator[dict[str, Any]]:
    await migrate_nodes(engine, NODES)
    await empty_nodes(engine, NODES)
    result = await seed_nodes_bulk(
        engine,
        spread(CASES, NODES),
        now=NOW,
        calendar=default_calendar(),
        person_key_secret=SECRET,
        seed=7,
    )
    yield {"result": result}
    await empty_nodes(engine, NODES)


async def rows(engine: AsyncEngine, code: str, sql: str) -> list[Any]:
    """Rows of a query on node ``code``'s tables, read as that node."""
    async with NodeDatabase(engine, code).connect() as conn:
        return list((await conn.execute(text(sql.replace("{s}", f'"{schema_for(code)}"')))).all())


async def totals(engine: AsyncEngine) -> tuple[dict[str, int], float]:
    """The nodes' counts summed, and the first-time petitions' average days to reply."""
    summed: dict[str, int] = {}
    days = 0.0
    for code in NODES:
        async with NodeDatabase(engine, code).connect() as conn:
            counts = await node_stats(conn, registered_from=None, registered_to=None, now=NOW)
        for f in fields(StatsCounts):
            if f.name != "first_petition_reply_days":
                summed[f.name] = summed.get(f.name, 0) + getattr(counts, f.name)
        days += counts.first_petition_reply_days * counts.first_petition_replies
    return summed, days / max(summed["first_petition_replies"], 1)


async def test_seeded_figures_land_near_the_provinces_published_rates(
    seeded: dict[str, Any], engine: AsyncEngine
) -> None:
    assert seeded["result"].cases == CASES
    c, first_petition_days = await totals(engine)
    assert c["event_count"] == CASES
    # Tolerances: about three standard deviations of a sample of this size.
    assert c["acceptance_on_time"] / c["acceptance_due"] == pytest.approx(0.9957, abs=0.004)
    assert c["reply_on_time"] / c["reply_due"] == pytest.approx(0.9962, abs=0.004)
    assert c["satisfied"] / c["rated"] == pytest.approx(0.9682, abs=0.015)
    assert first_petition_days == pytest.approx(21, abs=3)
    assert c["backlog"] > 0  # open past the handling deadline (积案)
    assert c["skip_level_visits_received"] > 0  # flagged where made; not sent down in bulk


async def test_every_seeded_event_log_replays_to_its_case(
    seeded: dict[str, Any], engine: AsyncEngine
) -> None:
    checked = 0
    for code in NODES:
        async with NodeDatabase(engine, code).connect() as conn:
            n, bad = await verify_log(conn, default_calendar())
        assert bad == [], code
        checked += n
    assert checked == CASES


async def test_reviews_are_held_one_tier_up_and_linked_from_the_case_both_ways(
    seeded: dict[str, Any], engine: AsyncEngine
) -> None:
    tree = division_tree()
    reviews = final = 0
    for reviewer in NODES:
        held = await rows(
            engine,
            reviewer,
            "SELECT id, level, case_id, case_node, status, request_message_id, outcome "
            "FROM {s}.reviews",
        )
        sent = {r[0] for r in await rows(engine, reviewer, "SELECT id FROM {s}.outbox")}
        got = {r[0] for r in await rows(engine, reviewer, "SELECT message_id FROM {s}.inbox")}
        for review_id, level, case_id, owner, status, message_id, outcome in held:
            expected = tree.require(owner).parent_code
            if level == "FINAL_REVIEW":
                final += 1
                assert expected is not None
                expected = tree.require(expected).parent_code
            reviews += 1
            assert reviewer == expected
            assert message_id in sent
            link = await rows(
                engine,
                owner,
                "SELECT kind, remote_node, message_id FROM {s}.case_links "
                f"WHERE case_id = '{case_id}' AND remote_id = '{review_id}'",
            )
            kind = "FINAL_REVIEWED_AT" if level == "FINAL_REVIEW" else "REVIEWED_AT"
            assert link == [(kind, reviewer, message_id)]
            inbox = await rows(
                engine, owner, f"SELECT sender FROM {{s}}.inbox WHERE message_id = '{message_id}'"
            )
            assert inbox == [(reviewer,)]
            opened = await rows(
                engine,
                owner,
                "SELECT id FROM {s}.outbox WHERE kind = 'REVIEW_OPENED' "
                f"AND payload->>'reviewId' = '{review_id}'",
            )
            assert len(opened) == 1
            assert opened[0][0] in got
            actions = await rows(
                engine,
                owner,
                f"SELECT action, actor FROM {{s}}.case_events WHERE case_id = '{case_id}'",
            )
            decision = (
                "RECORD_FINAL_REVIEW_DECISION" if kind[0] == "F" else "RECORD_REVIEW_DECISION"
            )
            assert (decision, f"relay:{reviewer}") in actions or status == "OPEN"
            assert (status == "DECIDED") == (outcome is not None)
    assert reviews > 0
    assert final > 0


async def test_supervision_orders_agree_at_the_issuer_and_the_owner(
    seeded: dict[str, Any], engine: AsyncEngine
) -> None:
    orders = replied = 0
    for issuer in NODES:
        issued = await rows(
            engine,
            issuer,
            "SELECT id, case_id, case_node, severity, status, reply_text, replied_at, due "
            "FROM {s}.supervision_orders",
        )
        for order_id, case_id, owner, severity, status, reply, replied_at, due in issued:
            orders += 1
            replied += status == "REPLIED"
            assert owner.startswith(issuer)
            assert owner != issuer
            received = await rows(
                engine,
                owner,
                "SELECT case_id, issuer, severity, status, reply_text, replied_at, due "
                f"FROM {{s}}.supervision_received WHERE id = '{order_id}'",
            )
            assert received == [(case_id, issuer, severity, status, reply, replied_at, due)]
            link = await rows(
                engine,
                owner,
                "SELECT remote_node, message_id FROM {s}.case_links "
                f"WHERE kind = 'SUPERVISED_BY' AND remote_id = '{order_id}'",
            )
            assert len(link) == 1
            assert link[0][0] == issuer
            sent = await rows(
                engine, issuer, f"SELECT kind FROM {{s}}.outbox WHERE id = '{link[0][1]}'"
            )
            assert sent == [("SUPERVISION_ORDER",)]
        counters = await rows(
            engine, issuer, "SELECT coalesce(sum(last_seq), 0) FROM {s}.supervision_counters"
        )
        assert counters[0][0] == len(issued)
    assert orders > 0
    assert replied > 0


async def test_seeded_messages_are_all_delivered_and_applied(
    seeded: dict[str, Any], engine: AsyncEngine
) -> None:
    sent: dict[str, tuple[str, str]] = {}
    received: dict[str, tuple[str, str]] = {}
    for code in NODES:
        for mid, to, kind, delivered in await rows(
            engine, code, "SELECT id, recipient, kind, delivered_at FROM {s}.outbox"
        ):
            assert isinstance(delivered, datetime)
            assert delivered <= NOW + timedelta(seconds=1)
            sent[mid] = (f"{code}>{to}", kind)
        for mid, sender, kind, outcome in await rows(
            engine, code, "SELECT message_id, sender, kind, outcome FROM {s}.inbox"
        ):
            assert outcome == "APPLIED"
            received[mid] = (f"{sender}>{code}", kind)
    assert sent
    assert sent == received


async def test_the_province_index_holds_every_seeded_case_as_its_notices_left_it(
    seeded: dict[str, Any], engine: AsyncEngine
) -> None:
    expected: dict[str, tuple[Any, ...]] = {}
    notices = 0
    for code in NODES:
        for row in await rows(
            engine,
            code,
            # the version of the last act that changed status or finality (the last notice's)
            "SELECT id, matter_key, owner_code, status, final, registered_at, "
            "(SELECT max(seq) FROM {s}.case_events e WHERE e.case_id = c.id AND "
            "(e.from_status IS DISTINCT FROM e.to_status "
            "OR e.action = 'RECORD_FINAL_REVIEW_DECISION')) "
            "FROM {s}.cases c WHERE matter_key IS NOT NULL",
        ):
            expected[row[0]] = tuple(row)
        if code != PROVINCE:
            sent = await rows(
                engine,
                code,
                "SELECT count(*) FROM {s}.outbox "
                f"WHERE kind = 'MATTER_NOTICE' AND recipient = '{PROVINCE}'",
            )
            notices += sent[0][0]
    index = await rows(
        engine,
        PROVINCE,
        "SELECT case_id, matter_key, node, status, final, registered_at, version, final_at "
        "FROM {s}.matter_index",
    )
    assert {r[0]: tuple(r[:7]) for r in index} == expected
    assert len(index) == len(expected) > CASES // 2
    assert all((r[7] is not None) == r[4] for r in index)  # final ones know since when
    applied = await rows(
        engine, PROVINCE, "SELECT count(*) FROM {s}.inbox WHERE kind = 'MATTER_NOTICE'"
    )
    assert applied[0][0] == notices == seeded["result"].notices
    assert notices > len([r for r in index if r[2] != PROVINCE])  # changes too, not one each


async def test_a_seeded_final_matter_is_not_accepted_again_at_another_node(
    seeded: dict[str, Any], engine: AsyncEngine
) -> None:
    # Last in this module: it adds a case at the city, which the tests above do not count.
    finals = []
    for code in NODES:
        if code == CITY:
            continue
        finals += await rows(
            engine,
            code,
            "SELECT c.id, c.owner_code, c.category, c.issue_locality_code, p.name, p.id_number "
            "FROM {s}.cases c JOIN {s}.petitioners p ON p.case_id = c.id "
            f"WHERE c.final AND c.matter_key IS NOT NULL AND c.issue_locality_code LIKE '{CITY}%' "
            "ORDER BY c.id LIMIT 1",
        )
    assert finals
    _, owner, category, locality, name, sealed = finals[0]
    id_number = IdCipher.from_env().open(sealed)  # stored sealed (ADR 0018)
    clock = FixedClock(NOW + timedelta(days=3))
    province = CaseWork(
        NodeDatabase(engine, PROVINCE),
        calendar=default_calendar(),
        clock=clock,
        person_key_secret=SECRET,
    )
    work = CaseWork(
        NodeDatabase(engine, CITY),
        calendar=default_calendar(),
        clock=clock,
        person_key_secret=SECRET,
        matter_index=LocalMatterIndex(province),  # what /nodes/53/matters answers from
    )
    again = await work.register_petition(
        PetitionInput(
            channel=Channel.LETTER,
            category=category,
            summary="再次反映同一事项",
            issue_locality_code=locality,
            petitioner_name=name,
            petitioner_id_number=id_number,
        ),
        idempotency_key="seeded-final-again",
        actor="test",
    )
    [(status, refusal, repeat_of)] = await rows(
        engine,
        CITY,
        f"SELECT status, refusal_code, repeat_of FROM {{s}}.cases WHERE id = '{again}'",
    )
    assert (status, refusal) == ("NOT_ACCEPTED", "NO_REACCEPTANCE")
    assert repeat_of is not None
    assert not repeat_of.startswith(f"{CITY}-")  # known from the index only
    assert owner != CITY


async def test_the_province_trail_index_holds_every_seeded_case_its_reviews_and_orders(
    seeded: dict[str, Any], engine: AsyncEngine
) -> None:
    cases: set[str] = set()
    reviews: set[str] = set()
    orders: set[str] = set()
    for code in NODES:
        cases |= {  # seeded ones: another test here registers one more, later
            r[0]
            for r in await rows(
                engine, code, "SELECT id FROM {s}.cases WHERE idempotency_key LIKE 'seed-%'"
            )
        }
        reviews |= {
            r[0]
            for r in await rows(
                engine,
                code,
                "SELECT id FROM {s}.reviews WHERE status = 'OPEN' OR status = 'DECIDED'",
            )
        }
        orders |= {r[0] for r in await rows(engine, code, "SELECT id FROM {s}.supervision_orders")}
    chains = await rows(engine, PROVINCE, "SELECT case_id, root FROM {s}.trail_chains")
    assert {case_id for case_id, _ in chains} == cases
    assert all(case_id == root for case_id, root in chains)  # the seed routes nothing
    steps = await rows(
        engine,
        PROVINCE,
        "SELECT case_id, action, review_id, order_id, deadline_kind, "
        "deadline_met_at < deadline_due FROM {s}.trail_steps",
    )
    assert len(steps) == seeded["result"].trail_steps
    assert {s[0] for s in steps if s[1] == "REGISTERED"} == cases
    assert {s[2] for s in steps if s[1] == "REVIEW_REQUESTED"} <= reviews
    assert {s[2] for s in steps if s[2]} == reviews
    assert {s[3] for s in steps if s[1] == "SUPERVISION_ORDERED"} == orders
    held = [s[5] for s in steps if s[4] == "HANDLING"]
    assert held
    assert sum(held) / len(held) > 0.99  # on-time replies, as calibrated (domain.md §4)

"""Bulk loading writes exactly the rows the normal path (``write_planned`` through
``CaseWork``) writes for the same plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import CaseWork, FixedClock
from shared.holidays import default_calendar
from shared.lifecycle import Action
from shared.persistence.bulk import load_planned
from shared.persistence.repository import NodeDatabase
from shared.persistence.tables import case_counters, case_deadlines, case_events, cases, petitioners
from shared.privacy import IdCipher
from shared.seed import PlannedCase, plan_node, write_planned
from tests.conftest import COUNTY, SECRET, START, TEST_NODES, empty_nodes

pytestmark = pytest.mark.db


def plan() -> list[PlannedCase]:
    """Ordinary cases over two calendar years, plus the awkward ones: a case that reaches
    three-tier finality and a later petition on its matter (registered, not accepted), two
    repeat petitions (both name the first case), and petitions refused for bad input."""
    many = plan_node(COUNTY, 3000, now=START)
    final = next(
        p
        for p in many
        if any(a.action is Action.RECORD_FINAL_REVIEW_DECISION and a.at <= START for a in p.acts)
    )
    ordinary = many[:40]
    after_final = final.acts[-1].at + timedelta(days=1)
    return [
        *ordinary,
        final,
        replace(
            ordinary[3], registered_at=START - timedelta(days=2), idempotency_key="repeat-0001"
        ),
        replace(
            ordinary[3], registered_at=START - timedelta(days=1), idempotency_key="repeat-0002"
        ),
        replace(final, registered_at=after_final, idempotency_key="refused-0001", acts=()),
        replace(ordinary[5], idempotency_key="bad key!"),
        replace(
            ordinary[6],
            idempotency_key="outside-0001",
            petition=replace(ordinary[6].petition, issue_locality_code="110105"),
        ),
    ]


async def node_rows(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    tables = {
        "cases": select(cases).order_by(cases.c.id),
        "petitioners": select(petitioners).order_by(petitioners.c.case_id),
        "case_events": select(*(c for c in case_events.c if c.name != "recorded_at")).order_by(
            case_events.c.case_id, case_events.c.seq
        ),
        "case_deadlines": select(case_deadlines).order_by(
            case_deadlines.c.case_id, case_deadlines.c.kind
        ),
        "case_counters": select(case_counters).order_by(case_counters.c.year),
    }
    found: dict[str, list[dict[str, Any]]] = {}
    async with NodeDatabase(engine, COUNTY).connect() as conn:
        for name, statement in tables.items():
            found[name] = [dict(row._mapping) for row in await conn.execute(statement)]
    cipher = IdCipher.from_env()
    for row in found["petitioners"]:  # sealed with a fresh nonce each time: compare opened
        if row["id_number"] is not None:
            assert cipher.is_sealed(row["id_number"])
            row["id_number"] = cipher.open(row["id_number"])
    return found


async def test_bulk_rows_equal_casework_rows(clean_engine: AsyncEngine) -> None:
    planned = plan()
    calendar = default_calendar()
    clock = FixedClock(START)
    work = CaseWork(
        NodeDatabase(clean_engine, COUNTY), calendar=calendar, clock=clock, person_key_secret=SECRET
    )
    await write_planned(work, clock, planned, now=START)
    expected = await node_rows(clean_engine)

    assert len(expected["cases"]) == len(planned) - 2  # bad key, outside
    assert {c["id"][7:11] for c in expected["cases"]} == {"2024", "2025"}
    assert sum(1 for c in expected["cases"] if c["repeat_of"]) == 3  # and the refused one
    [refused] = [c for c in expected["cases"] if c["refusal_code"]]
    assert (refused["status"], refused["refusal_code"]) == ("NOT_ACCEPTED", "NO_REACCEPTANCE")
    assert any(c["final"] for c in expected["cases"])

    for batch in (10_000, 7):  # one COPY per table, and many batches (ids run across them)
        await empty_nodes(clean_engine, TEST_NODES)
        written = await load_planned(
            clean_engine,
            COUNTY,
            planned,
            now=START,
            calendar=calendar,
            person_key_secret=SECRET,
            batch=batch,
        )
        loaded = await node_rows(clean_engine)
        assert written == len(expected["cases"])
        for table, rows in expected.items():
            assert loaded[table] == rows, (batch, table)


async def test_bulk_refuses_a_node_with_cases(clean_engine: AsyncEngine) -> None:
    planned = plan_node(COUNTY, 3, now=START)
    options: dict[str, Any] = {
        "now": START,
        "calendar": default_calendar(),
        "person_key_secret": SECRET,
    }
    await load_planned(clean_engine, COUNTY, planned, **options)
    with pytest.raises(ValueError, match="already has 3 cases"):
        await load_planned(clean_engine, COUNTY, planned, **options)

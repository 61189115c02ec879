"""Concurrent requests on one node: conflicting acts on a case are serialised by the row lock,
idempotent registration writes once, and case numbers stay gap-free."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from shared.holidays import default_calendar
from shared.lifecycle import replay
from shared.persistence import repository
from shared.persistence.migrate import schema_for
from shared.persistence.repository import NodeDatabase
from tests.conftest import COUNTY, GraphQLClient
from tests.county.helpers import (
    PERSON_B,
    PERSON_C,
    REGISTER,
    act,
    act_ok,
    new_key,
    petition,
    register,
    row_counts,
)

ROUNDS = 20

# Pairs of acts that cannot both happen to a registered case.
CONFLICTS: list[tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = [
    (("acceptCase", {}), ("notAcceptCase", {"reason": "不属受理范围"})),
    (("acceptCase", {}), ("acceptCase", {})),
    (("transferCase", {"to": "530102001", "reason": "属地转送"}), ("acceptCase", {})),
    (
        ("redirectCase", {"legalChannel": "ARBITRATION", "reason": "劳动仲裁"}),
        ("assignCase", {"to": "530102001", "due": "2025-03-20"}),
    ),
]


async def assert_log_replays_to_the_stored_state(engine: AsyncEngine, case_id: str) -> int:
    """The event log is the truth: folding it gives the cached row; returns the log length."""
    db = NodeDatabase(engine, COUNTY)
    async with db.connect() as conn:
        events = (await repository.load_events(conn, [case_id]))[case_id]
        stored = await repository.load_state(conn, case_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert stored is not None
    assert replay(events, default_calendar()) == stored
    return len(events)


async def counter(engine: AsyncEngine) -> int | None:
    async with engine.connect() as conn:
        value = (
            await conn.execute(
                text(f'SELECT last_seq FROM "{schema_for(COUNTY)}".case_counters WHERE year = 2025')
            )
        ).scalar_one_or_none()
    return int(value) if value is not None else None


class LockWatch:
    """Wraps ``lock_case_state`` to see whether two writers really wait on one row."""

    def __init__(self) -> None:
        self.waiting = 0
        self.contended = 0
        self.original = repository.lock_case_state

    async def __call__(self, conn: Any, case_id: str) -> Any:
        self.waiting += 1
        if self.waiting > 1:
            self.contended += 1
        try:
            return await self.original(conn, case_id)
        finally:
            self.waiting -= 1


async def test_of_two_conflicting_acts_on_one_case_exactly_one_wins(
    gql: GraphQLClient, clean_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch = LockWatch()
    monkeypatch.setattr(repository, "lock_case_state", watch)
    for round_ in range(ROUNDS):
        (first, first_args), (second, second_args) = CONFLICTS[round_ % len(CONFLICTS)]
        case_id = (await register(gql, petitionerIdNumber=None))["id"]
        results = await asyncio.gather(
            act(gql, first, case_id, **first_args), act(gql, second, case_id, **second_args)
        )
        won = [r for r in results if not r.get("errors")]
        lost = [r for r in results if r.get("errors")]
        assert len(won) == 1, results
        assert len(lost) == 1, results
        assert lost[0]["errors"][0]["extensions"]["code"] == "INVALID_TRANSITION", lost
        winner = next(iter(won[0]["data"].values()))
        events = winner["events"]
        assert [e["seq"] for e in events] == [1, 2]
        assert events[1]["toStatus"] == winner["status"]
        assert await assert_log_replays_to_the_stored_state(clean_engine, case_id) == 2
    counts = await row_counts(clean_engine)
    assert counts["cases"] == ROUNDS
    assert counts["case_events"] == 2 * ROUNDS
    # The requests really overlapped: in most rounds the second writer queued on the row lock.
    assert watch.contended >= ROUNDS // 2


async def test_two_concurrent_extensions_extend_the_handling_period_once(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    case_id = (await register(gql))["id"]
    await act_ok(gql, "acceptCase", case_id)
    results = await asyncio.gather(
        act(gql, "extendHandling", case_id, days=30, reason="第一次延期"),
        act(gql, "extendHandling", case_id, days=10, reason="第二次延期"),
    )
    codes = sorted(
        r["errors"][0]["extensions"]["code"] if r.get("errors") else "OK" for r in results
    )
    assert codes == ["INVALID_TRANSITION", "OK"]
    assert await assert_log_replays_to_the_stored_state(clean_engine, case_id) == 3


async def test_ten_concurrent_registrations_with_one_key_create_one_case(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    variables = {"input": petition(), "key": "same-key-for-all-ten"}
    results = await asyncio.gather(*(gql(REGISTER, variables) for _ in range(10)))
    assert all(not r.get("errors") for r in results), [r.get("errors") for r in results]
    ids = {r["data"]["registerPetition"]["id"] for r in results}
    assert ids == {"530102-2025-000001"}
    assert await row_counts(clean_engine) == {
        "cases": 1,
        "petitioners": 1,
        "case_events": 1,
        "case_deadlines": 1,
        "case_counters": 1,
    }
    assert await counter(clean_engine) == 1  # the losers' numbers were rolled back
    assert await assert_log_replays_to_the_stored_state(clean_engine, "530102-2025-000001") == 1
    # The next registration takes the next number: no gap was left by the race.
    assert (await register(gql, petitionerIdNumber=PERSON_B))["id"] == "530102-2025-000002"


async def test_concurrent_registrations_racing_on_one_key_with_different_content(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    key = "contested-key-0001"
    contents = [petition(), petition(petitionerIdNumber=PERSON_C, summary="另一件事")]
    results = await asyncio.gather(
        *(gql(REGISTER, {"input": contents[n % 2], "key": key}) for n in range(8))
    )
    assert (await row_counts(clean_engine))["cases"] == 1
    winners = {n % 2 for n, r in enumerate(results) if not r.get("errors")}
    assert len(winners) == 1  # every request with the winning content got the case ...
    (winner,) = winners
    for n, result in enumerate(results):
        if n % 2 == winner:
            assert result["data"]["registerPetition"]["id"] == "530102-2025-000001"
        else:  # ... and every other one was told the key is taken
            assert result["errors"][0]["extensions"]["code"] == "DUPLICATE"
            assert result["errors"][0]["extensions"]["field"] == "idempotencyKey"


@pytest.mark.parametrize("count", [20])
async def test_concurrent_registrations_get_distinct_gap_free_numbers(
    count: int, gql: GraphQLClient, clean_engine: AsyncEngine, clock: FixedClock
) -> None:
    results = await asyncio.gather(
        *(
            gql(REGISTER, {"input": petition(petitionerIdNumber=None), "key": new_key()})
            for _ in range(count)
        )
    )
    assert all(not r.get("errors") for r in results), [r.get("errors") for r in results]
    ids = sorted(r["data"]["registerPetition"]["id"] for r in results)
    assert ids == [f"530102-2025-{n:06d}" for n in range(1, count + 1)]
    assert await counter(clean_engine) == count
    counts = await row_counts(clean_engine)
    assert counts["cases"] == counts["petitioners"] == counts["case_events"] == count

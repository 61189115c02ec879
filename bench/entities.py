"""``_entities`` latency: the gateway's batched lookup of many cases by key, on a node whose
tables hold many cases (bulk-loaded once, reused by later runs)."""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.database import case_count
from bench.registration import check
from bench.server import StatementCounter
from bench.timing import Summary
from shared.holidays import HolidayCalendar
from shared.persistence.bulk import load_planned, paused_gc
from shared.persistence.migrate import reset_node, schema_for
from shared.seed import plan_node

ENTITIES = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on Case { id status category registeredAt deadlines { kind due } events { action at } }
  }
}
"""


@dataclass(frozen=True)
class Load:
    cases: int  # in the node now
    seconds: float | None  # time to plan and load; None when an earlier load was reused


@dataclass(frozen=True)
class EntitiesResult:
    references: int
    latency: Summary
    response_bytes: float  # mean over the timed requests
    statements: tuple[int, ...]  # SQL statements of each timed request


async def prepare(
    engine: AsyncEngine,
    code: str,
    cases: int,
    *,
    calendar: HolidayCalendar,
    person_key_secret: bytes,
    seed: int,
) -> Load:
    """Make node ``code`` hold at least ``cases`` cases, bulk-loading them when it holds fewer
    (a partial or smaller earlier load is dropped first)."""
    have = await case_count(engine, code)
    if have >= cases:
        return Load(have, None)
    started = time.perf_counter()
    if have:
        await reset_node(engine, code)
    now = datetime.now(UTC)
    with paused_gc():
        planned = plan_node(code, cases, now=now, seed=seed)
    written = await load_planned(
        engine, code, planned, now=now, calendar=calendar, person_key_secret=person_key_secret
    )
    return Load(written, time.perf_counter() - started)


async def case_ids(engine: AsyncEngine, code: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f'SELECT id FROM "{schema_for(code)}".cases'))
        return [row.id for row in rows]


async def measure(
    client: httpx.AsyncClient,
    code: str,
    ids: list[str],
    counter: StatementCounter,
    *,
    references: int,
    repeats: int,
    warmups: int,
    seed: int,
) -> EntitiesResult:
    """POST ``_entities`` with ``references`` random ids (a new sample each time), ``warmups``
    untimed then ``repeats`` timed, one after another."""
    rng = random.Random(f"bench-entities:{seed}")
    url = f"/nodes/{code}/graphql"
    latencies: list[float] = []
    sizes: list[int] = []
    statements: list[int] = []
    for n in range(warmups + repeats):
        sample = rng.sample(ids, min(references, len(ids)))
        body = {
            "query": ENTITIES,
            "variables": {"r": [{"__typename": "Case", "id": i} for i in sample]},
        }
        before = counter.count
        started = time.perf_counter()
        response = await client.post(url, json=body)
        elapsed = time.perf_counter() - started
        ran = counter.count - before
        found = check(response)["_entities"]
        if len(found) != len(sample) or any(e is None or not e["events"] for e in found):
            raise RuntimeError("_entities did not return every case with its events")
        if n >= warmups:
            latencies.append(elapsed)
            sizes.append(len(response.content))
            statements.append(ran)
    return EntitiesResult(
        references=min(references, len(ids)),
        latency=Summary.of(latencies),
        response_bytes=statistics.fmean(sizes),
        statements=tuple(statements),
    )

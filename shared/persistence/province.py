"""Demo data for many nodes at once (up to a whole province and a million cases), by the bulk
path: each node's cases planned (shared.seed) and loaded with COPY (shared.persistence.bulk),
then the records the message flows leave at other nodes (shared.persistence.cross_records).
Only nodes that have no cases yet take part; each node is written as its own role.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO, cast

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.holidays import HolidayCalendar
from shared.matters import province_of
from shared.persistence.bulk import copy_rows, load_planned
from shared.persistence.cross_records import CrossRecords
from shared.persistence.migrate import schema_for
from shared.persistence.repository import NodeDatabase
from shared.seed import plan_node


class Progress:
    """A one-line progress bar on stderr: cases written, rate, time left."""

    def __init__(self, total: int, stream: TextIO | None = None, every: float = 0.5) -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.started = time.perf_counter()
        self._shown = 0.0

    def line(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        share = self.done / self.total if self.total else 1.0
        bar = "#" * int(share * 30)
        return (
            f"seeding [{bar:<30}] {self.done:,}/{self.total:,} cases "
            f"{rate:,.0f}/s ETA {int(left // 60)}m{int(left % 60):02d}s"
        )

    def advance(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self._shown >= self.every or self.done >= self.total:
            self._shown = now
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def close(self, note: str = "") -> None:
        self.stream.write("\r" + self.line() + (f" {note}" if note else "") + "\n")
        self.stream.flush()


@dataclass(frozen=True)
class Seeded:
    nodes: int  # nodes that took cases (those empty before)
    cases: int
    reviews: int
    orders: int
    notices: int = 0  # MATTER_NOTICE messages to the province's index
    trail_steps: int = 0  # steps written to the province's trail index


async def _is_empty(engine: AsyncEngine, code: str) -> bool:
    async with NodeDatabase(engine, code).connect() as conn:
        statement = text(f'SELECT NOT EXISTS (SELECT 1 FROM "{schema_for(code)}".cases)')
        return bool((await conn.execute(statement)).scalar_one())


async def empty_nodes(engine: AsyncEngine, codes: Sequence[str]) -> list[str]:
    """The nodes without cases. One catalog query (the login role may not read the tables):
    a cases table of zero bytes has no rows; the others are asked, as their node."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT n.nspname, pg_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = 'cases' AND n.nspname = ANY(:schemas)"
            ),
            {"schemas": [schema_for(code) for code in codes]},
        )
        sizes = {str(schema): int(size) for schema, size in result}
    return [
        code
        for code in codes
        if sizes.get(schema_for(code)) == 0 or (code in sizes and await _is_empty(engine, code))
    ]


async def seed_nodes_bulk(
    engine: AsyncEngine,
    counts: Mapping[str, int],
    *,
    now: datetime,
    calendar: HolidayCalendar,
    person_key_secret: bytes,
    seed: int = 0,
    progress: Progress | None = None,
) -> Seeded:
    """``counts[code]`` planned cases for each node that has none yet, with the records they
    leave at other seeded nodes."""
    empty = await empty_nodes(engine, list(counts))
    peers = set(empty)
    # The matter index of a province among the nodes (migrated, seeded now or before) hears of
    # every seeded case as its notices would have told it.
    indexes = {code for code in counts if province_of(code) == code}
    cross = CrossRecords(peers, now=now, calendar=calendar, seed=seed, indexes=indexes)
    written = 0
    advance = progress.advance if progress is not None else None
    for code in empty:
        planned = plan_node(code, counts[code], now=now, seed=seed, peers=peers)
        written += await load_planned(
            engine,
            code,
            planned,
            now=now,
            calendar=calendar,
            person_key_secret=person_key_secret,
            cross=cross,
            on_batch=advance,
        )
    for node, rows in cross.finish().items():
        async with NodeDatabase(engine, node).begin() as conn:
            await conn.execute(text("SELECT 1"))  # opens the transaction the COPYs join
            raw = await conn.get_raw_connection()
            await copy_rows(cast(asyncpg.Connection, raw.driver_connection), schema_for(node), rows)
    return Seeded(
        len(empty), written, cross.reviews, cross.orders, cross.notices, cross.trails.steps
    )

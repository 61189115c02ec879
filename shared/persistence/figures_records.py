"""The subtree figures a node keeps (docs/adr/0013): its own subtree's per day, as last
computed, and each child's as last reported here. Reads for the GraphQL fields are one
statement each over these tables, however many nodes the subtree has."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.figures import (
    FIGURE_COUNTS,
    REPLY_DAYS_SUM,
    DayCounts,
    Figures,
    SubtreeReport,
    zero_counts,
)
from shared.persistence.tables import (
    figures_children,
    figures_children_categories,
    figures_children_flows,
    figures_reports,
    figures_senders,
    figures_subtree,
    figures_subtree_categories,
    figures_subtree_flows,
)

FLOW_KEY = ("kind", "from_tier", "to_tier")


def _in_period(table: Table, day_from: date | None, day_to: date | None) -> list[Any]:
    conditions = []
    if day_from is not None:
        conditions.append(table.c.day >= day_from)
    if day_to is not None:
        conditions.append(table.c.day <= day_to)
    return conditions


def _typed(counts: DayCounts) -> dict[str, float | int]:
    """Column values: whole counts as integers (bigint columns), the sum of days as a float."""
    return {n: float(counts[n]) if n == REPLY_DAYS_SUM else int(counts[n]) for n in FIGURE_COUNTS}


# -- this node's subtree figures --------------------------------------------------------------


async def load_subtree(conn: AsyncConnection) -> Figures:
    figures = Figures()
    for row in await conn.execute(select(figures_subtree)):
        values = row._mapping
        figures.days[row.day] = {n: float(values[n]) for n in FIGURE_COUNTS}
    for day, category, n in await conn.execute(select(figures_subtree_categories)):
        figures.categories[(day, category)] = int(n)
    for row in await conn.execute(select(figures_subtree_flows)):
        figures.flows[(row.day, row.kind, row.from_tier, row.to_tier)] = int(row._mapping["count"])
    return figures


async def store_subtree_changes(conn: AsyncConnection, changes: Figures) -> None:
    """Write the changed entries; an entry changed to zero is deleted (a missing one is zero).

    Here and in ``store_child_report`` many rows go as one executemany of a cached statement,
    not a multi-row VALUES: SQLAlchemy compiles a VALUES list anew for every length (converging
    the province's figures spent most of its Python time there)."""
    zero_days = [d for d, c in changes.days.items() if not any(c.values())]
    if zero_days:
        await conn.execute(delete(figures_subtree).where(figures_subtree.c.day.in_(zero_days)))
    rows = [{"day": d, **_typed(c)} for d, c in changes.days.items() if any(c.values())]
    if rows:
        statement = pg_insert(figures_subtree)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[figures_subtree.c.day],
                set_={n: statement.excluded[n] for n in FIGURE_COUNTS},
            ),
            rows,
        )
    table = figures_subtree_categories
    if changes.categories:
        keys = list(changes.categories)
        await conn.execute(delete(table).where(tuple_(table.c.day, table.c.category).in_(keys)))
    category_rows = [
        {"day": d, "category": c, "cases": n} for (d, c), n in changes.categories.items() if n
    ]
    if category_rows:
        await conn.execute(pg_insert(table), category_rows)
    flows = figures_subtree_flows
    if changes.flows:
        flow_keys = tuple_(flows.c.day, *(flows.c[k] for k in FLOW_KEY))
        await conn.execute(delete(flows).where(flow_keys.in_(list(changes.flows))))
    flow_rows = [
        {"day": d, "kind": k, "from_tier": f, "to_tier": t, "count": n}
        for (d, k, f, t), n in changes.flows.items()
        if n
    ]
    if flow_rows:
        await conn.execute(pg_insert(flows), flow_rows)


@dataclass(frozen=True)
class ReportState:
    version: int  # of the last report sent up (0: none yet)
    as_of: datetime  # the oldest contribution to the subtree figures
    computed_at: datetime


async def report_state(conn: AsyncConnection, *, lock: bool = False) -> ReportState | None:
    statement = select(figures_reports).where(figures_reports.c.id == 1)
    if lock:
        statement = statement.with_for_update()
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    return ReportState(version=row.version, as_of=row.as_of, computed_at=row.computed_at)


async def save_report_state(conn: AsyncConnection, state: ReportState) -> None:
    statement = pg_insert(figures_reports).values(
        id=1, version=state.version, as_of=state.as_of, computed_at=state.computed_at
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[figures_reports.c.id],
            set_={
                "version": statement.excluded.version,
                "as_of": statement.excluded.as_of,
                "computed_at": statement.excluded.computed_at,
            },
        )
    )


# -- the children's reports -------------------------------------------------------------------


async def store_child_report(
    conn: AsyncConnection,
    child: str,
    report: SubtreeReport,
    *,
    reported_at: datetime,
    message_id: str,
) -> None:
    """Keep the report's entries, each replacing the stored one only if the report is newer
    (a late older report never overwrites a newer one)."""
    version = report.version
    figures = report.figures
    if figures.days:
        statement = pg_insert(figures_children)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[figures_children.c.child, figures_children.c.day],
                set_={n: statement.excluded[n] for n in (*FIGURE_COUNTS, "version")},
                where=figures_children.c.version < statement.excluded.version,
            ),
            [
                {"child": child, "day": d, **_typed(c), "version": version}
                for d, c in figures.days.items()
            ],
        )
    if figures.categories:
        table = figures_children_categories
        statement = pg_insert(table)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.child, table.c.day, table.c.category],
                set_={"cases": statement.excluded.cases, "version": statement.excluded.version},
                where=table.c.version < statement.excluded.version,
            ),
            [
                {"child": child, "day": d, "category": c, "cases": n, "version": version}
                for (d, c), n in figures.categories.items()
            ],
        )
    if figures.flows:
        flows = figures_children_flows
        statement = pg_insert(flows)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[flows.c.child, flows.c.day, *(flows.c[k] for k in FLOW_KEY)],
                set_={"count": statement.excluded["count"], "version": statement.excluded.version},
                where=flows.c.version < statement.excluded.version,
            ),
            [
                {
                    "child": child,
                    "day": d,
                    "kind": k,
                    "from_tier": f,
                    "to_tier": t,
                    "count": n,
                    "version": version,
                }
                for (d, k, f, t), n in figures.flows.items()
            ],
        )
    statement = pg_insert(figures_senders).values(
        child=child,
        version=version,
        as_of=report.as_of,
        reported_at=reported_at,
        message_id=message_id,
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[figures_senders.c.child],
            set_={
                "version": statement.excluded.version,
                "as_of": statement.excluded.as_of,
                "reported_at": statement.excluded.reported_at,
                "message_id": statement.excluded.message_id,
            },
            where=figures_senders.c.version < statement.excluded.version,
        )
    )


async def children_figures(conn: AsyncConnection) -> Figures:
    """The sum of every child's latest report, per day (and key)."""
    figures = Figures()
    day = figures_children.c.day
    statement = select(
        day, *(func.sum(figures_children.c[n]).label(n) for n in FIGURE_COUNTS)
    ).group_by(day)
    for row in await conn.execute(statement):
        values = row._mapping
        figures.days[row.day] = {n: float(values[n]) for n in FIGURE_COUNTS}
    table = figures_children_categories
    for d, category, n in await conn.execute(
        select(table.c.day, table.c.category, func.sum(table.c.cases)).group_by(
            table.c.day, table.c.category
        )
    ):
        figures.categories[(d, category)] = int(n)
    flows = figures_children_flows
    keys = (flows.c.day, *(flows.c[k] for k in FLOW_KEY))
    for row in await conn.execute(select(*keys, func.sum(flows.c["count"])).group_by(*keys)):
        figures.flows[(row[0], row[1], row[2], row[3])] = int(row[4])
    return figures.without_zeros()


@dataclass(frozen=True)
class Sender:
    child: str
    version: int
    as_of: datetime
    reported_at: datetime


async def senders(conn: AsyncConnection) -> dict[str, Sender]:
    rows = await conn.execute(select(figures_senders))
    return {row.child: Sender(row.child, row.version, row.as_of, row.reported_at) for row in rows}


# -- reads for the GraphQL fields ---------------------------------------------------------------


def _counts(row: Any) -> DayCounts:
    values = row._mapping
    counts = zero_counts()
    for n in FIGURE_COUNTS:
        if values[n] is not None:
            counts[n] = float(values[n])
    return counts


async def subtree_counts(
    conn: AsyncConnection, day_from: date | None, day_to: date | None
) -> DayCounts:
    statement = select(*(func.sum(figures_subtree.c[n]).label(n) for n in FIGURE_COUNTS)).where(
        *_in_period(figures_subtree, day_from, day_to)
    )
    return _counts((await conn.execute(statement)).one())


async def child_counts(
    conn: AsyncConnection, day_from: date | None, day_to: date | None
) -> dict[str, DayCounts]:
    child = figures_children.c.child
    statement = (
        select(child, *(func.sum(figures_children.c[n]).label(n) for n in FIGURE_COUNTS))
        .where(*_in_period(figures_children, day_from, day_to))
        .group_by(child)
    )
    return {row.child: _counts(row) for row in await conn.execute(statement)}


async def subtree_flows(
    conn: AsyncConnection, day_from: date | None, day_to: date | None
) -> list[tuple[str, str, str, int]]:
    flows = figures_subtree_flows
    keys = [flows.c[k] for k in FLOW_KEY]
    statement = (
        select(*keys, func.sum(flows.c["count"]).label("n"))
        .where(*_in_period(flows, day_from, day_to))
        .group_by(*keys)
        .order_by(func.sum(flows.c["count"]).desc(), *keys)
    )
    return [(row[0], row[1], row[2], int(row[3])) for row in await conn.execute(statement)]


async def top_categories(
    conn: AsyncConnection, day_from: date | None, day_to: date | None, first: int
) -> list[tuple[str, int]]:
    table = figures_subtree_categories
    total = func.sum(table.c.cases)
    statement = (
        select(table.c.category, total)
        .where(*_in_period(table, day_from, day_to))
        .group_by(table.c.category)
        .having(total > 0)
        .order_by(total.desc(), table.c.category)
        .limit(first)
    )
    return [(str(c), int(n)) for c, n in await conn.execute(statement)]


async def reported_children(conn: AsyncConnection, codes: Sequence[str]) -> set[str]:
    rows = await conn.execute(
        select(figures_senders.c.child).where(figures_senders.c.child.in_(list(codes)))
    )
    return {str(r) for r in rows.scalars()}

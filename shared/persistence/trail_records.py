"""The province's trail index (docs/adr/0014), and a case's chain root at its owner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.persistence.tables import cases, trail_chains, trail_steps
from shared.trail import MetDeadline, Step, TrailAction, TrailRole

STEP_COLUMNS = (
    "step_key",
    "case_id",
    "root",
    "node",
    "action",
    "role",
    "at",
    "review_id",
    "order_id",
    "deadline_kind",
    "deadline_due",
    "deadline_met_at",
    "note",
    "message_id",
    "recorded_at",
)
CHAIN_COLUMNS = ("case_id", "root")


async def root_of(conn: AsyncConnection, case_id: str) -> str:
    """The chain a case of this node belongs to: its own id when the petition entered here."""
    root = (
        await conn.execute(select(cases.c.trail_root).where(cases.c.id == case_id))
    ).scalar_one_or_none()
    return str(root) if root else case_id


def step_row(step: Step, *, message_id: str | None, now: datetime) -> tuple[Any, ...]:
    """A step as a row of ``trail_steps``, in ``STEP_COLUMNS`` order (COPY and INSERT)."""
    d = step.deadline
    return (
        step.key,
        step.case_id,
        step.root,
        step.node,
        step.action.value,
        step.role.value,
        step.at,
        step.review_id,
        step.order_id,
        d.kind if d else None,
        d.due if d else None,
        d.met_at if d else None,
        step.note,
        message_id,
        now,
    )


async def record_step(
    conn: AsyncConnection, step: Step, *, message_id: str | None, now: datetime
) -> bool:
    """Write a step once (a second notice of the same step writes nothing); a step that names
    its chain also places its case in it. True when the step is new."""
    values = dict(zip(STEP_COLUMNS, step_row(step, message_id=message_id, now=now), strict=True))
    inserted = await conn.execute(
        pg_insert(trail_steps)
        .values(values)
        .on_conflict_do_nothing(index_elements=[trail_steps.c.step_key])
        .returning(trail_steps.c.step_key)
    )
    if step.root is not None:
        await conn.execute(
            pg_insert(trail_chains)
            .values(case_id=step.case_id, root=step.root)
            .on_conflict_do_nothing(index_elements=[trail_chains.c.case_id])
        )
    return inserted.first() is not None


async def chain_root(conn: AsyncConnection, case_id: str) -> str | None:
    """The root of the chain ``case_id`` belongs to; None when the index never heard of it."""
    root = (
        await conn.execute(select(trail_chains.c.root).where(trail_chains.c.case_id == case_id))
    ).scalar_one_or_none()
    if root is not None:
        return str(root)
    known = (
        await conn.execute(select(exists().where(trail_steps.c.case_id == case_id)))
    ).scalar_one()
    return case_id if known else None


async def chain_steps(conn: AsyncConnection, root: str, also: Sequence[str] = ()) -> list[Step]:
    """Every step of the chain, in time order (ties: in the order the index heard of them)."""
    members = select(trail_chains.c.case_id).where(trail_chains.c.root == root)
    rows = await conn.execute(
        select(trail_steps)
        .where(
            or_(
                trail_steps.c.case_id.in_(members),
                trail_steps.c.case_id.in_([root, *also]),
            )
        )
        .order_by(trail_steps.c.at, trail_steps.c.seq)
    )
    return [_step(row) for row in rows]


def _step(row: Any) -> Step:
    deadline = None
    if row.deadline_kind is not None:
        deadline = MetDeadline(row.deadline_kind, row.deadline_due, row.deadline_met_at)
    return Step(
        key=row.step_key,
        case_id=row.case_id,
        root=row.root,
        node=row.node,
        action=TrailAction(row.action),
        role=TrailRole(row.role),
        at=row.at,
        review_id=row.review_id,
        order_id=row.order_id,
        deadline=deadline,
        note=row.note,
    )

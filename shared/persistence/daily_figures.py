"""A node's own figures per day, counted from its own tables (docs/metrics.md, docs/adr/0013).

The same counts serve ``Jurisdiction.stats`` (summed over the period's days) and the subtree
figures a node reports up, so the two can never disagree. Every function takes a connection
mapped to the node's schema.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.deadlines import DeadlineKind, end_of_day
from shared.divisions import Tier, tier_of
from shared.figures import FIGURE_COUNTS, REPLY_DAYS_SUM, DayCounts, Figures, FlowKind
from shared.figures import stats_counts as counts_of
from shared.lifecycle import TERMINAL, Satisfaction
from shared.metrics import StatsCounts
from shared.persistence.links import LinkKind
from shared.persistence.repository import overdue_condition, start_of_day
from shared.persistence.tables import (
    case_deadlines,
    case_links,
    cases,
    hotline_tickets,
    reviews,
    skip_level_visits,
    supervision_orders,
    supervision_received,
)
from shared.reviews import ReviewLevel
from shared.supervision import OrderStatus

CHINA_ZONE = "Asia/Shanghai"  # no daylight saving since 1991: the same as shared.deadlines


def local_day(at: Any) -> ColumnElement[date]:
    """The China-time day of a timestamp column (docs/metrics.md's date basis)."""
    return func.date(func.timezone(CHINA_ZONE, at))


def _within(column: Any, day_from: date | None, day_to: date | None) -> list[Any]:
    conditions = []
    if day_from is not None:
        conditions.append(column >= start_of_day(day_from))
    if day_to is not None:
        conditions.append(column < end_of_day(day_to))
    return conditions


def _case_statement(now: datetime, day_from: date | None, day_to: date | None) -> Select[Any]:
    """The case counts of the period, one aggregate (group it by day for the daily figures)."""
    acceptance = case_deadlines.alias("acceptance")
    handling = case_deadlines.alias("handling")
    settled_acceptance = or_(acceptance.c.met_at.is_not(None), acceptance.c.due <= now)
    settled_handling = or_(handling.c.met_at.is_not(None), handling.c.due <= now)
    missed_handling = or_(
        handling.c.met_at >= handling.c.due,
        and_(handling.c.met_at.is_(None), handling.c.due <= now),
    )
    open_case = cases.c.status.not_in([s.value for s in TERMINAL])
    new = cases.c.received_from.is_(None)  # registered here, not received from another node
    first_reply_days = case(
        (
            and_(cases.c.repeat_of.is_(None), handling.c.met_at.is_not(None)),
            func.extract("epoch", handling.c.met_at - cases.c.registered_at) / 86400.0,
        ),
    )

    def count_if(condition: Any) -> Any:
        return func.count().filter(condition)

    return (
        select(
            count_if(new).label("event_count"),
            func.coalesce(func.sum(cases.c.person_count).filter(new), 0).label("person_count"),
            count_if(~new).label("received_count"),
            count_if(settled_acceptance).label("acceptance_due"),
            count_if(acceptance.c.met_at < acceptance.c.due).label("acceptance_on_time"),
            count_if(settled_handling).label("reply_due"),
            count_if(handling.c.met_at < handling.c.due).label("reply_on_time"),
            count_if(cases.c.rating.is_not(None)).label("rated"),
            count_if(
                cases.c.rating.in_(
                    [Satisfaction.SATISFIED.value, Satisfaction.BASICALLY_SATISFIED.value]
                )
            ).label("satisfied"),
            count_if(and_(open_case, handling.c.met_at.is_(None), handling.c.due <= now)).label(
                "backlog"
            ),
            count_if(missed_handling).label("backlog_ledger"),
            count_if(and_(missed_handling, handling.c.met_at.is_not(None))).label(
                "backlog_resolved"
            ),
            count_if(overdue_condition(now)).label("overdue"),
            count_if(cases.c.skip_level.is_(True)).label("skip_level_visits_received"),
            count_if(and_(new, cases.c.repeat_of.is_not(None))).label("repeat_petitions"),
            func.count(first_reply_days).label("first_petition_replies"),
            func.coalesce(func.sum(first_reply_days), 0.0).label(REPLY_DAYS_SUM),
        )
        .select_from(
            cases.outerjoin(
                acceptance,
                and_(
                    acceptance.c.case_id == cases.c.id,
                    acceptance.c.kind == DeadlineKind.ACCEPTANCE.value,
                ),
            ).outerjoin(
                handling,
                and_(
                    handling.c.case_id == cases.c.id,
                    handling.c.kind == DeadlineKind.HANDLING.value,
                ),
            )
        )
        .where(*_within(cases.c.registered_at, day_from, day_to))
    )


def _values(row: Any) -> DayCounts:
    values = row._mapping
    return {name: float(values[name]) for name in FIGURE_COUNTS if name in values}


async def _case_days(
    conn: AsyncConnection, now: datetime, day_from: date | None, day_to: date | None
) -> dict[date, DayCounts]:
    day = local_day(cases.c.registered_at).label("day")
    statement = _case_statement(now, day_from, day_to).add_columns(day).group_by(day)
    return {row.day: _values(row) for row in await conn.execute(statement)}


async def _other_days(
    conn: AsyncConnection, now: datetime, day_from: date | None, day_to: date | None
) -> list[tuple[date, str, int]]:
    """Counts dated by their own act: skip-level visits about this territory (by the day of
    the visit), supervision orders received (by the day issued), 12345 tickets not converted
    (by the day received) and petitions converted from tickets (by the day registered, the
    day ``event_count`` counts them)."""
    visit_day = local_day(skip_level_visits.c.at).label("day")
    visits = (
        select(visit_day, func.count())
        .where(*_within(skip_level_visits.c.at, day_from, day_to))
        .group_by(visit_day)
    )
    rows: list[tuple[date, str, int]] = [
        (d, "skip_level_visits", int(n)) for d, n in await conn.execute(visits)
    ]
    order_day = local_day(supervision_received.c.issued_at).label("day")
    open_order = supervision_received.c.status == OrderStatus.ISSUED.value
    orders = (
        select(
            order_day,
            func.count().filter(open_order),
            func.count().filter(and_(open_order, supervision_received.c.due <= now)),
        )
        .where(*_within(supervision_received.c.issued_at, day_from, day_to))
        .group_by(order_day)
    )
    for d, open_count, overdue_count in await conn.execute(orders):
        rows.append((d, "supervision_orders_open", int(open_count)))
        rows.append((d, "supervision_orders_overdue", int(overdue_count)))
    ticket_day = local_day(hotline_tickets.c.received_at).label("day")
    tickets = (
        select(ticket_day, func.count())
        .where(
            hotline_tickets.c.case_id.is_(None),
            *_within(hotline_tickets.c.received_at, day_from, day_to),
        )
        .group_by(ticket_day)
    )
    rows.extend((d, "hotline_tickets", int(n)) for d, n in await conn.execute(tickets))
    converted_day = local_day(cases.c.registered_at).label("day")
    converted = (
        select(converted_day, func.count())
        .select_from(hotline_tickets.join(cases, cases.c.id == hotline_tickets.c.case_id))
        .where(*_within(cases.c.registered_at, day_from, day_to))
        .group_by(converted_day)
    )
    rows.extend((d, "hotline_converted", int(n)) for d, n in await conn.execute(converted))
    return rows


async def own_days(
    conn: AsyncConnection,
    now: datetime,
    *,
    day_from: date | None = None,
    day_to: date | None = None,
) -> dict[date, DayCounts]:
    """This node's own additive counts per day (days with nothing are left out)."""
    days = await _case_days(conn, now, day_from, day_to)
    for day, name, n in await _other_days(conn, now, day_from, day_to):
        if n:
            days.setdefault(day, dict.fromkeys(FIGURE_COUNTS, 0.0))[name] = float(n)
    for counts in days.values():
        for name in FIGURE_COUNTS:
            counts.setdefault(name, 0.0)
    return {d: c for d, c in days.items() if any(c.values())}


async def node_stats(
    conn: AsyncConnection,
    *,
    registered_from: date | None,
    registered_to: date | None,
    now: datetime,
) -> StatsCounts:
    """The node's own figures for the period (see docs/metrics.md): the same counts as its
    daily figures, summed over the period's days, in one statement."""
    open_order = supervision_received.c.status == OrderStatus.ISSUED.value
    orders = supervision_received.c
    visits = (
        select(func.count())
        .select_from(skip_level_visits)
        .where(*_within(skip_level_visits.c.at, registered_from, registered_to))
        .scalar_subquery()
    )
    opened = (
        select(func.count())
        .select_from(supervision_received)
        .where(open_order, *_within(orders.issued_at, registered_from, registered_to))
    )
    tickets = (
        select(func.count())
        .select_from(hotline_tickets)
        .where(
            hotline_tickets.c.case_id.is_(None),
            *_within(hotline_tickets.c.received_at, registered_from, registered_to),
        )
        .scalar_subquery()
    )
    converted = (
        select(func.count())
        .select_from(hotline_tickets.join(cases, cases.c.id == hotline_tickets.c.case_id))
        .where(*_within(cases.c.registered_at, registered_from, registered_to))
        .correlate(None)  # its own cases, not the outer statement's row
        .scalar_subquery()
    )
    statement = _case_statement(now, registered_from, registered_to).add_columns(
        visits.label("skip_level_visits"),
        opened.scalar_subquery().label("supervision_orders_open"),
        opened.where(orders.due <= now).scalar_subquery().label("supervision_orders_overdue"),
        tickets.label("hotline_tickets"),
        converted.label("hotline_converted"),
    )
    return counts_of(_values((await conn.execute(statement)).one()))


async def _categories(conn: AsyncConnection) -> dict[tuple[date, str], int]:
    day = local_day(cases.c.registered_at).label("day")
    statement = (
        select(day, cases.c.category, func.count())
        .where(cases.c.received_from.is_(None))
        .group_by(day, cases.c.category)
    )
    return {(d, str(category)): int(n) for d, category, n in await conn.execute(statement)}


def _tier(code: str) -> str:
    return tier_of(code).value


async def _flows(conn: AsyncConnection, here: Tier) -> dict[tuple[date, str, str, str], int]:
    """Acts of this node that move a matter between tiers, by the day of the act."""
    found: dict[tuple[date, str, str, str], int] = {}

    def count(day: date, kind: FlowKind, from_tier: str, to_tier: str, n: int) -> None:
        key = (day, kind.value, from_tier, to_tier)
        found[key] = found.get(key, 0) + n

    link_day = local_day(case_links.c.at).label("day")
    routed = {
        LinkKind.TRANSFERRED_TO.value: FlowKind.TRANSFER,
        LinkKind.ASSIGNED_TO.value: FlowKind.ASSIGNMENT,
    }
    for d, kind, remote, n in await conn.execute(
        select(link_day, case_links.c.kind, case_links.c.remote_node, func.count())
        .where(case_links.c.kind.in_(list(routed)))
        .group_by(link_day, case_links.c.kind, case_links.c.remote_node)
    ):
        count(d, routed[kind], here.value, _tier(remote), int(n))
    visit_day = local_day(cases.c.registered_at).label("day")
    for d, locality, n in await conn.execute(
        select(visit_day, cases.c.issue_locality_code, func.count())
        .where(cases.c.skip_level.is_(True))
        .group_by(visit_day, cases.c.issue_locality_code)
    ):
        count(d, FlowKind.SKIP_LEVEL_VISIT, _tier(locality), here.value, int(n))
    review_day = local_day(reviews.c.requested_at).label("day")
    levels = {
        ReviewLevel.REVIEW.value: FlowKind.REVIEW,
        ReviewLevel.FINAL_REVIEW.value: FlowKind.FINAL_REVIEW,
    }
    for d, level, node, n in await conn.execute(
        select(review_day, reviews.c.level, reviews.c.case_node, func.count()).group_by(
            review_day, reviews.c.level, reviews.c.case_node
        )
    ):
        count(d, levels[level], _tier(node), here.value, int(n))
    order_day = local_day(supervision_orders.c.issued_at).label("day")
    for d, node, n in await conn.execute(
        select(order_day, supervision_orders.c.case_node, func.count()).group_by(
            order_day, supervision_orders.c.case_node
        )
    ):
        count(d, FlowKind.SUPERVISION_ORDER, here.value, _tier(node), int(n))
    return found


async def own_figures(conn: AsyncConnection, code: str, now: datetime) -> Figures:
    """This node's own daily figures, every day, as of ``now``."""
    return Figures(
        days=await own_days(conn, now),
        categories=await _categories(conn),
        flows=await _flows(conn, tier_of(code)),
    )

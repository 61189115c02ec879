"""Statistics reports (Art. 41) and the province's assessment rankings (see docs/adr/0011).

No node reads another's tables. A node below the province files its own counts for a period
(the numerators and denominators behind the three rates and the backlog); the report travels
up as a message (outbox, relay, inbox: applied once however often it is delivered) and the
province keeps the newest report of each node per period. Rankings of cities and counties are
computed at the province by summing the counts reported across each unit's subtree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork
from shared.deadlines import local_date
from shared.divisions import Tier, division_tree, is_in_subtree
from shared.errors import DomainError, ErrorCode, bad_input
from shared.messaging.flows import Applier, send
from shared.messaging.messages import Message, MessageKind
from shared.metrics import Stats, StatsCounts, stats_from_counts
from shared.persistence import daily_figures
from shared.persistence import role_records as records

PROVINCE_CODE_LENGTH = 2
UNIT_CODE_LENGTH = {Tier.CITY: 4, Tier.COUNTY: 6}


class RankingMetric(StrEnum):
    TIMELY_ACCEPTANCE_RATE = "TIMELY_ACCEPTANCE_RATE"  # 及时受理率, higher ranks first
    ON_TIME_REPLY_RATE = "ON_TIME_REPLY_RATE"  # 按期答复率
    SATISFACTION_RATE = "SATISFACTION_RATE"  # 群众满意率
    BACKLOG = "BACKLOG"  # 积案, fewer ranks first


@dataclass(frozen=True)
class RankedUnit:
    rank: int
    code: str
    reporters: int  # nodes of the unit's subtree whose report is in
    stats: Stats


@dataclass(frozen=True)
class Ranking:
    tier: Tier
    metric: RankingMetric
    period_from: date
    period_to: date
    units: list[RankedUnit]
    not_reported: list[str]  # units of the tier with no report in their subtree


def _checked_period(period_from: date, period_to: date) -> None:
    if period_to < period_from:
        raise bad_input("a period ends on or after the day it starts", "period")
    if (period_to - period_from).days > 3660:
        raise bad_input("a period is at most ten years", "period")


async def file_report(work: CaseWork, period_from: date, period_to: date) -> str:
    """Count this node's figures for the period and send them to the province."""
    _checked_period(period_from, period_to)
    if len(work.code) == PROVINCE_CODE_LENGTH:
        raise DomainError(
            ErrorCode.WRONG_NODE, "the province receives statistics reports; it files none"
        )
    now = work.clock.now()
    if period_from > local_date(now):
        raise bad_input("a report covers days that have begun", "period")
    async with work.db.begin() as conn:
        counts = await daily_figures.node_stats(
            conn, registered_from=period_from, registered_to=period_to, now=now
        )
        message = await send(
            work,
            conn,
            work.code[:PROVINCE_CODE_LENGTH],
            MessageKind.STATISTICS_REPORT,
            {
                "periodFrom": period_from.isoformat(),
                "periodTo": period_to.isoformat(),
                "asOf": now.isoformat(),
                "counts": asdict(counts),
            },
        )
    work.committed()
    return message.id


async def _report_received(work: CaseWork, conn: AsyncConnection, message: Message) -> None:
    if len(work.code) != PROVINCE_CODE_LENGTH or not is_in_subtree(message.sender, work.code):
        raise DomainError(
            ErrorCode.WRONG_NODE, f"node {work.code} does not assess node {message.sender}"
        )
    payload = message.payload
    counts = StatsCounts(**payload["counts"])  # refuses a report with missing or extra counts
    await records.store_statistics_report(
        conn,
        reporter=message.sender,
        period_from=date.fromisoformat(str(payload["periodFrom"])),
        period_to=date.fromisoformat(str(payload["periodTo"])),
        counts=asdict(counts),
        as_of=datetime.fromisoformat(str(payload["asOf"])),
        received_at=work.clock.now(),
        message_id=message.id,
    )


def _summed(counts: list[StatsCounts]) -> StatsCounts:
    total = dict.fromkeys(StatsCounts.__dataclass_fields__, 0)
    days_weighted = 0.0
    for c in counts:
        for name in total:
            if name != "first_petition_reply_days":
                total[name] += getattr(c, name)
        days_weighted += c.first_petition_reply_days * c.first_petition_replies
    replies = total["first_petition_replies"]
    values: dict[str, int | float] = dict(total)
    values["first_petition_reply_days"] = days_weighted / replies if replies else 0.0
    return StatsCounts(**values)  # type: ignore[arg-type]


def _sort_key(metric: RankingMetric, unit: tuple[str, Stats]) -> tuple[int, float, str]:
    code, stats = unit
    if metric is RankingMetric.BACKLOG:
        return (0, float(stats.backlog), code)
    value = {
        RankingMetric.TIMELY_ACCEPTANCE_RATE: stats.timely_acceptance_rate,
        RankingMetric.ON_TIME_REPLY_RATE: stats.on_time_reply_rate,
        RankingMetric.SATISFACTION_RATE: stats.satisfaction_rate,
    }[metric]
    return (1, 0.0, code) if value is None else (0, -value, code)  # nothing due: ranked last


async def ranking(
    work: CaseWork, tier: Tier, metric: RankingMetric, period_from: date, period_to: date
) -> Ranking:
    if len(work.code) != PROVINCE_CODE_LENGTH:
        raise DomainError(ErrorCode.WRONG_NODE, "assessment rankings are the province's")
    if tier not in (Tier.CITY, Tier.COUNTY):
        raise bad_input("the province ranks cities or counties", "tier")
    _checked_period(period_from, period_to)
    async with work.db.connect() as conn:
        rows = await records.statistics_reports_for(conn, period_from, period_to)
    units = [d.code for d in division_tree().subtree(work.code) if d.tier is tier]
    known = set(units)
    by_unit: dict[str, list[StatsCounts]] = {}
    for row in rows:
        unit = str(row["reporter"])[: UNIT_CODE_LENGTH[tier]]
        if unit in known:
            by_unit.setdefault(unit, []).append(StatsCounts(**row["counts"]))
    now = work.clock.now()
    figures = [(unit, stats_from_counts(_summed(c), now)) for unit, c in by_unit.items()]
    figures.sort(key=lambda unit: _sort_key(metric, unit))
    return Ranking(
        tier=tier,
        metric=metric,
        period_from=period_from,
        period_to=period_to,
        units=[
            RankedUnit(rank=i + 1, code=code, reporters=len(by_unit[code]), stats=stats)
            for i, (code, stats) in enumerate(figures)
        ],
        not_reported=[unit for unit in units if unit not in by_unit],
    )


STATISTICS_APPLIERS: dict[MessageKind, Applier] = {
    MessageKind.STATISTICS_REPORT: _report_received,
}

"""The dashboard figures of domain.md §4, from counts (the SQL that counts is in persistence).

Date basis: a case counts in the period in which it was registered. A deadline counts towards a
rate once it is settled (met, or due and passed): open deadlines not yet due are not judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StatsCounts:
    event_count: int  # 件次: new petitions registered here (not matters received)
    person_count: int  # 人次, of those
    received_count: int  # matters transferred or assigned here by another node
    acceptance_due: int
    acceptance_on_time: int
    reply_due: int
    reply_on_time: int
    rated: int
    satisfied: int  # satisfied + basically satisfied
    backlog: int  # open cases past their handling deadline (积案)
    backlog_ledger: int  # cases whose handling deadline was missed
    backlog_resolved: int  # of those, replied since
    overdue: int  # open cases with any body-bound deadline passed
    skip_level_visits: int  # about this territory, made at higher nodes (by issue locality)
    skip_level_visits_received: int  # made here, skipping the levels below
    repeat_petitions: int
    first_petition_replies: int
    first_petition_reply_days: float  # average, registration to reply
    supervision_orders_open: int  # supervision orders received about cases here, not replied yet
    supervision_orders_overdue: int  # of those, past their reply date
    hotline_tickets: int = 0  # 12345 tickets received here, not converted: not in event_count
    hotline_converted: int = 0  # petitions converted from 12345 tickets: part of event_count


def rate(numerator: int, denominator: int) -> float | None:
    """A share in [0, 1], or None when nothing was due (not 100%, not 0%)."""
    if denominator == 0:
        return None
    return numerator / denominator


@dataclass(frozen=True)
class Stats:
    event_count: int
    person_count: int
    received_count: int
    timely_acceptance_rate: float | None  # 及时受理率
    on_time_reply_rate: float | None  # 按期答复率
    satisfaction_rate: float | None  # 群众满意率
    backlog: int
    backlog_resolution_rate: float | None
    overdue: int
    skip_level_visits: int
    skip_level_visits_received: int
    repeat_petitions: int
    repeat_petition_rate: float | None
    first_petition_reply_days: float | None
    supervision_orders_open: int
    supervision_orders_overdue: int
    hotline_tickets: int
    hotline_converted: int
    as_of: datetime


def stats_from_counts(counts: StatsCounts, as_of: datetime) -> Stats:
    return Stats(
        event_count=counts.event_count,
        person_count=counts.person_count,
        received_count=counts.received_count,
        timely_acceptance_rate=rate(counts.acceptance_on_time, counts.acceptance_due),
        on_time_reply_rate=rate(counts.reply_on_time, counts.reply_due),
        satisfaction_rate=rate(counts.satisfied, counts.rated),
        backlog=counts.backlog,
        backlog_resolution_rate=rate(counts.backlog_resolved, counts.backlog_ledger),
        overdue=counts.overdue,
        skip_level_visits=counts.skip_level_visits,
        skip_level_visits_received=counts.skip_level_visits_received,
        repeat_petitions=counts.repeat_petitions,
        repeat_petition_rate=rate(counts.repeat_petitions, counts.event_count),
        first_petition_reply_days=(
            counts.first_petition_reply_days if counts.first_petition_replies else None
        ),
        supervision_orders_open=counts.supervision_orders_open,
        supervision_orders_overdue=counts.supervision_orders_overdue,
        hotline_tickets=counts.hotline_tickets,
        hotline_converted=counts.hotline_converted,
        as_of=as_of,
    )

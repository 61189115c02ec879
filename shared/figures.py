"""Daily figures and the subtree figures reported up hop by hop (docs/adr/0013).

A node's figures are kept per day (China time): the additive counts behind ``Stats`` per
registration day (supervision orders by the day issued, skip-level visits by the day of the
visit), cases by category per registration day, and escalation flows per day of the act.
Everything here is a *count*, never a rate or an average, so a subtree's figures are the sum
of its nodes' figures and the rates are derived from the sums (a rate of rates would weight a
township with 3 cases like a county with 3,000).

A node's subtree figures are its own figures plus the latest report of each child. The report
carries only the entries that changed since the previous one, each as its full new value
(state, not an increment: applying a report twice, or a newer one over an older, is harmless).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from shared.metrics import StatsCounts

# The additive counts of one day, in the order of the figures tables' columns.
FIGURE_COUNTS: tuple[str, ...] = (
    "event_count",
    "person_count",
    "received_count",
    "acceptance_due",
    "acceptance_on_time",
    "reply_due",
    "reply_on_time",
    "rated",
    "satisfied",
    "backlog",
    "backlog_ledger",
    "backlog_resolved",
    "overdue",
    "skip_level_visits",
    "skip_level_visits_received",
    "repeat_petitions",
    "first_petition_replies",
    "first_petition_reply_days_sum",  # the SUM of the days, so that it adds up
    "supervision_orders_open",
    "supervision_orders_overdue",
    # 12345 hotline (docs/hotline.md): tickets received and not converted, by the day received
    # (never in event_count), and petitions converted from tickets, by the day registered (a
    # part of event_count, not an addition to it): each matter is counted once.
    "hotline_tickets",
    "hotline_converted",
)
HOTLINE_COUNTS = ("hotline_tickets", "hotline_converted")  # added by migration 0011
REPLY_DAYS_SUM = "first_petition_reply_days_sum"
DAYS_PRECISION = 6  # decimals kept of a sum of days: sums compare equal however they were added


class FlowKind(StrEnum):
    """An act that moves a matter between tiers, counted once, at the node that acts."""

    TRANSFER = "TRANSFER"  # 转送: at the sender, by the day sent
    ASSIGNMENT = "ASSIGNMENT"  # 交办: at the assigner
    REVIEW = "REVIEW"  # 复查: at the reviewing node, by the day requested
    FINAL_REVIEW = "FINAL_REVIEW"  # 复核: at the final reviewer
    SKIP_LEVEL_VISIT = "SKIP_LEVEL_VISIT"  # 越级走访: at the node visited, from the locality's tier
    SUPERVISION_ORDER = "SUPERVISION_ORDER"  # 督办: at the issuer, by the day issued


DayCounts = dict[str, float]
CategoryKey = tuple[date, str]  # day, category
FlowKey = tuple[date, str, str, str]  # day, kind, from tier, to tier


def zero_counts() -> DayCounts:
    return dict.fromkeys(FIGURE_COUNTS, 0.0)


def _clean(value: float, name: str) -> float:
    return round(value, DAYS_PRECISION) if name == REPLY_DAYS_SUM else float(round(value))


@dataclass
class Figures:
    """Figures per day; a missing entry is zero."""

    days: dict[date, DayCounts] = field(default_factory=dict)
    categories: dict[CategoryKey, int] = field(default_factory=dict)
    flows: dict[FlowKey, int] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        for day, counts in other.days.items():
            into = self.days.setdefault(day, zero_counts())
            for name in FIGURE_COUNTS:
                into[name] = _clean(into[name] + counts.get(name, 0.0), name)
        for key, n in other.categories.items():
            self.categories[key] = self.categories.get(key, 0) + n
        for flow, n in other.flows.items():
            self.flows[flow] = self.flows.get(flow, 0) + n

    def is_empty(self) -> bool:
        return not (self.days or self.categories or self.flows)

    def without_zeros(self) -> Figures:
        return Figures(
            days={d: c for d, c in self.days.items() if any(c.values())},
            categories={k: n for k, n in self.categories.items() if n},
            flows={k: n for k, n in self.flows.items() if n},
        )


def changes(old: Figures, new: Figures) -> Figures:
    """The entries of ``new`` that differ from ``old``, in full; an entry gone is sent as zero."""
    found = Figures()
    for day in old.days.keys() | new.days.keys():
        before, after = old.days.get(day), new.days.get(day)
        after_full = {n: _clean((after or {}).get(n, 0.0), n) for n in FIGURE_COUNTS}
        before_full = {n: _clean((before or {}).get(n, 0.0), n) for n in FIGURE_COUNTS}
        if after_full != before_full:
            found.days[day] = after_full
    for key in old.categories.keys() | new.categories.keys():
        if old.categories.get(key, 0) != new.categories.get(key, 0):
            found.categories[key] = new.categories.get(key, 0)
    for flow in old.flows.keys() | new.flows.keys():
        if old.flows.get(flow, 0) != new.flows.get(flow, 0):
            found.flows[flow] = new.flows.get(flow, 0)
    return found


def stats_counts(summed: Mapping[str, float]) -> StatsCounts:
    """``StatsCounts`` of counts summed over days (and nodes): the average from the sum."""
    values: dict[str, Any] = {
        n: int(summed.get(n, 0)) for n in FIGURE_COUNTS if n != REPLY_DAYS_SUM
    }
    replies = values["first_petition_replies"]
    days_sum = float(summed.get(REPLY_DAYS_SUM, 0.0))
    values["first_petition_reply_days"] = days_sum / replies if replies else 0.0
    return StatsCounts(**values)


def summed(days: Iterable[Mapping[str, float]]) -> DayCounts:
    total = zero_counts()
    for counts in days:
        for name in FIGURE_COUNTS:
            total[name] += float(counts.get(name, 0.0))
    return total


# -- the SUBTREE_FIGURES message ----------------------------------------------------------------


@dataclass(frozen=True)
class SubtreeReport:
    version: int  # per sender, monotonic: a row is replaced only by a higher version
    as_of: datetime  # the oldest contribution to the sender's subtree figures
    figures: Figures  # the changed entries only, each in full (zeros included)

    def to_payload(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "asOf": self.as_of.isoformat(),
            "days": [
                {"day": day.isoformat(), **{n: c[n] for n in FIGURE_COUNTS}}
                for day, c in sorted(self.figures.days.items())
            ],
            "categories": [
                [day.isoformat(), category, n]
                for (day, category), n in sorted(self.figures.categories.items())
            ],
            "flows": [
                [day.isoformat(), kind, from_tier, to_tier, n]
                for (day, kind, from_tier, to_tier), n in sorted(self.figures.flows.items())
            ],
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> SubtreeReport:
        """Raises KeyError, TypeError or ValueError on a malformed report."""
        days: dict[date, DayCounts] = {}
        for row in payload["days"]:
            extra = set(row) - set(FIGURE_COUNTS) - {"day"}
            if extra:
                raise ValueError(f"unknown counts {sorted(extra)}")
            # A child that does not run migration 0011 yet reports no hotline counts: zero.
            days[date.fromisoformat(str(row["day"]))] = {
                n: float(row.get(n, 0.0) if n in HOTLINE_COUNTS else row[n]) for n in FIGURE_COUNTS
            }
        categories = {
            (date.fromisoformat(str(day)), str(category)): int(n)
            for day, category, n in payload["categories"]
        }
        flows = {
            (date.fromisoformat(str(day)), FlowKind(str(kind)).value, str(f), str(t)): int(n)
            for day, kind, f, t, n in payload["flows"]
        }
        version = int(payload["version"])
        if version < 1:
            raise ValueError("a report's version starts at 1")
        return cls(
            version=version,
            as_of=datetime.fromisoformat(str(payload["asOf"])),
            figures=Figures(days=days, categories=categories, flows=flows),
        )

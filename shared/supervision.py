"""Supervision orders (督办, Art. 40): a higher node orders a lower one to act on a case and to
reply in writing by a date. Severity levels (the three-colour notices) are configuration."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path

from shared.deadlines import due_on, local_date
from shared.divisions import is_in_subtree
from shared.errors import DomainError, ErrorCode, bad_input
from shared.holidays import HolidayCalendar


class OrderStatus(StrEnum):
    ISSUED = "ISSUED"  # sent; the reply is due
    REPLIED = "REPLIED"  # the written reply came back


@dataclass(frozen=True)
class SeverityLevel:
    code: str
    name: str
    reply_days: int
    rank: int


@dataclass(frozen=True)
class SeverityLevels:
    levels: tuple[SeverityLevel, ...]

    def get(self, code: str) -> SeverityLevel:
        for level in self.levels:
            if level.code == code:
                return level
        known = ", ".join(level.code for level in self.levels)
        raise bad_input(f"unknown severity {code!r}; the levels are {known}", "severity")

    def highest(self) -> SeverityLevel:
        return max(self.levels, key=lambda level: level.rank)

    @classmethod
    def from_json(cls, text: str) -> SeverityLevels:
        data = json.loads(text)
        return cls(
            tuple(
                SeverityLevel(str(x["code"]), str(x["name"]), int(x["replyDays"]), int(x["rank"]))
                for x in data["levels"]
            )
        )

    @classmethod
    def from_file(cls, path: Path) -> SeverityLevels:
        return cls.from_json(path.read_text(encoding="utf-8"))


@cache
def default_levels() -> SeverityLevels:
    text = (resources.files("shared.data") / "supervision_levels.json").read_text("utf-8")
    return SeverityLevels.from_json(text)


def check_issuer(issuer: str, owner: str) -> None:
    if issuer == owner or not is_in_subtree(owner, issuer):
        raise DomainError(
            ErrorCode.WRONG_NODE,
            f"node {issuer} supervises only nodes below it; {owner} is not",
            field="caseId",
        )


def check_flagged(level: SeverityLevel, levels: SeverityLevels) -> None:
    """挂牌督办 is supervision of the highest level (Art. 39)."""
    highest = levels.highest()
    if level.code != highest.code:
        raise bad_input(
            f"flagged supervision (挂牌督办) is of the highest level, {highest.code}", "severity"
        )


def reply_due(
    level: SeverityLevel, issued_at: datetime, due: date | None, calendar: HolidayCalendar
) -> datetime:
    """The written reply's deadline: the date given, or the level's default period."""
    today = local_date(issued_at)
    if due is None:
        due = today + timedelta(days=level.reply_days)
    if due <= today:
        raise bad_input("a supervision order's reply date is after today", "due")
    if (due - today).days > 90:
        raise bad_input("a supervision order's reply date is at most 90 days ahead", "due")
    return due_on(due, calendar)

"""The working-day calendar: which days are public holidays and which weekend days are worked.

China moves working days around its holidays (调休), so weekdays alone do not tell a working
day. The calendar is data: a JSON file with ``holidays`` and ``workdays`` lists, packaged for
the years published so far and replaceable through configuration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class HolidayCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    # Civil Code Art. 203: a period whose last day is a holiday ends on the next working day.
    roll_forward_to_working_day: bool = True

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    @classmethod
    def from_json(cls, text: str) -> HolidayCalendar:
        data = json.loads(text)
        return cls(
            holidays=frozenset(date.fromisoformat(d) for d in data.get("holidays", [])),
            workdays=frozenset(date.fromisoformat(d) for d in data.get("workdays", [])),
            roll_forward_to_working_day=bool(data.get("roll_forward_to_working_day", True)),
        )

    @classmethod
    def from_file(cls, path: Path) -> HolidayCalendar:
        return cls.from_json(path.read_text(encoding="utf-8"))


@cache
def default_calendar() -> HolidayCalendar:
    """The packaged national calendar (State Council holiday notices)."""
    text = resources.files("shared.data").joinpath("calendar_cn.json").read_text(encoding="utf-8")
    return HolidayCalendar.from_json(text)

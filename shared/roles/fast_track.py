"""The township fast track's figures (domain.md §4: days to meet / establish facts / reply).

The three deadlines themselves are the lifecycle's (``Action.FAST_TRACK``); this counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.casework import CaseWork
from shared.deadlines import LIMITS, DeadlineKind
from shared.metrics import rate
from shared.persistence import role_records as records

STEPS = (
    DeadlineKind.FAST_TRACK_MEETING,
    DeadlineKind.FAST_TRACK_FACTS,
    DeadlineKind.FAST_TRACK_REPLY,
)


@dataclass(frozen=True)
class StepFigures:
    kind: DeadlineKind
    limit_days: int
    cases: int
    met: int
    met_on_time: int
    overdue: int  # not met and past due
    on_time_rate: float | None  # of the steps settled (met, or due and passed)
    average_days: float | None  # from registration to the step, over those met


async def figures(
    work: CaseWork, start: datetime | None, end: datetime | None
) -> list[StepFigures]:
    """For fast-track cases registered in [start, end)."""
    async with work.db.connect() as conn:
        found = await records.fast_track_figures(conn, start, end, work.clock.now())
    result = []
    for kind in STEPS:
        row = found.get(kind.value, {})
        met, overdue = int(row.get("met", 0)), int(row.get("overdue", 0))
        average = row.get("average_days")
        result.append(
            StepFigures(
                kind=kind,
                limit_days=LIMITS[kind].days,
                cases=int(row.get("cases", 0)),
                met=met,
                met_on_time=int(row.get("met_on_time", 0)),
                overdue=overdue,
                on_time_rate=rate(int(row.get("met_on_time", 0)), met + overdue),
                average_days=float(average) if average is not None else None,
            )
        )
    return result

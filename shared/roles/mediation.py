"""Mediation before formal handling (调解, domain.md §1): the outcome of each mediation is
recorded (agreement, partial agreement, failed; the mediator; whether the parties consented)
with the lifecycle act it causes, in one transaction, and feeds the resolution rate (化解率)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.casework import CaseWork
from shared.deadlines import local_date
from shared.errors import bad_input
from shared.lifecycle import Action
from shared.metrics import rate
from shared.persistence import role_records as records
from shared.roles.common import name_of, own_case_id, text_of
from shared.validation import SUMMARY_MAX


class MediationOutcome(StrEnum):
    AGREEMENT = "AGREEMENT"  # 达成协议: the agreement is the reply
    PARTIAL = "PARTIAL"  # part agreed; the rest goes on to formal handling
    FAILED = "FAILED"  # 调解不成: formal handling goes on


# What each outcome does to the case (the lifecycle's own mediation acts).
OUTCOME_ACTION = {
    MediationOutcome.AGREEMENT: Action.SETTLE_BY_MEDIATION,
    MediationOutcome.PARTIAL: Action.END_MEDIATION,
    MediationOutcome.FAILED: Action.END_MEDIATION,
}
RESOLVED = frozenset({MediationOutcome.AGREEMENT})


@dataclass(frozen=True)
class Mediation:
    id: str
    case_id: str
    mediator: str
    outcome: MediationOutcome
    parties_consent: bool
    text: str
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class MediationFigures:
    mediations: int
    agreements: int
    partial: int
    failed: int
    resolution_rate: float | None  # 化解率: agreements / mediations concluded


def _mediation(row: dict[str, object]) -> Mediation:
    row = dict(row)
    row["outcome"] = MediationOutcome(str(row["outcome"]))
    return Mediation(**row)  # type: ignore[arg-type]


async def record_outcome(
    work: CaseWork,
    case_id: str,
    *,
    outcome: MediationOutcome,
    mediator: str,
    parties_consent: bool,
    text: str,
    actor: str,
) -> str:
    """Conclude a case's mediation: the outcome record and the case's next step, atomically."""
    case_id = own_case_id(work, case_id, "id")
    mediator = name_of(mediator, "mediator")
    text = text_of(text, "text", SUMMARY_MAX)
    if outcome is not MediationOutcome.FAILED and not parties_consent:
        raise bad_input(
            "an agreement, whole or partial, stands only with the parties' consent",
            "partiesConsent",
        )
    action = OUTCOME_ACTION[outcome]
    fields = {"text": text} if action is Action.SETTLE_BY_MEDIATION else {"reason": text}
    now = work.clock.now()
    async with work.db.begin() as conn:
        await work.act_in(conn, case_id, work.command(action, actor, **fields))
        mediation_id = await records.next_id(conn, work.code, "MD", local_date(now).year)
        await records.insert_mediation(
            conn,
            id=mediation_id,
            case_id=case_id,
            mediator=mediator,
            outcome=outcome.value,
            parties_consent=parties_consent,
            text=text,
            recorded_at=now,
            recorded_by=actor,
        )
    work.committed()
    return mediation_id


async def mediations(work: CaseWork, case_id: str | None, limit: int) -> list[Mediation]:
    async with work.db.connect() as conn:
        rows = await records.list_mediations(conn, case_id, limit)
    return [_mediation(row) for row in rows]


async def mediation_by_id(work: CaseWork, mediation_id: str) -> Mediation | None:
    async with work.db.connect() as conn:
        rows = await records.list_mediations(conn, None, 1, mediation_id)
    return _mediation(rows[0]) if rows else None


async def figures(work: CaseWork, start: datetime | None, end: datetime | None) -> MediationFigures:
    async with work.db.connect() as conn:
        counts = await records.mediation_counts(conn, start, end)
    total = sum(counts.values())
    agreements = counts.get(MediationOutcome.AGREEMENT.value, 0)
    return MediationFigures(
        mediations=total,
        agreements=agreements,
        partial=counts.get(MediationOutcome.PARTIAL.value, 0),
        failed=counts.get(MediationOutcome.FAILED.value, 0),
        resolution_rate=rate(agreements, total),
    )

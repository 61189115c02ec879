"""Which desk received a petition: the township's comprehensive governance centre (综治中心,
"one place, one door") with its receiving window, or a county's petition bureau (信访部门,
Art. 14) or joint reception (联合接访, Art. 18). Recorded with the registration, atomically."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork, PetitionInput
from shared.errors import bad_input
from shared.persistence import role_records as records


class Receiver(StrEnum):
    GOVERNANCE_CENTER = "GOVERNANCE_CENTER"  # 综治中心
    PETITION_BUREAU = "PETITION_BUREAU"  # 信访部门
    JOINT_RECEPTION = "JOINT_RECEPTION"  # 联合接访


class ReceivingWindow(StrEnum):
    """The windows of a governance centre (S5: reception, mediation, legal advice, services)."""

    PETITION_RECEPTION = "PETITION_RECEPTION"  # 信访接待
    MEDIATION = "MEDIATION"  # 矛盾调解
    LEGAL_ADVICE = "LEGAL_ADVICE"  # 法律咨询
    PUBLIC_SERVICE = "PUBLIC_SERVICE"  # 综合服务
    LEADER_RECEPTION = "LEADER_RECEPTION"  # 领导接访日 (Thursdays at S5)


@dataclass(frozen=True)
class IntakeRecord:
    case_id: str
    receiver: Receiver
    receiving_window: ReceivingWindow | None
    received_by: str
    recorded_at: datetime


def record_of(row: dict[str, object]) -> IntakeRecord:
    window = row["receiving_window"]
    return IntakeRecord(
        case_id=str(row["case_id"]),
        receiver=Receiver(str(row["receiver"])),
        receiving_window=ReceivingWindow(str(window)) if window else None,
        received_by=str(row["received_by"]),
        recorded_at=row["recorded_at"],  # type: ignore[arg-type]
    )


async def register_at_desk(
    work: CaseWork,
    petition: PetitionInput,
    *,
    receiver: Receiver,
    window: ReceivingWindow | None,
    idempotency_key: str,
    actor: str,
) -> str:
    """Register a petition received at ``receiver`` and record the desk, in one transaction."""
    if receiver is Receiver.GOVERNANCE_CENTER and window is None:
        raise bad_input("a governance centre records the window that received it", "window")

    async def record(conn: AsyncConnection, case_id: str) -> None:
        await records.insert_intake(
            conn,
            case_id=case_id,
            receiver=receiver.value,
            receiving_window=window.value if window else None,
            received_by=actor,
            recorded_at=work.clock.now(),
        )

    return await work.register_petition(
        petition, idempotency_key=idempotency_key, actor=actor, also=record
    )


async def intakes_of(work: CaseWork, case_ids: list[str]) -> dict[str, IntakeRecord]:
    async with work.db.connect() as conn:
        found = await records.intakes(conn, case_ids)
    return {case_id: record_of(row) for case_id, row in found.items()}


async def list_intakes(
    work: CaseWork, receivers: list[Receiver], window: ReceivingWindow | None, limit: int
) -> list[IntakeRecord]:
    async with work.db.connect() as conn:
        rows = await records.list_intakes(
            conn, [r.value for r in receivers], window.value if window else None, limit
        )
    return [record_of(row) for row in rows]

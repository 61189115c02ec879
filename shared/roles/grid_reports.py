"""Grid reports (网格员): a grid worker reports a dispute in their grid; the township registers
it as a petition (channel GRID_REPORT), report and case linked, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import cast

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork, PetitionInput, checked
from shared.deadlines import local_date
from shared.divisions import InvalidDivisionCode, division_tree, is_in_subtree, parse_code
from shared.errors import DomainError, ErrorCode, bad_input
from shared.lifecycle import Channel
from shared.persistence import role_records as records
from shared.roles.common import name_of, text_of
from shared.validation import CATEGORY_MAX, SUMMARY_MAX, validate_person_count


class GridReportStatus(StrEnum):
    REPORTED = "REPORTED"
    REGISTERED = "REGISTERED"  # became a petition matter


@dataclass(frozen=True)
class GridReportInput:
    grid_worker: str
    grid: str  # the grid's name or number within the village
    locality_code: str
    category: str
    summary: str
    person_count: int = 1


@dataclass(frozen=True)
class GridReport:
    id: str
    grid_worker: str
    grid: str
    locality_code: str
    category: str
    summary: str
    person_count: int
    reported_at: datetime
    status: GridReportStatus
    case_id: str | None
    registered_at: datetime | None


def _report(row: dict[str, object]) -> GridReport:
    row = dict(row)
    row.pop("version")
    row["status"] = GridReportStatus(str(row["status"]))
    return GridReport(**row)  # type: ignore[arg-type]


def _locality(work: CaseWork, code: str) -> str:
    code = code.strip()
    try:
        parse_code(code)
    except InvalidDivisionCode as error:
        raise bad_input(str(error), "locality") from error
    if not division_tree().exists(code) or not is_in_subtree(code, work.code):
        raise bad_input(f"{code} is not a division of this node ({work.code})", "locality")
    return code


async def report_dispute(work: CaseWork, report: GridReportInput, actor: str) -> str:
    values = {
        "grid_worker": name_of(report.grid_worker, "gridWorker"),
        "grid": text_of(report.grid, "grid", CATEGORY_MAX),
        "locality_code": _locality(work, report.locality_code),
        "category": text_of(report.category, "category", CATEGORY_MAX),
        "summary": text_of(report.summary, "summary", SUMMARY_MAX),
        "person_count": checked(lambda: validate_person_count(report.person_count)),
    }
    now = work.clock.now()
    async with work.db.begin() as conn:
        report_id = await records.next_id(conn, work.code, "GR", local_date(now).year)
        await records.insert_grid_report(
            conn, id=report_id, reported_at=now, status=GridReportStatus.REPORTED.value, **values
        )
    return report_id


async def _reported(conn: AsyncConnection, work: CaseWork, report_id: str) -> dict[str, object]:
    report = await records.lock_grid_report(conn, report_id.strip())
    if report is None:
        raise DomainError(
            ErrorCode.NOT_FOUND, f"no grid report {report_id} at {work.code}", field="id"
        )
    if report["status"] != GridReportStatus.REPORTED.value:
        raise DomainError(
            ErrorCode.DUPLICATE,
            f"grid report {report_id} is already {report['status']}",
            field="id",
        )
    return report


async def register_report(
    work: CaseWork,
    report_id: str,
    *,
    petitioner_name: str,
    petitioner_id_number: str | None,
    petitioner_phone: str | None,
    idempotency_key: str,
    actor: str,
) -> str:
    """Turn a grid report into a registered case; the report points at it (one transaction)."""
    async with work.db.connect() as conn:
        found = await records.grid_reports_by_id(conn, [report_id.strip()])
    if not found:
        raise DomainError(
            ErrorCode.NOT_FOUND, f"no grid report {report_id} at {work.code}", field="id"
        )
    report = found[0]
    petition = PetitionInput(
        channel=Channel.GRID_REPORT,
        category=str(report["category"]),
        summary=str(report["summary"]),
        issue_locality_code=str(report["locality_code"]),
        petitioner_name=petitioner_name,
        petitioner_id_number=petitioner_id_number,
        petitioner_phone=petitioner_phone,
        person_count=int(cast(int, report["person_count"])),
    )

    async def link(conn: AsyncConnection, case_id: str) -> None:
        locked = await _reported(conn, work, report_id)
        await records.update_grid_report(
            conn,
            locked,
            status=GridReportStatus.REGISTERED.value,
            case_id=case_id,
            registered_at=work.clock.now(),
        )

    return await work.register_petition(
        petition, idempotency_key=idempotency_key, actor=actor, also=link
    )


async def list_reports(
    work: CaseWork, status: GridReportStatus | None, limit: int
) -> list[GridReport]:
    async with work.db.connect() as conn:
        rows = await records.list_grid_reports(conn, status.value if status else None, limit)
    return [_report(row) for row in rows]


async def report_by_id(work: CaseWork, report_id: str) -> GridReport | None:
    async with work.db.connect() as conn:
        rows = await records.grid_reports_by_id(conn, [report_id.strip()])
    return _report(rows[0]) if rows else None

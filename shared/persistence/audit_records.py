"""The audit log of clear reads of personal data (ADR 0018): one row per read, at the node
holding the case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth import Principal
from shared.persistence.tables import audit_log
from shared.privacy import AuditRead


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    subject: str
    roles: tuple[str, ...]
    jurisdiction: str
    case_id: str
    record: str
    fields: tuple[str, ...]
    purpose: str


async def record_reads(
    conn: AsyncConnection, principal: Principal, at: datetime, reads: Sequence[AuditRead]
) -> None:
    """One statement for a request's batch of reads."""
    if not reads:
        return
    roles = sorted(r.value for r in principal.roles)
    await conn.execute(
        insert(audit_log),
        [
            {
                "at": at,
                "subject": principal.subject,
                "roles": roles,
                "jurisdiction": principal.jurisdiction,
                "case_id": read.case_id,
                "record": read.record,
                "fields": list(read.fields),
                "purpose": read.purpose,
            }
            for read in reads
        ],
    )


async def entries(
    conn: AsyncConnection,
    *,
    first: int,
    after: int | None,
    case_id: str | None,
    subject: str | None,
) -> tuple[list[AuditEntry], int]:
    """A page of entries, oldest first, after the entry ``after``; and how many match."""
    where = []
    if case_id is not None:
        where.append(audit_log.c.case_id == case_id)
    if subject is not None:
        where.append(audit_log.c.subject == subject)
    total = (await conn.execute(select(func.count()).select_from(audit_log).where(*where))).scalar()
    if after is not None:
        where.append(audit_log.c.id > after)
    rows = await conn.execute(select(audit_log).where(*where).order_by(audit_log.c.id).limit(first))
    found = [
        AuditEntry(
            id=row.id,
            at=row.at,
            subject=row.subject,
            roles=tuple(row.roles),
            jurisdiction=row.jurisdiction,
            case_id=row.case_id,
            record=row.record,
            fields=tuple(row.fields),
            purpose=row.purpose,
        )
        for row in rows
    ]
    return found, int(total or 0)

"""Personal data in GraphQL (ADR 0018): the view a caller gets of a case's petitioner, the
audit entry every clear read writes first, and the audit log auditors read.

A clear read is recorded before its values leave the resolver: the request's clear reads are
batched (one INSERT per batch, in its own transaction) and the resolver waits for the commit.
If the entry cannot be written the field fails and nothing clear is sent, so no clear value
reaches a caller without its entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import strawberry
from aiodataloader import DataLoader
from strawberry import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from shared.auth import Role
from shared.errors import DomainError, ErrorCode, bad_input
from shared.graphql.context import NodeContext
from shared.persistence import audit_records
from shared.privacy import AuditRead, View, checked_purpose, personal_view

NodeInfo = Info[NodeContext, None]

# GraphQL field → what the audit log names (the personal fields of Petitioner).
PERSONAL_FIELDS = {"name": "name", "idNumber": "id_number", "phone": "phone", "address": "address"}
AUDIT_PAGE_MAX = 500


class AuditWriter:
    """A request's clear reads, written in batches before the values are returned."""

    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.loader: DataLoader[AuditRead, None] = DataLoader(
            self._write, cache=False, max_batch_size=5000
        )

    async def _write(self, reads: Sequence[AuditRead]) -> list[None]:
        principal = self.ctx.principal
        assert principal is not None
        async with self.ctx.db.begin() as conn:
            await audit_records.record_reads(
                conn, principal, self.ctx.work.clock.now(), list(reads)
            )
        return [None] * len(reads)


def _writer(ctx: NodeContext) -> AuditWriter:
    writer = ctx.extra.get("audit")
    if not isinstance(writer, AuditWriter):
        writer = ctx.extra["audit"] = AuditWriter(ctx)
    return writer


def _selected(selections: Sequence[object]) -> set[str]:
    names: set[str] = set()
    for child in selections:
        if isinstance(child, SelectedField):
            names.add(child.name)
        elif isinstance(child, (FragmentSpread, InlineFragment)):
            names |= _selected(child.selections)
    return names


def personal_fields(info: NodeInfo) -> tuple[str, ...]:
    """The personal fields this field's selection reads (what the audit entry names)."""
    names: set[str] = set()
    for selected in info.selected_fields:
        names |= _selected(selected.selections)
    return tuple(PERSONAL_FIELDS[n] for n in PERSONAL_FIELDS if n in names)


async def disclosed_view(info: NodeInfo, case_id: str, record: str, purpose: str | None) -> View:
    """The view of ``record`` (petitioner, representatives) of case ``case_id`` the caller
    gets; for a clear view, the purpose is checked and the read recorded first."""
    ctx = info.context
    view = personal_view(ctx.principal, ctx.node.code)
    if view is View.CLEAR:
        stated = checked_purpose(purpose)
        fields = personal_fields(info)
        if fields:
            await _writer(ctx).loader.load(AuditRead(case_id, record, fields, stated))
    return view


@strawberry.type(description="One clear read of personal data at this node: who, what, when, why.")
class AuditLogEntry:
    id: strawberry.ID
    at: datetime
    subject: str = strawberry.field(description="The token's subject who read")
    roles: list[str]
    jurisdiction: strawberry.ID = strawberry.field(description="The reader's jurisdiction")
    case_id: strawberry.ID
    record: str = strawberry.field(description="petitioner or representatives")
    fields: list[str] = strawberry.field(description="The personal fields read in clear")
    purpose: str = strawberry.field(description="The purpose the reader stated")

    @classmethod
    def of(cls, entry: audit_records.AuditEntry) -> AuditLogEntry:
        return cls(
            id=strawberry.ID(str(entry.id)),
            at=entry.at,
            subject=entry.subject,
            roles=list(entry.roles),
            jurisdiction=strawberry.ID(entry.jurisdiction),
            case_id=strawberry.ID(entry.case_id),
            record=entry.record,
            fields=list(entry.fields),
            purpose=entry.purpose,
        )


@strawberry.type
class AuditLogPage:
    entries: list[AuditLogEntry]
    total_count: int
    end_cursor: str | None = strawberry.field(description="Pass as after for the next page")
    has_next_page: bool


async def audit_log_page(
    ctx: NodeContext,
    *,
    first: int,
    after: str | None,
    case_id: str | None,
    subject: str | None,
) -> AuditLogPage:
    principal = ctx.principal
    if principal is None or not principal.has(Role.AUDITOR):
        raise DomainError(ErrorCode.AUDITORS_ONLY, "the audit log is read by auditors only")
    if not 1 <= first <= AUDIT_PAGE_MAX:
        raise bad_input(f"first is 1 to {AUDIT_PAGE_MAX}", "first")
    cursor: int | None = None
    if after is not None:
        if not after.isdigit() or len(after) > 18:
            raise bad_input("after is the endCursor of an earlier page", "after")
        cursor = int(after)
    async with ctx.db.connect() as conn:
        found, total = await audit_records.entries(
            conn, first=first + 1, after=cursor, case_id=case_id, subject=subject
        )
    page = found[:first]
    return AuditLogPage(
        entries=[AuditLogEntry.of(e) for e in page],
        total_count=total,
        end_cursor=str(page[-1].id) if page else None,
        has_next_page=len(found) > first,
    )

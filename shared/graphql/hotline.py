"""12345 hotline tickets in GraphQL (docs/hotline.md): imported and converted by the node's
handler, read as ``Jurisdiction.hotlineTickets`` at the node that keeps them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from shared.errors import bad_input
from shared.graphql.types import Case, Jurisdiction, NodeInfo, PageInfo, jurisdiction_of, load_case
from shared.hotline import HotlineState, RowError, TicketFormat, parse
from shared.persistence import hotline_records as records
from shared.persistence.hotline_records import TicketRecord
from shared.roles import hotline
from shared.validation import mask_name, mask_phone

MAX_PAGE = 200

HotlineStateEnum = strawberry.enum(HotlineState, name="HotlineState")
HotlineFormatEnum = strawberry.enum(TicketFormat, name="HotlineFormat")


@strawberry.type(description="The caller of a 12345 ticket; personal data, masked (ADR 3).")
class HotlineCaller:
    name: str
    phone: str | None
    masked: bool


@strawberry.type(
    description="A 12345 hotline ticket: its own source type, counted as a ticket until it is "
    "converted into a petition, then as that petition only."
)
class HotlineTicket:
    ticket_number: strawberry.ID = strawberry.field(description="Unique on the 12345 platform")
    received_at: datetime = strawberry.field(description="When the hotline received the call")
    category: str
    content: str
    is_petition: bool = strawberry.field(description="In substance a petition (信访事项)")
    state: HotlineState = strawberry.field(description="The 12345 handling state")
    imported_at: datetime
    converted: bool
    converted_at: datetime | None
    _record: strawberry.Private[TicketRecord]

    @classmethod
    def of(cls, record: TicketRecord) -> HotlineTicket:
        return cls(
            ticket_number=strawberry.ID(record.ticket_number),
            received_at=record.received_at,
            category=record.category,
            content=record.content,
            is_petition=record.is_petition,
            state=HotlineState(record.state),
            imported_at=record.imported_at,
            converted=record.case_id is not None,
            converted_at=record.converted_at,
            _record=record,
        )

    @strawberry.field(description="The division the matter lies in: the node keeping it.")
    def division(self) -> Jurisdiction:
        return jurisdiction_of(self._record.division_code)

    @strawberry.field
    def caller(self) -> HotlineCaller:
        phone = self._record.caller_phone
        return HotlineCaller(
            name=mask_name(self._record.caller_name),
            phone=mask_phone(phone) if phone else None,
            masked=True,
        )

    @strawberry.field(description="The id of the petition the ticket was converted into.")
    def case_id(self) -> strawberry.ID | None:
        case_id = self._record.case_id
        return strawberry.ID(case_id) if case_id else None

    @strawberry.field(name="case", description="The petition the ticket was converted into.")
    async def case_(self, info: NodeInfo) -> Case | None:
        case_id = self._record.case_id
        return await load_case(info, case_id) if case_id else None


@strawberry.type
class HotlineTicketEdge:
    cursor: str
    node: HotlineTicket


@strawberry.type
class HotlineTicketConnection:
    edges: list[HotlineTicketEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input
class HotlineTicketFilter:
    converted: bool | None = None
    is_petition: bool | None = None
    ticket_number: str | None = None


@strawberry.type(description="One fault of one row of an import (the row was not imported).")
class HotlineRowError:
    row: int = strawberry.field(
        description="JSON: the object's number from 1 (JSON Lines: the line); CSV: the record's "
        "row, the header being row 1"
    )
    ticket_number: str | None
    code: str = strawberry.field(
        description="MALFORMED_ROW, MISSING_FIELD, UNKNOWN_FIELD, INVALID_FIELD, WRONG_NODE or "
        "CONFLICT"
    )
    field: str | None
    message: str

    @classmethod
    def of(cls, error: RowError) -> HotlineRowError:
        return cls(
            row=error.row,
            ticket_number=error.ticket_number,
            code=error.code.value,
            field=error.field,
            message=error.message,
        )


@strawberry.type(description="What an import did: every row is imported, a duplicate or rejected.")
class HotlineImport:
    rows: int
    imported: int
    duplicates: int = strawberry.field(
        description="Rows whose ticket was known with the same content: not imported again"
    )
    updated: int = strawberry.field(description="Of the duplicates, those whose state moved on")
    rejected: int
    duplicate_rows: list[int]
    rejected_rows: list[int]
    errors: list[HotlineRowError]
    converted_case_ids: list[strawberry.ID] = strawberry.field(
        description="The petitions registered from tickets flagged as petitions (convert: true)"
    )


async def ticket_page(
    info: NodeInfo,
    filter: HotlineTicketFilter | None,
    first: int,
    after: str | None,
) -> HotlineTicketConnection:
    if not 1 <= first <= MAX_PAGE:
        raise bad_input(f"first is 1 to {MAX_PAGE}", "first")
    chosen = filter or HotlineTicketFilter()
    async with info.context.db.connect() as conn:
        page = await records.list_tickets(
            conn,
            converted=chosen.converted,
            is_petition=chosen.is_petition,
            ticket_number=chosen.ticket_number,
            first=first,
            after=after,
        )
    edges = [
        HotlineTicketEdge(cursor=records.encode_cursor(r), node=HotlineTicket.of(r))
        for r in page.records
    ]
    return HotlineTicketConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=page.total_count,
    )


@strawberry.type
class HotlineMutations:
    @strawberry.mutation(
        description="Import a batch of 12345 tickets of this node's division (docs/hotline.md), "
        "in one transaction: a ticket number already imported is a duplicate, not a second "
        "ticket; bad rows are reported and the others written. convert: also convert the "
        "tickets flagged as petitions."
    )
    async def import_hotline_tickets(
        self,
        info: NodeInfo,
        data: str,
        format: TicketFormat = TicketFormat.JSON,
        convert: bool = False,
    ) -> HotlineImport:
        work = info.context.work
        parsed = parse(data, format, now=work.clock.now())
        report = await hotline.import_tickets(
            work, parsed, actor=info.context.actor, convert=convert
        )
        return HotlineImport(
            rows=report.rows,
            imported=report.imported,
            duplicates=report.duplicates,
            updated=report.updated,
            rejected=report.rejected,
            duplicate_rows=report.duplicate_rows,
            rejected_rows=report.rejected_rows,
            errors=[HotlineRowError.of(e) for e in sorted(report.errors, key=lambda e: e.row)],
            converted_case_ids=[strawberry.ID(c) for c in report.converted],
        )

    @strawberry.mutation(
        description="Convert a 12345 ticket that is in substance a petition into one: registered "
        "here through the normal registration (channel HOTLINE_12345), the ticket linked to it. "
        "A ticket is converted once (ALREADY_CONVERTED). The caller's name is the petitioner's "
        "unless another is given."
    )
    async def convert_hotline_ticket(
        self,
        info: NodeInfo,
        ticket_id: strawberry.ID,
        petitioner_name: str | None = None,
        petitioner_id_number: str | None = None,
        petitioner_address: str | None = None,
        person_count: int = 1,
    ) -> Case:
        work = info.context.work
        case_id = await hotline.convert_ticket(
            work,
            str(ticket_id),
            actor=info.context.actor,
            petitioner_name=petitioner_name,
            petitioner_id_number=petitioner_id_number,
            petitioner_address=petitioner_address,
            person_count=person_count,
        )
        info.context.loaders.case.clear(case_id)
        case = await load_case(info, case_id)
        assert case is not None  # just written
        return case

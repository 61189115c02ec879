"""12345 hotline intake at one node (docs/hotline.md, docs/adr/0017): a batch of tickets is
imported in one transaction, idempotent by ticket number; a ticket that is in substance a
petition is converted into one through the normal registration path (channel HOTLINE_12345),
the ticket linked to its case. A converted ticket counts as a petition, no longer as a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.casework import CaseWork, PetitionInput
from shared.errors import DomainError, ErrorCode, bad_input
from shared.hotline import ParsedFile, RowCode, RowError, Ticket
from shared.lifecycle import Channel
from shared.persistence import hotline_records as records
from shared.persistence.hotline_records import TicketRecord


@dataclass
class ImportReport:
    """What a batch did, row by row: every row is imported, a duplicate, or rejected."""

    rows: int = 0
    imported: int = 0  # new tickets
    duplicates: int = 0  # known with the same content (the state may have moved on)
    updated: int = 0  # of the duplicates, those whose 12345 state was updated
    converted: list[str] = field(default_factory=list)  # case ids of petitions converted
    duplicate_rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})

    @property
    def rejected(self) -> int:
        return len(self.rejected_rows)

    def add(self, other: ImportReport) -> None:
        self.rows += other.rows
        self.imported += other.imported
        self.duplicates += other.duplicates
        self.updated += other.updated
        self.converted.extend(other.converted)
        self.duplicate_rows.extend(other.duplicate_rows)
        self.errors.extend(other.errors)


def petition_of(
    ticket: TicketRecord,
    *,
    petitioner_name: str | None = None,
    petitioner_id_number: str | None = None,
    petitioner_address: str | None = None,
    person_count: int = 1,
) -> PetitionInput:
    """The petition a ticket is, registered on conversion (received now, by the petition body:
    its deadlines run from then; the ticket keeps the time the hotline received it)."""
    return PetitionInput(
        channel=Channel.HOTLINE_12345,
        category=ticket.category,
        summary=ticket.content,
        issue_locality_code=ticket.division_code,
        petitioner_name=petitioner_name or ticket.caller_name,
        petitioner_id_number=petitioner_id_number,
        petitioner_phone=ticket.caller_phone,
        petitioner_address=petitioner_address,
        person_count=person_count,
    )


def _row_of(work: CaseWork, ticket: Ticket, actor: str) -> tuple[dict[str, object], ...]:
    now = work.clock.now()
    return (
        {
            "ticket_number": ticket.ticket_number,
            "received_at": ticket.received_at,
            "division_code": ticket.division_code,
            "category": ticket.category,
            "content": ticket.content,
            "is_petition": ticket.is_petition,
            "state": ticket.state.value,
            "content_hash": ticket.content_hash(),
            "imported_at": now,
            "imported_by": actor,
            "updated_at": now,
        },
        {
            "ticket_number": ticket.ticket_number,
            "name": ticket.caller_name,
            "phone": ticket.caller_phone,
        },
    )


async def import_tickets(
    work: CaseWork, parsed: ParsedFile, *, actor: str, convert: bool = False
) -> ImportReport:
    """Import a checked file at this node, in one transaction; ``convert``: also convert the
    tickets flagged as petitions (new or stored, not converted yet) in that transaction.

    A row is rejected when the file said it was wrong, when its division is another node's
    (``WRONG_NODE``), or when its ticket number is known with other content (``CONFLICT``);
    the other rows are written. Nothing is ever half-written: a failure of the batch rolls
    all of it back."""
    report = ImportReport(rows=parsed.rows, errors=list(parsed.errors))
    chosen: dict[str, tuple[int, Ticket]] = {}
    for row, ticket in parsed.tickets:
        if ticket.division_code != work.code:
            report.errors.append(
                RowError(
                    row,
                    ticket.ticket_number,
                    RowCode.WRONG_NODE,
                    "divisionCode",
                    f"division {ticket.division_code} is kept at its own node, not at "
                    f"{work.code}: import the ticket there",
                )
            )
            continue
        earlier = chosen.get(ticket.ticket_number)
        if earlier is None:
            chosen[ticket.ticket_number] = (row, ticket)
        elif earlier[1].content_hash() == ticket.content_hash():
            report.duplicates += 1
            report.duplicate_rows.append(row)
        else:
            report.errors.append(_conflict(row, ticket, f"row {earlier[0]}"))
    if not chosen:
        return report
    try:
        written = await _write(work, chosen, actor, convert)
    except IntegrityError:
        # A concurrent import wrote some of these tickets first (both saw them new): the
        # batch rolled back whole; again, those rows are now duplicates.
        written = await _write(work, chosen, actor, convert)
    work.committed()
    report.add(written)
    report.duplicate_rows.sort()
    return report


async def _write(
    work: CaseWork, chosen: dict[str, tuple[int, Ticket]], actor: str, convert: bool
) -> ImportReport:
    """The batch's one transaction: what it wrote, if it commits."""
    report = ImportReport()
    async with work.db.begin() as conn:
        stored = await records.lock_tickets(conn, list(chosen))
        new_rows, callers, to_convert = [], [], []
        for number, (row, ticket) in chosen.items():
            known = stored.get(number)
            if known is None:
                ticket_row, caller_row = _row_of(work, ticket, actor)
                new_rows.append(ticket_row)
                callers.append(caller_row)
                report.imported += 1
                if ticket.is_petition:
                    to_convert.append(number)
                continue
            if known.content_hash != ticket.content_hash():
                report.errors.append(_conflict(row, ticket, "the ticket imported before"))
                continue
            report.duplicates += 1
            report.duplicate_rows.append(row)
            if known.state != ticket.state.value:
                await records.set_state(conn, number, ticket.state.value, work.clock.now())
                report.updated += 1
            if known.is_petition and known.case_id is None:
                to_convert.append(number)
        await records.insert_tickets(conn, new_rows, callers)
        if convert:
            for number in to_convert:
                record = await records.ticket(conn, number)
                assert record is not None  # just written or locked
                report.converted.append(await _convert_in(work, conn, record, actor))
    return report


def _conflict(row: int, ticket: Ticket, other: str) -> RowError:
    return RowError(
        row,
        ticket.ticket_number,
        RowCode.CONFLICT,
        "ticketNumber",
        f"ticket {ticket.ticket_number} differs from {other} in more than its state: a "
        "ticket number names one ticket",
    )


async def _convert_in(
    work: CaseWork, conn: AsyncConnection, record: TicketRecord, actor: str
) -> str:
    case_id = await work.register_direct_in(conn, petition_of(record), actor=actor)
    if not await records.mark_converted(
        conn, record.ticket_number, case_id, work.clock.now(), actor
    ):
        raise _already(record.ticket_number, record.case_id)
    return case_id


def _already(number: str, case_id: str | None) -> DomainError:
    case = f" (case {case_id})" if case_id else ""
    return DomainError(
        ErrorCode.ALREADY_CONVERTED,
        f"ticket {number} was already converted{case}; a matter is registered once",
        field="ticketId",
    )


async def convert_ticket(
    work: CaseWork,
    number: str,
    *,
    actor: str,
    petitioner_name: str | None = None,
    petitioner_id_number: str | None = None,
    petitioner_address: str | None = None,
    person_count: int = 1,
) -> str:
    """Convert one ticket into a petition registered here; refused (``ALREADY_CONVERTED``)
    when it already was. The registration and the ticket's link are one transaction: the
    ticket is marked only if the case is written, and a second conversion racing this one
    finds the ticket marked and writes nothing."""
    number = number.strip()
    if not number:
        raise bad_input("the ticket number is required", "ticketId")
    async with work.db.connect() as conn:
        record = await records.ticket(conn, number)
    if record is None:
        raise DomainError(
            ErrorCode.NOT_FOUND, f"no 12345 ticket {number} at node {work.code}", field="ticketId"
        )
    if record.case_id is not None:
        raise _already(number, record.case_id)
    petition = petition_of(
        record,
        petitioner_name=petitioner_name,
        petitioner_id_number=petitioner_id_number,
        petitioner_address=petitioner_address,
        person_count=person_count,
    )

    async def link(conn: AsyncConnection, case_id: str) -> None:
        if not await records.mark_converted(conn, number, case_id, work.clock.now(), actor):
            raise _already(number, record.case_id)

    return await work.register_petition(petition, idempotency_key=None, actor=actor, also=link)

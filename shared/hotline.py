"""12345 hotline tickets: the file format and its validation (docs/hotline.md).

A ticket of the 12345 platform is its own source type, not a petition: it is kept at the node
whose division it names and counted in its own figure (``hotline_tickets``). A ticket that is
in substance a petition may be converted into one; the petition then counts in the petition
volume and the ticket no longer counts as a ticket, so every matter is counted once
(domain.md §1, docs/adr/0017).

This module only reads and checks files: JSON (one object, an array of objects, or JSON Lines)
and CSV (UTF-8, a header row). Every row is checked on its own and every fault is reported with
the row's number, the field and a stable code, so a clerk can fix the file and import it again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.divisions import InvalidDivisionCode, division_tree, parse_code
from shared.errors import bad_input
from shared.validation import (
    CATEGORY_MAX,
    SUMMARY_MAX,
    ValidationFailed,
    validate_person_name,
    validate_phone,
    validate_text,
)


class TicketFormat(StrEnum):
    JSON = "JSON"  # one object, an array of objects, or JSON Lines (one object per line)
    CSV = "CSV"  # UTF-8, a header row naming the fields


class HotlineState(StrEnum):
    """Where the ticket is in the 12345 loop: accept → dispatch → reply → supervise → call
    back → rate (domain.md §1). The platform's state, recorded as given; a petition's own
    lifecycle starts only when the ticket is converted."""

    ACCEPTED = "ACCEPTED"  # 受理
    DISPATCHED = "DISPATCHED"  # 派单
    REPLIED = "REPLIED"  # 答复 / 办结
    SUPERVISED = "SUPERVISED"  # 督办
    CALLED_BACK = "CALLED_BACK"  # 回访
    RATED = "RATED"  # 评价


STATE_LABELS = {
    "受理": HotlineState.ACCEPTED,
    "派单": HotlineState.DISPATCHED,
    "答复": HotlineState.REPLIED,
    "办结": HotlineState.REPLIED,
    "督办": HotlineState.SUPERVISED,
    "回访": HotlineState.CALLED_BACK,
    "评价": HotlineState.RATED,
}


class RowCode(StrEnum):
    """Why a row was rejected (stable: callers and scripts match on these)."""

    MALFORMED_ROW = "MALFORMED_ROW"  # not a JSON object / not valid JSON / wrong CSV width
    MISSING_FIELD = "MISSING_FIELD"  # a required field is absent or empty
    UNKNOWN_FIELD = "UNKNOWN_FIELD"  # a field the format does not have (a typo, often)
    INVALID_FIELD = "INVALID_FIELD"  # present but not a valid value
    WRONG_NODE = "WRONG_NODE"  # the division is another node's: import it there
    CONFLICT = "CONFLICT"  # the ticket number is known with other content


# The fields, as JSON keys and CSV column names.
FIELDS = (
    "ticketNumber",
    "receivedAt",
    "callerName",
    "callerPhone",
    "divisionCode",
    "category",
    "content",
    "isPetition",
    "state",
)
OPTIONAL = frozenset({"callerPhone"})
TICKET_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{3,39}$")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_ROWS = 10_000  # per file or mutation batch: one transaction each
TRUE = frozenset({"true", "1", "yes", "y", "是"})
FALSE = frozenset({"false", "0", "no", "n", "否"})


@dataclass(frozen=True)
class Ticket:
    ticket_number: str
    received_at: datetime
    caller_name: str
    caller_phone: str | None
    division_code: str
    category: str
    content: str
    is_petition: bool
    state: HotlineState

    def content_hash(self) -> str:
        """Of every field but the 12345 state, which moves on as the platform works the
        ticket: a re-import with a later state updates the state; any other difference is a
        conflict, never a second ticket."""
        data = [
            self.ticket_number,
            self.received_at.astimezone(UTC).isoformat(),
            self.caller_name,
            self.caller_phone,
            self.division_code,
            self.category,
            self.content,
            self.is_petition,
        ]
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class RowError:
    row: int  # JSON: the object's number (1-based); JSON Lines: the line; CSV: the record,
    # the header being row 1 (as a spreadsheet numbers them)
    ticket_number: str | None
    code: RowCode
    field: str | None
    message: str


@dataclass
class ParsedFile:
    tickets: list[tuple[int, Ticket]] = field(default_factory=list)  # (row, ticket)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})


def format_for(path: str, given: str | None) -> TicketFormat:
    """``--format`` when given, else by the file's extension (.csv: CSV, otherwise JSON)."""
    if given:
        try:
            return TicketFormat(given.upper())
        except ValueError:
            raise bad_input(f"the format is json or csv, not {given!r}", "format") from None
    return TicketFormat.CSV if path.lower().endswith(".csv") else TicketFormat.JSON


def parse(data: str | bytes, fmt: TicketFormat, *, now: datetime) -> ParsedFile:
    """Every row of a file, checked. A fault of the whole file (not UTF-8, not JSON at all,
    no CSV header, too many rows) raises ``BAD_USER_INPUT``; a fault of a row is reported in
    ``errors`` and the other rows stand."""
    text = _text(data)
    rows = list(_json_rows(text) if fmt is TicketFormat.JSON else _csv_rows(text))
    if len(rows) > MAX_ROWS:
        raise bad_input(
            f"{len(rows)} rows: at most {MAX_ROWS} are imported at once; split the file", "data"
        )
    parsed = ParsedFile(rows=len(rows))
    for number, raw in rows:
        if isinstance(raw, RowError):
            parsed.errors.append(raw)
            continue
        ticket, errors = check_row(number, raw, now=now)
        if ticket is not None:
            parsed.tickets.append((number, ticket))
        parsed.errors.extend(errors)
    return parsed


def _text(data: str | bytes) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise bad_input(
            f"the file is not UTF-8 (byte {error.start} cannot be decoded)", "data"
        ) from None


Row = tuple[int, "Mapping[str, Any] | RowError"]


def _json_rows(text: str) -> Iterator[Row]:
    stripped = text.strip()
    if not stripped:
        return
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError:
        document = None
        if not stripped.startswith("{"):
            raise bad_input(
                "the file is not JSON: one object, an array of objects, or one object per line",
                "data",
            ) from None
    if isinstance(document, list):
        for index, item in enumerate(document, start=1):
            yield index, _object(index, item)
        return
    if isinstance(document, dict):
        yield 1, document
        return
    if document is not None:
        raise bad_input("the file is JSON but neither an object nor an array of them", "data")
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            yield (
                number,
                RowError(number, None, RowCode.MALFORMED_ROW, None, f"not valid JSON: {error.msg}"),
            )
            continue
        yield number, _object(number, item)


def _object(number: int, item: Any) -> Mapping[str, Any] | RowError:
    if isinstance(item, dict):
        return item
    return RowError(number, None, RowCode.MALFORMED_ROW, None, "a ticket is a JSON object")


def _csv_rows(text: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise bad_input("the CSV file is empty: it needs a header row", "data") from None
    except csv.Error as error:
        raise bad_input(f"the CSV header cannot be read: {error}", "data") from None
    names = [h.strip() for h in header]
    unknown = [n for n in names if n not in FIELDS]
    missing = [n for n in FIELDS if n not in names and n not in OPTIONAL]
    if unknown or missing or len(set(names)) != len(names):
        said = []
        if missing:
            said.append(f"missing {', '.join(missing)}")
        if unknown:
            said.append(f"unknown {', '.join(unknown)}")
        if len(set(names)) != len(names):
            said.append("a column named twice")
        raise bad_input(
            f"the CSV header row names the fields ({'; '.join(said)}); expected {','.join(FIELDS)}",
            "data",
        )
    number = 1
    while True:
        number += 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield number, RowError(number, None, RowCode.MALFORMED_ROW, None, str(error))
            continue
        if not any(value.strip() for value in record):
            continue  # a blank line
        if len(record) != len(names):
            yield (
                number,
                RowError(
                    number,
                    None,
                    RowCode.MALFORMED_ROW,
                    None,
                    f"{len(record)} values for {len(names)} columns",
                ),
            )
            continue
        yield number, dict(zip(names, record, strict=True))


def check_row(
    number: int, raw: Mapping[str, Any], *, now: datetime
) -> tuple[Ticket | None, list[RowError]]:
    """One row's ticket, or every fault found in it."""
    errors: list[RowError] = []
    number_value = raw.get("ticketNumber")
    ticket_number = number_value.strip() if isinstance(number_value, str) else None

    def fault(code: RowCode, name: str | None, message: str) -> None:
        errors.append(RowError(number, ticket_number, code, name, message))

    for name in raw:
        if name not in FIELDS:
            fault(RowCode.UNKNOWN_FIELD, str(name), f"{name!r} is not a field of a ticket")
    values: dict[str, Any] = {}
    for name in FIELDS:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name not in OPTIONAL:
                fault(RowCode.MISSING_FIELD, name, f"{name} is required")
            values[name] = None
            continue
        try:
            values[name] = _CHECKS[name](value, now)
        except ValidationFailed as error:
            fault(RowCode.INVALID_FIELD, name, error.message)
        except (TypeError, ValueError) as error:
            fault(RowCode.INVALID_FIELD, name, str(error))
    if errors:
        return None, errors
    return (
        Ticket(
            ticket_number=values["ticketNumber"],
            received_at=values["receivedAt"],
            caller_name=values["callerName"],
            caller_phone=values["callerPhone"],
            division_code=values["divisionCode"],
            category=values["category"],
            content=values["content"],
            is_petition=values["isPetition"],
            state=values["state"],
        ),
        [],
    )


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} is a string, not {type(value).__name__}")
    return value


def _ticket_number(value: Any, now: datetime) -> str:
    text = _string(value, "ticketNumber").strip()
    if not TICKET_NUMBER.match(text):
        raise ValueError(
            "a ticket number is 4-40 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return text


def _received_at(value: Any, now: datetime) -> datetime:
    text = _string(value, "receivedAt").strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time, e.g. 2025-03-03T10:15:00+08:00"
        ) from None
    if at.tzinfo is None:
        raise ValueError("the time received needs its zone, e.g. +08:00")
    if at > now:
        raise ValueError("the time received is in the future")
    if at < EARLIEST:
        raise ValueError("the time received is before 2000")
    return at


def _caller_name(value: Any, now: datetime) -> str:
    return validate_person_name(_string(value, "callerName"), field="callerName")


def _caller_phone(value: Any, now: datetime) -> str:
    return validate_phone(_string(value, "callerPhone"), field="callerPhone")


def _division(value: Any, now: datetime) -> str:
    code = _string(value, "divisionCode").strip()
    try:
        parse_code(code)
    except InvalidDivisionCode as error:
        raise ValueError(str(error)) from None
    if not division_tree().exists(code):
        raise ValueError(f"{code} is not a division code in use")
    return code


def _category(value: Any, now: datetime) -> str:
    return validate_text(_string(value, "category"), field="category", max_length=CATEGORY_MAX)


def _content(value: Any, now: datetime) -> str:
    return validate_text(_string(value, "content"), field="content", max_length=SUMMARY_MAX)


def _is_petition(value: Any, now: datetime) -> bool:
    if isinstance(value, bool):
        return value
    text = _string(value, "isPetition").strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"{value!r} is not true or false")


def _state(value: Any, now: datetime) -> HotlineState:
    text = _string(value, "state").strip()
    if text in STATE_LABELS:
        return STATE_LABELS[text]
    try:
        return HotlineState(text.upper())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a 12345 state ({', '.join(s.value for s in HotlineState)})"
        ) from None


_CHECKS = {
    "ticketNumber": _ticket_number,
    "receivedAt": _received_at,
    "callerName": _caller_name,
    "callerPhone": _caller_phone,
    "divisionCode": _division,
    "category": _category,
    "content": _content,
    "isPetition": _is_petition,
    "state": _state,
}


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    """A ticket in the file format (JSON values): what ``parse`` reads back to the ticket."""
    row: dict[str, Any] = {
        "ticketNumber": ticket.ticket_number,
        "receivedAt": ticket.received_at.isoformat(),
        "callerName": ticket.caller_name,
        "callerPhone": ticket.caller_phone,
        "divisionCode": ticket.division_code,
        "category": ticket.category,
        "content": ticket.content,
        "isPetition": ticket.is_petition,
        "state": ticket.state.value,
    }
    return row

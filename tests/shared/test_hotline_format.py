"""The 12345 ticket format (docs/hotline.md): JSON, JSON Lines and CSV read to the same
tickets, and every fault of a row is reported with its row, field and stable code. And the
two hotline counts in the figures reported up."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.errors import DomainError, ErrorCode
from shared.figures import HOTLINE_COUNTS, Figures, SubtreeReport, zero_counts
from shared.hotline import (
    FIELDS,
    MAX_ROWS,
    HotlineState,
    RowCode,
    TicketFormat,
    format_for,
    parse,
)

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ticketNumber": "YN12345-20250301-0001",
        "receivedAt": "2025-03-01T09:30:00+08:00",
        "callerName": "李四",
        "callerPhone": "13912345678",
        "divisionCode": "530102",
        "category": "城乡建设",
        "content": "小区旁工地夜间施工扰民",
        "isPetition": False,
        "state": "DISPATCHED",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(FIELDS))
    writer.writeheader()
    for r in rows:
        writer.writerow({k: str(v).lower() if isinstance(v, bool) else v for k, v in r.items()})
    return out.getvalue()


def test_the_three_layouts_read_to_the_same_tickets() -> None:
    rows = [row(), row(ticketNumber="YN12345-20250301-0002", isPetition=True, callerPhone=...)]
    array = parse(json.dumps(rows, ensure_ascii=False), TicketFormat.JSON, now=NOW)
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    jsonl = parse(lines, TicketFormat.JSON, now=NOW)
    table = parse(as_csv(rows).encode("utf-8-sig"), TicketFormat.CSV, now=NOW)
    single = parse(json.dumps(rows[0]), TicketFormat.JSON, now=NOW)
    assert not array.errors
    assert not jsonl.errors
    assert not table.errors
    assert not single.errors
    assert array.tickets == jsonl.tickets
    assert [t for _, t in array.tickets] == [t for _, t in table.tickets]
    assert [n for n, _ in table.tickets] == [2, 3]  # CSV: the header is row 1
    assert single.tickets == array.tickets[:1]
    first, second = (t for _, t in array.tickets)
    assert first.caller_phone == "+8613912345678"
    assert first.received_at == datetime(2025, 3, 1, 1, 30, tzinfo=UTC)
    assert first.state is HotlineState.DISPATCHED
    assert not first.is_petition
    assert second.is_petition
    assert second.caller_phone is None


def test_chinese_state_labels_and_csv_booleans() -> None:
    rows = [row(state="回访", isPetition="是"), row(ticketNumber="T-0002", state="受理")]
    parsed = parse(as_csv(rows), TicketFormat.CSV, now=NOW)
    assert [(t.state, t.is_petition) for _, t in parsed.tickets] == [
        (HotlineState.CALLED_BACK, True),
        (HotlineState.ACCEPTED, False),
    ]


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"ticketNumber": ...}, RowCode.MISSING_FIELD, "ticketNumber"),
        ({"ticketNumber": "a b"}, RowCode.INVALID_FIELD, "ticketNumber"),
        ({"receivedAt": "yesterday"}, RowCode.INVALID_FIELD, "receivedAt"),
        ({"receivedAt": "2025-03-01T09:30:00"}, RowCode.INVALID_FIELD, "receivedAt"),
        ({"receivedAt": "2025-03-04T09:30:00+08:00"}, RowCode.INVALID_FIELD, "receivedAt"),
        ({"callerName": "李4"}, RowCode.INVALID_FIELD, "callerName"),
        ({"callerName": "  "}, RowCode.MISSING_FIELD, "callerName"),
        ({"callerPhone": "12345"}, RowCode.INVALID_FIELD, "callerPhone"),
        ({"divisionCode": "539999"}, RowCode.INVALID_FIELD, "divisionCode"),
        ({"divisionCode": "53010"}, RowCode.INVALID_FIELD, "divisionCode"),
        ({"divisionCode": 530102}, RowCode.INVALID_FIELD, "divisionCode"),
        ({"category": "x" * 51}, RowCode.INVALID_FIELD, "category"),
        ({"content": ...}, RowCode.MISSING_FIELD, "content"),
        ({"isPetition": "maybe"}, RowCode.INVALID_FIELD, "isPetition"),
        ({"state": "LOST"}, RowCode.INVALID_FIELD, "state"),
        ({"colour": "red"}, RowCode.UNKNOWN_FIELD, "colour"),
    ],
)
def test_each_fault_of_a_row_has_its_code_and_field(
    changes: dict[str, Any], code: RowCode, field: str
) -> None:
    rows = [row(ticketNumber="GOOD-0001"), row(**changes)]
    parsed = parse(json.dumps(rows, ensure_ascii=False), TicketFormat.JSON, now=NOW)
    assert [(e.row, e.code, e.field) for e in parsed.errors] == [(2, code, field)]
    assert [n for n, _ in parsed.tickets] == [1]  # the good row stands
    assert parsed.rejected_rows == [2]


def test_every_fault_of_one_row_is_reported() -> None:
    parsed = parse(
        json.dumps([row(callerName="", state="?", divisionCode="1")]), TicketFormat.JSON, now=NOW
    )
    assert {(e.code, e.field) for e in parsed.errors} == {
        (RowCode.MISSING_FIELD, "callerName"),
        (RowCode.INVALID_FIELD, "state"),
        (RowCode.INVALID_FIELD, "divisionCode"),
    }
    assert all(e.ticket_number == "YN12345-20250301-0001" for e in parsed.errors)


def test_malformed_rows_of_json_lines_and_csv() -> None:
    lines = "\n".join([json.dumps(row()), "{not json", "", "[1, 2]", json.dumps(row())])
    parsed = parse(lines, TicketFormat.JSON, now=NOW)
    assert [(e.row, e.code) for e in parsed.errors] == [
        (2, RowCode.MALFORMED_ROW),
        (4, RowCode.MALFORMED_ROW),
    ]
    assert [n for n, _ in parsed.tickets] == [1, 5]
    table = as_csv([row()]) + "only,three,values\n"
    parsed = parse(table, TicketFormat.CSV, now=NOW)
    assert [(e.row, e.code) for e in parsed.errors] == [(3, RowCode.MALFORMED_ROW)]


@pytest.mark.parametrize(
    ("data", "fmt", "said"),
    [
        (b"\xff\xfe junk", TicketFormat.JSON, "not UTF-8"),
        ("[1, 2", TicketFormat.JSON, "not JSON"),
        ("42", TicketFormat.JSON, "neither an object"),
        ("", TicketFormat.CSV, "empty"),
        ("ticketNumber,receivedAt\nA-1,2025\n", TicketFormat.CSV, "missing callerName"),
        (",".join([*FIELDS, "colour"]) + "\n", TicketFormat.CSV, "unknown colour"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(
    data: str | bytes, fmt: TicketFormat, said: str
) -> None:
    with pytest.raises(DomainError) as raised:
        parse(data, fmt, now=NOW)
    assert raised.value.code is ErrorCode.BAD_USER_INPUT
    assert said in raised.value.message


def test_at_most_max_rows_at_once() -> None:
    rows = "\n".join(json.dumps(row(ticketNumber=f"T-{i:06d}")) for i in range(MAX_ROWS + 1))
    with pytest.raises(DomainError, match="at most"):
        parse(rows, TicketFormat.JSON, now=NOW)


def test_the_format_follows_the_extension_unless_given() -> None:
    assert format_for("tickets.CSV", None) is TicketFormat.CSV
    assert format_for("tickets.jsonl", None) is TicketFormat.JSON
    assert format_for("tickets.txt", "csv") is TicketFormat.CSV
    with pytest.raises(DomainError):
        format_for("tickets.txt", "xml")


def test_the_content_hash_ignores_only_the_state() -> None:
    (_, a), (_, b), (_, c) = parse(
        json.dumps([row(), row(state="RATED"), row(content="另一件事")], ensure_ascii=False),
        TicketFormat.JSON,
        now=NOW,
    ).tickets
    assert a.content_hash() == b.content_hash() != c.content_hash()


def test_a_report_from_a_node_without_the_hotline_counts_reads_them_as_zero() -> None:
    day = date(2025, 3, 3)
    counts = {**zero_counts(), "event_count": 2.0, "hotline_tickets": 5.0}
    report = SubtreeReport(1, NOW, Figures(days={day: counts}))
    payload = report.to_payload()
    assert SubtreeReport.from_payload(payload) == report
    older = {k: v for k, v in payload["days"][0].items() if k not in HOTLINE_COUNTS}
    read = SubtreeReport.from_payload({**payload, "days": [older]})
    assert read.figures.days[day] == {**counts, "hotline_tickets": 0.0}

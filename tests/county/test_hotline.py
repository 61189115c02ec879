"""12345 hotline intake at one node through its GraphQL API (docs/hotline.md): a batch is
imported in one transaction, idempotent by ticket number; bad rows are reported and written
nowhere; a ticket is converted into a petition once; only the node's own handler may do
either; a converted ticket counts as a petition, never also as a ticket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.migrate import schema_for
from tests.conftest import COUNTY, OTHER_COUNTY, GraphQLClient
from tests.identity import handler, leader
from tests.roles import ok, refusal, snapshot

IMPORT = """mutation($d: String!, $f: HotlineFormat!, $c: Boolean!) {
  importHotlineTickets(data: $d, format: $f, convert: $c) {
    rows imported duplicates updated rejected duplicateRows rejectedRows convertedCaseIds
    errors { row ticketNumber code field message } } }"""
CONVERT = """mutation($t: ID!, $n: String) {
  convertHotlineTicket(ticketId: $t, petitionerName: $n) {
    id channel category summary status issueLocality { code }
    petitioner(purpose: "核实来电人身份") { name masked }
    hotlineTicket { ticketNumber converted caseId } } }"""
TICKETS = """query($c: ID!, $f: HotlineTicketFilter, $n: Int!, $a: String) {
  jurisdiction(code: $c) { hotlineTickets(filter: $f, first: $n, after: $a) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { ticketNumber receivedAt category content isPetition state converted caseId
      division { code } caller { name phone masked } case { id channel } } } } } }"""
STATS = """query($c: ID!) { jurisdiction(code: $c) {
  stats { eventCount hotlineTickets hotlineConverted } } }"""


def ticket(number: int, *, node: str = COUNTY, petition: bool = False, **changes: Any) -> Any:
    row: dict[str, Any] = {
        "ticketNumber": f"YN-2025-{number:06d}",
        "receivedAt": f"2025-03-0{1 + number % 2}T09:{number % 60:02d}:00+08:00",
        "callerName": "王小明",
        "callerPhone": "0871-63123456",
        "divisionCode": node,
        "category": "劳动社保",
        "content": f"工资拖欠第{number}号",
        "isPetition": petition,
        "state": "DISPATCHED",
    }
    row.update(changes)
    return row


def jsonl(rows: list[Any]) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)


async def do_import(
    gql: GraphQLClient, rows: list[Any], *, convert: bool = False, **options: Any
) -> dict[str, Any]:
    result = await gql(IMPORT, {"d": jsonl(rows), "f": "JSON", "c": convert}, **options)
    found: dict[str, Any] = ok(result, "importHotlineTickets")
    return found


async def count(engine: AsyncEngine, node: str, table: str, where: str = "true") -> int:
    async with engine.connect() as conn:
        statement = text(f'SELECT count(*) FROM "{schema_for(node)}".{table} WHERE {where}')
        return int((await conn.execute(statement)).scalar_one())


async def test_a_batch_is_imported_once_and_its_bad_rows_are_reported(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    rows = [
        ticket(1),
        ticket(2, petition=True),
        ticket(3, callerPhone="12"),  # row 3: bad phone
        ticket(4, node=OTHER_COUNTY),  # row 4: another node's division
        ticket(1),  # row 5: the same ticket again in the file
        ticket(1, content="别的事"),  # row 6: the same number, other content
        ticket(7, state="受理"),
    ]
    report = await do_import(gql, rows)
    assert (report["rows"], report["imported"], report["duplicates"], report["rejected"]) == (
        7,
        3,
        1,
        3,
    )
    assert report["duplicateRows"] == [5]
    assert report["rejectedRows"] == [3, 4, 6]
    assert [(e["row"], e["code"], e["field"]) for e in report["errors"]] == [
        (3, "INVALID_FIELD", "callerPhone"),
        (4, "WRONG_NODE", "divisionCode"),
        (6, "CONFLICT", "ticketNumber"),
    ]
    assert report["errors"][0]["ticketNumber"] == "YN-2025-000003"
    assert report["convertedCaseIds"] == []  # convert was not asked for
    assert await count(clean_engine, COUNTY, "hotline_tickets") == 3
    assert await count(clean_engine, COUNTY, "hotline_callers") == 3
    assert await count(clean_engine, OTHER_COUNTY, "hotline_tickets") == 0
    assert await count(clean_engine, COUNTY, "cases") == 0  # tickets are not petitions

    # Re-import: nothing new; a ticket whose 12345 state moved on is updated, not doubled.
    again = await do_import(gql, [ticket(1), ticket(2, petition=True, state="REPLIED")])
    assert (again["imported"], again["duplicates"], again["updated"], again["rejected"]) == (
        0,
        2,
        1,
        0,
    )
    assert again["duplicateRows"] == [1, 2]
    assert await count(clean_engine, COUNTY, "hotline_tickets") == 3
    assert await count(clean_engine, COUNTY, "hotline_tickets", "state = 'REPLIED'") == 1


async def test_csv_is_imported_like_json(gql: GraphQLClient, clean_engine: AsyncEngine) -> None:
    header = "ticketNumber,receivedAt,callerName,callerPhone,divisionCode,category,content,"
    data = (
        f"{header}isPetition,state\n"
        f"YN-CSV-0001,2025-03-01T08:00:00+08:00,赵六,,{COUNTY},城乡建设,噪音扰民,否,派单\n"
        f'YN-CSV-0002,2025-03-01T08:05:00+08:00,赵七,13800001111,{COUNTY},城乡建设,"多行\n'
        '内容",是,督办\n'
        f"YN-CSV-0003,2025-03-01T08:05:00+08:00,赵八,,{COUNTY},城乡建设,,否,派单\n"
    )
    report = ok(await gql(IMPORT, {"d": data, "f": "CSV", "c": False}), "importHotlineTickets")
    # The header is row 1 and each record one row, a record over two lines too.
    assert (report["imported"], report["rejectedRows"]) == (2, [4])
    assert report["errors"][0]["code"] == "MISSING_FIELD"
    listed = ok(
        await gql(TICKETS, {"c": COUNTY, "n": 10, "f": {"isPetition": True}}), "jurisdiction"
    )["hotlineTickets"]
    (only,) = listed["edges"]
    assert only["node"]["content"] == "多行\n内容"
    assert only["node"]["state"] == "SUPERVISED"


async def test_a_file_that_cannot_be_read_writes_nothing(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    before = await snapshot(clean_engine, COUNTY)
    result = await gql(IMPORT, {"d": "[{", "f": "JSON", "c": True})
    assert refusal(result)["code"] == "BAD_USER_INPUT"
    result = await gql(IMPORT, {"d": "a,b\n1,2\n", "f": "CSV", "c": True})
    assert refusal(result)["code"] == "BAD_USER_INPUT"
    assert await snapshot(clean_engine, COUNTY) == before


async def test_tickets_are_listed_newest_first_in_pages_with_the_caller_masked(
    gql: GraphQLClient,
) -> None:
    await do_import(gql, [ticket(n) for n in range(1, 8)])
    seen: list[str] = []
    after = None
    while True:
        page = ok(await gql(TICKETS, {"c": COUNTY, "n": 3, "a": after}), "jurisdiction")[
            "hotlineTickets"
        ]
        assert page["totalCount"] == 7
        seen += [e["node"]["ticketNumber"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    times = {n: ticket(n)["receivedAt"] for n in range(1, 8)}
    expected = sorted(times, key=lambda n: (times[n], n), reverse=True)
    assert seen == [f"YN-2025-{n:06d}" for n in expected]
    first = ok(await gql(TICKETS, {"c": COUNTY, "n": 1}), "jurisdiction")["hotlineTickets"]
    caller = first["edges"][0]["node"]["caller"]
    assert caller == {"name": "王**", "phone": "+86871****3456", "masked": True}
    other = await gql(TICKETS, {"c": OTHER_COUNTY, "n": 1})
    assert refusal(other)["code"] == "NOT_FOUND"  # each node answers for its own tickets


async def test_a_ticket_is_converted_once_through_the_normal_registration(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    await do_import(gql, [ticket(1, petition=True), ticket(2)])
    case = ok(await gql(CONVERT, {"t": "YN-2025-000001"}), "convertHotlineTicket")
    assert case["channel"] == "HOTLINE_12345"
    assert (case["category"], case["summary"]) == ("劳动社保", "工资拖欠第1号")
    assert case["status"] == "REGISTERED"
    assert case["issueLocality"]["code"] == COUNTY
    # The node's own handler, stating a purpose, reads the caller clear (ADR 0018: audited).
    assert case["petitioner"] == {"name": "王小明", "masked": False}
    assert case["hotlineTicket"] == {
        "ticketNumber": "YN-2025-000001",
        "converted": True,
        "caseId": case["id"],
    }
    before = await snapshot(clean_engine, COUNTY)
    twice = await gql(CONVERT, {"t": "YN-2025-000001"})
    assert refusal(twice) == {"code": "ALREADY_CONVERTED", "field": "ticketId"}
    missing = await gql(CONVERT, {"t": "YN-2025-999999"})
    assert refusal(missing)["code"] == "NOT_FOUND"
    assert await snapshot(clean_engine, COUNTY) == before
    # A ticket not flagged may still be judged a petition by the handler, with another name.
    other = ok(await gql(CONVERT, {"t": "YN-2025-000002", "n": "王大明"}), "convertHotlineTicket")
    assert other["petitioner"]["name"] == "王大明"
    async with clean_engine.connect() as conn:
        rows = await conn.execute(
            text(
                f'SELECT t.ticket_number, c.channel, p.name FROM "{schema_for(COUNTY)}"'
                ".hotline_tickets t JOIN "
                f'"{schema_for(COUNTY)}".cases c ON c.id = t.case_id JOIN '
                f'"{schema_for(COUNTY)}".petitioners p ON p.case_id = c.id ORDER BY 1'
            )
        )
        assert [tuple(r) for r in rows] == [
            ("YN-2025-000001", "HOTLINE_12345", "王小明"),
            ("YN-2025-000002", "HOTLINE_12345", "王大明"),
        ]


async def test_two_conversions_at_once_register_one_petition(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    await do_import(gql, [ticket(1, petition=True)])
    results = await asyncio.gather(*(gql(CONVERT, {"t": "YN-2025-000001"}) for _ in range(4)))
    won = [r for r in results if not r.get("errors")]
    assert len(won) == 1
    assert {refusal(r)["code"] for r in results if r.get("errors")} == {"ALREADY_CONVERTED"}
    assert await count(clean_engine, COUNTY, "cases") == 1


async def test_the_same_file_imported_twice_at_once_is_kept_once(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    rows = [ticket(n, petition=n % 3 == 0) for n in range(1, 41)]
    first, second = await asyncio.gather(
        do_import(gql, rows, convert=True), do_import(gql, rows, convert=True)
    )
    assert sorted([first["imported"], second["imported"]]) == [0, 40]
    assert first["duplicates"] + second["duplicates"] == 40
    assert len(first["convertedCaseIds"]) + len(second["convertedCaseIds"]) == 13
    assert await count(clean_engine, COUNTY, "hotline_tickets") == 40
    assert await count(clean_engine, COUNTY, "cases") == 13


async def test_import_converts_the_flagged_tickets_and_each_matter_counts_once(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    rows = [ticket(n, petition=n <= 4) for n in range(1, 11)]
    report = await do_import(gql, rows, convert=True)
    assert (report["imported"], len(report["convertedCaseIds"])) == (10, 4)
    stats = ok(await gql(STATS, {"c": COUNTY}), "jurisdiction")["stats"]
    assert stats == {"eventCount": 4, "hotlineTickets": 6, "hotlineConverted": 4}
    # One more converted by hand: it leaves the ticket figure and joins the petition volume.
    ok(await gql(CONVERT, {"t": "YN-2025-000010"}), "convertHotlineTicket")
    stats = ok(await gql(STATS, {"c": COUNTY}), "jurisdiction")["stats"]
    assert stats == {"eventCount": 5, "hotlineTickets": 5, "hotlineConverted": 5}
    # Re-importing with convert converts nothing again.
    again = await do_import(gql, rows, convert=True)
    assert (again["duplicates"], again["convertedCaseIds"]) == (10, [])
    assert await count(clean_engine, COUNTY, "cases") == 5
    converted = ok(
        await gql(TICKETS, {"c": COUNTY, "n": 50, "f": {"converted": True}}), "jurisdiction"
    )["hotlineTickets"]
    assert converted["totalCount"] == 5
    assert all(e["node"]["case"]["channel"] == "HOTLINE_12345" for e in converted["edges"])


async def test_only_the_nodes_own_handler_imports_or_converts_there(
    gql: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    await do_import(gql, [ticket(1, petition=True)])
    before = await snapshot(clean_engine, COUNTY)
    others = [handler(OTHER_COUNTY), leader(COUNTY), leader("53"), handler("53")]
    for user in others:
        imported = await gql(IMPORT, {"d": jsonl([ticket(2)]), "f": "JSON", "c": True}, user=user)
        assert refusal(imported)["code"] == "FORBIDDEN", user
        converted = await gql(CONVERT, {"t": "YN-2025-000001"}, user=user)
        assert refusal(converted)["code"] == "FORBIDDEN", user
    assert await snapshot(clean_engine, COUNTY) == before
    # And at its own node a handler cannot place another node's tickets.
    report = await do_import(gql, [ticket(3, node=OTHER_COUNTY)], node=OTHER_COUNTY)
    assert report["imported"] == 1
    report = await do_import(gql, [ticket(4, node=COUNTY)], node=OTHER_COUNTY)
    assert [e["code"] for e in report["errors"]] == ["WRONG_NODE"]

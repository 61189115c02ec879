"""Intake at the township's governance centre (综治中心) and grid reports (网格员) becoming
registered cases."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import COUNTY, TOWNSHIP, GraphQLClient
from tests.roles import ok, petition, refusal, snapshot
from tests.township.conftest import register_at_centre

GRID = """mutation($i: GridReportInput!) { reportGridDispute(input: $i) {
  id status gridWorker grid personCount locality { code } caseId } }"""
REGISTER_GRID = """mutation($id: ID!, $k: String!) { registerGridReport(id: $id,
  petitionerName: "赵六", petitionerPhone: "13800001111", idempotencyKey: $k) {
  id channel category summary personCount status } }"""


def grid_report(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "gridWorker": "陈丽",
        "grid": "第三网格",
        "locality": TOWNSHIP,
        "category": "邻里纠纷",
        "summary": "两户因排水沟堵塞发生争执",
        "personCount": 2,
    }
    value.update(overrides)
    return value


async def test_the_governance_centre_records_the_window_that_received_the_petition(
    town: GraphQLClient,
) -> None:
    case = await register_at_centre(town, "centre-intake-1", window="MEDIATION")
    assert case["id"] == f"{TOWNSHIP}-2025-000001"
    assert case["status"] == "REGISTERED"
    again = await register_at_centre(town, "centre-intake-1", window="MEDIATION")
    assert again["id"] == case["id"]
    listed = ok(
        await town("{ governanceCenterIntakes { caseId window case { id status } } }"),
        "governanceCenterIntakes",
    )
    assert listed == [
        {
            "caseId": case["id"],
            "window": "MEDIATION",
            "case": {"id": case["id"], "status": "REGISTERED"},
        }
    ]
    only_legal = ok(
        await town("{ governanceCenterIntakes(window: LEGAL_ADVICE) { caseId } }"),
        "governanceCenterIntakes",
    )
    assert only_legal == []


async def test_a_bad_intake_is_refused_and_writes_nothing(
    town: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    before = await snapshot(clean_engine, TOWNSHIP)
    elsewhere = await town(
        "mutation($i: RegisterPetitionInput!) { registerAtGovernanceCenter(input: $i, "
        'window: PETITION_RECEPTION, idempotencyKey: "centre-bad-1") { id } }',
        {"i": petition(COUNTY)},  # the county itself is above this township
    )
    assert refusal(elsewhere) == {"code": "BAD_USER_INPUT", "field": "issueLocality"}
    unknown_window = await town(
        "mutation($i: RegisterPetitionInput!) { registerAtGovernanceCenter(input: $i, "
        'window: FRONT_DESK, idempotencyKey: "centre-bad-2") { id } }',
        {"i": petition(TOWNSHIP)},
    )
    assert refusal(unknown_window)["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert await snapshot(clean_engine, TOWNSHIP) == before


async def test_a_grid_report_becomes_a_registered_case_once(town: GraphQLClient) -> None:
    report = ok(await town(GRID, {"i": grid_report()}), "reportGridDispute")
    assert report["id"] == f"{TOWNSHIP}-GR-2025-000001"
    assert (report["status"], report["caseId"], report["locality"]) == (
        "REPORTED",
        None,
        {"code": TOWNSHIP},
    )
    case = ok(
        await town(REGISTER_GRID, {"id": report["id"], "k": "grid-case-0001"}),
        "registerGridReport",
    )
    assert (case["channel"], case["status"], case["personCount"]) == (
        "GRID_REPORT",
        "REGISTERED",
        2,
    )
    assert case["summary"] == "两户因排水沟堵塞发生争执"
    found = ok(
        await town(
            "query($id: ID!) { gridReport(id: $id) { status caseId case { id } } }",
            {"id": report["id"]},
        ),
        "gridReport",
    )
    assert found == {"status": "REGISTERED", "caseId": case["id"], "case": {"id": case["id"]}}
    twice = await town(REGISTER_GRID, {"id": report["id"], "k": "grid-case-0002"})
    assert refusal(twice) == {"code": "DUPLICATE", "field": "id"}
    pending = ok(await town("{ gridReports(status: REPORTED) { id } }"), "gridReports")
    assert pending == []


async def test_bad_grid_reports_are_refused_and_write_nothing(
    town: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    before = await snapshot(clean_engine, TOWNSHIP)
    cases = [
        (grid_report(locality="530102002"), "locality"),  # a neighbouring street
        (grid_report(locality="5301029"), "locality"),
        (grid_report(gridWorker="陈丽2"), "gridWorker"),
        (grid_report(summary="  "), "summary"),
        (grid_report(personCount=0), "personCount"),
    ]
    for bad, field in cases:
        assert refusal(await town(GRID, {"i": bad})) == {"code": "BAD_USER_INPUT", "field": field}
    unknown = await town(REGISTER_GRID, {"id": f"{TOWNSHIP}-GR-2025-000009", "k": "grid-case-0009"})
    assert refusal(unknown) == {"code": "NOT_FOUND", "field": "id"}
    assert await snapshot(clean_engine, TOWNSHIP) == before


async def test_a_grid_report_whose_petitioner_is_invalid_stays_reported(
    town: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    report = ok(await town(GRID, {"i": grid_report()}), "reportGridDispute")
    before = await snapshot(clean_engine, TOWNSHIP)
    bad = await town(
        'mutation($id: ID!) { registerGridReport(id: $id, petitionerName: "赵六", '
        'petitionerIdNumber: "110105194912310021", idempotencyKey: "grid-case-bad1") { id } }',
        {"id": report["id"]},
    )
    assert refusal(bad) == {"code": "BAD_USER_INPUT", "field": "petitionerIdNumber"}
    assert await snapshot(clean_engine, TOWNSHIP) == before


async def test_two_clerks_registering_one_grid_report_at_once_make_one_case(
    town: GraphQLClient,
) -> None:
    report = ok(await town(GRID, {"i": grid_report()}), "reportGridDispute")
    results = await asyncio.gather(
        town(REGISTER_GRID, {"id": report["id"], "k": "grid-race-0001"}),
        town(REGISTER_GRID, {"id": report["id"], "k": "grid-race-0002"}),
    )
    codes = sorted(refusal(r)["code"] if "errors" in r else "OK" for r in results)
    assert codes == ["DUPLICATE", "OK"]
    cases = ok(await town("{ cases { totalCount edges { node { id } } } }"), "cases")
    assert cases["totalCount"] == 1
    assert cases["edges"][0]["node"]["id"] == f"{TOWNSHIP}-2025-000001"  # no gap in the ids

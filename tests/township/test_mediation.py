"""Mediation before formal handling, with an outcome record feeding the resolution rate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from tests.conftest import TOWNSHIP, GraphQLClient
from tests.roles import ok, refusal, snapshot
from tests.township.conftest import act, register_at_centre

DAY = timedelta(days=1)
OUTCOME = """mutation($id: ID!, $o: MediationOutcome!, $m: String!, $c: Boolean!, $t: String!) {
  recordMediationOutcome(id: $id, outcome: $o, mediator: $m, partiesConsent: $c, text: $t) {
    id outcome mediator partiesConsent text case { status } } }"""


async def in_mediation(gql: GraphQLClient, key: str) -> str:
    case_id: str = (await register_at_centre(gql, key, window="MEDIATION"))["id"]
    ok(await act(gql, "acceptCase", case_id), "acceptCase")
    ok(await act(gql, "startMediation", case_id), "startMediation")
    return case_id


async def conclude(
    gql: GraphQLClient, case_id: str, outcome: str, consent: bool = True, mediator: str = "刘调解"
) -> dict[str, Any]:
    return await gql(
        OUTCOME, {"id": case_id, "o": outcome, "m": mediator, "c": consent, "t": "双方达成协议"}
    )


async def test_outcomes_move_the_case_and_count_in_the_resolution_rate(
    town: GraphQLClient, clock: FixedClock
) -> None:
    agreed = await in_mediation(town, "mediation-agreed")
    partial = await in_mediation(town, "mediation-partial")
    failed = await in_mediation(town, "mediation-failed")
    clock.advance(3 * DAY)
    first = ok(await conclude(town, agreed, "AGREEMENT"), "recordMediationOutcome")
    assert first["id"] == f"{TOWNSHIP}-MD-2025-000001"
    assert (first["outcome"], first["partiesConsent"], first["case"]) == (
        "AGREEMENT",
        True,
        {"status": "REPLIED"},  # the agreement is the reply
    )
    second = ok(await conclude(town, partial, "PARTIAL"), "recordMediationOutcome")
    assert second["case"] == {"status": "HANDLING"}  # the rest goes on to formal handling
    third = ok(await conclude(town, failed, "FAILED", consent=False), "recordMediationOutcome")
    assert third["case"] == {"status": "HANDLING"}
    figures = ok(
        await town("{ mediationFigures { mediations agreements partial failed resolutionRate } }"),
        "mediationFigures",
    )
    assert figures == {
        "mediations": 3,
        "agreements": 1,
        "partial": 1,
        "failed": 1,
        "resolutionRate": 1 / 3,
    }
    earlier = ok(
        await town(
            '{ mediationFigures(period: {from: "2025-03-01", to: "2025-03-05"}) '
            "{ mediations resolutionRate } }"
        ),
        "mediationFigures",
    )
    assert earlier == {"mediations": 0, "resolutionRate": None}
    events = ok(
        await town("query($id: ID!) { case(id: $id) { events { action } } }", {"id": agreed}),
        "case",
    )
    assert [e["action"] for e in events["events"]][-1] == "SETTLE_BY_MEDIATION"
    listed = ok(
        await town("query($c: ID!) { mediations(caseId: $c) { id } }", {"c": partial}),
        "mediations",
    )
    assert listed == [{"id": second["id"]}]


async def test_a_bad_outcome_is_refused_and_writes_nothing(
    town: GraphQLClient, clean_engine: AsyncEngine
) -> None:
    case_id = await in_mediation(town, "mediation-bad")
    not_mediating = (await register_at_centre(town, "mediation-not"))["id"]
    before = await snapshot(clean_engine, TOWNSHIP)
    no_consent = await conclude(town, case_id, "AGREEMENT", consent=False)
    assert refusal(no_consent) == {"code": "BAD_USER_INPUT", "field": "partiesConsent"}
    bad_mediator = await conclude(town, case_id, "FAILED", mediator="")
    assert refusal(bad_mediator) == {"code": "BAD_USER_INPUT", "field": "mediator"}
    assert refusal(await conclude(town, not_mediating, "FAILED"))["code"] == "INVALID_TRANSITION"
    elsewhere = await conclude(town, "530102-2025-000001", "FAILED")
    assert refusal(elsewhere) == {"code": "NOT_FOUND", "field": "id"}
    assert await snapshot(clean_engine, TOWNSHIP) == before

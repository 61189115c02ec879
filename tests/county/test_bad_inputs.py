"""Bad requests to the county subgraph: each is refused with one stable error code, a message a
person can act on, the offending field where there is one, and no change to the database."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from tests.conftest import START, GraphQLClient
from tests.county.helpers import (
    PERSON_B,
    REGISTER,
    act_ok,
    error_of,
    mutation,
    new_key,
    petition,
    register,
    resident_id,
    row_counts,
    table_snapshot,
)

DAY = timedelta(days=1)
KNOWN_KEY = "known-key-0001"

Setup = Callable[[GraphQLClient, FixedClock], Awaitable[str | None]]
Variables = Callable[[str], dict[str, Any]]


# -- the states a bad request is sent to ------------------------------------------------------


async def nothing(gql: GraphQLClient, clock: FixedClock) -> str | None:
    return None


async def registered(gql: GraphQLClient, clock: FixedClock) -> str | None:
    return str((await register(gql, KNOWN_KEY))["id"])


async def registered_yesterday(gql: GraphQLClient, clock: FixedClock) -> str | None:
    case_id = await registered(gql, clock)
    clock.advance(DAY)
    return case_id


async def accepted(gql: GraphQLClient, clock: FixedClock) -> str | None:
    case_id = await registered(gql, clock)
    assert case_id is not None
    await act_ok(gql, "acceptCase", case_id)
    return case_id


async def handling(gql: GraphQLClient, clock: FixedClock) -> str | None:
    case_id = await accepted(gql, clock)
    assert case_id is not None
    await act_ok(gql, "beginHandling", case_id)
    return case_id


async def extended(gql: GraphQLClient, clock: FixedClock) -> str | None:
    case_id = await handling(gql, clock)
    assert case_id is not None
    await act_ok(gql, "extendHandling", case_id, days=20, reason="经批准延期")
    return case_id


async def handling_period_over(gql: GraphQLClient, clock: FixedClock) -> str | None:
    case_id = await handling(gql, clock)
    clock.advance(70 * DAY)
    return case_id


async def replied(gql: GraphQLClient, clock: FixedClock) -> str | None:
    case_id = await handling(gql, clock)
    assert case_id is not None
    await act_ok(gql, "replyCase", case_id, outcome="EXPLAINED", text="解释说明")
    return case_id


async def rated(gql: GraphQLClient, clock: FixedClock) -> str | None:
    case_id = await replied(gql, clock)
    assert case_id is not None
    await act_ok(gql, "rateSatisfaction", case_id, rating="DISSATISFIED")
    return case_id


async def review_window_over(gql: GraphQLClient, clock: FixedClock) -> str | None:
    case_id = await replied(gql, clock)
    clock.advance(40 * DAY)
    return case_id


async def under_final_review(gql: GraphQLClient, clock: FixedClock) -> str | None:
    case_id = await replied(gql, clock)
    assert case_id is not None
    await act_ok(gql, "requestReview", case_id, reason="不服")
    await act_ok(gql, "recordReviewDecision", case_id, outcome="UPHELD", text="维持")
    await act_ok(gql, "requestFinalReview", case_id, reason="申请复核")
    return case_id


# -- the bad requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    name: str
    query: str
    variables: Variables
    code: str
    field: str | None = None
    setup: Setup = nothing


def registration(**overrides: Any) -> Variables:
    def variables(case_id: str) -> dict[str, Any]:
        return {"input": petition(**overrides), "key": new_key()}

    return variables


def bad_petition(name: str, field: str, **overrides: Any) -> Bad:
    """A registration whose input breaks one validation rule of ``field``."""
    return Bad(name, REGISTER, registration(**overrides), "BAD_USER_INPUT", field)


def on_case(**args: Any) -> Variables:
    def variables(case_id: str) -> dict[str, Any]:
        return {"id": case_id, **args}

    return variables


def with_id(case_id: str, **args: Any) -> Variables:
    def variables(_: str) -> dict[str, Any]:
        return {"id": case_id, **args}

    return variables


def plain(**values: Any) -> Variables:
    def variables(_: str) -> dict[str, Any]:
        return dict(values)

    return variables


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


CASES_PAGE = """
query Page($first: Int!, $after: String, $filter: CaseFilter) {
  cases(first: $first, after: $after, filter: $filter) { totalCount edges { node { id } } }
}
"""
STATS = "query Stats($period: Period) { stats(period: $period) { eventCount } }"
READ_CASE = "query Read($id: ID!) { case(id: $id) { id } }"
ACCEPT = mutation("acceptCase")
TRANSFER = mutation("transferCase")
ASSIGN = mutation("assignCase")
EXTEND = mutation("extendHandling")
REPLY = mutation("replyCase")
DELIVERY = mutation("recordDelivery")
HEARING = mutation("recordHearing")
LONG_AGO = (START - 61 * DAY).isoformat()

BAD_INPUTS = [
    # -- registration: the petitioner -------------------------------------------------------
    bad_petition(
        "id-check-character", "petitionerIdNumber", petitionerIdNumber="110105194912310021"
    ),
    bad_petition(
        "id-birth-date-in-the-future",
        "petitionerIdNumber",
        petitionerIdNumber=resident_id("11010520900101123"),
    ),
    bad_petition(
        "id-birth-date-not-a-date",
        "petitionerIdNumber",
        petitionerIdNumber=resident_id("11010519490230123"),
    ),
    bad_petition(
        "id-15-characters-of-garbage", "petitionerIdNumber", petitionerIdNumber="ABCDEFGHIJKLMNO"
    ),
    bad_petition(
        "id-unknown-province",
        "petitionerIdNumber",
        petitionerIdNumber=resident_id("99010519491231002"),
    ),
    bad_petition("id-wrong-length", "petitionerIdNumber", petitionerIdNumber="1101051949"),
    bad_petition("phone-too-short", "petitionerPhone", petitionerPhone="12345"),
    bad_petition("phone-mobile-prefix-12", "petitionerPhone", petitionerPhone="12012345678"),
    bad_petition("name-empty", "petitionerName", petitionerName=""),
    bad_petition("name-blank", "petitionerName", petitionerName="   "),
    bad_petition("name-with-digits", "petitionerName", petitionerName="张3"),
    bad_petition("name-with-symbols", "petitionerName", petitionerName="张三@"),
    bad_petition("address-one-character", "petitionerAddress", petitionerAddress="甲"),
    # -- registration: the matter -----------------------------------------------------------
    bad_petition("summary-over-2000-characters", "summary", summary="诉" * 2001),
    bad_petition("summary-blank", "summary", summary=" \n "),
    bad_petition("summary-with-bidi-override", "summary", summary="补偿\u202e款"),
    bad_petition("category-over-50-characters", "category", category="类" * 51),
    bad_petition("category-blank", "category", category="  "),
    bad_petition("person-count-0", "personCount", personCount=0),
    bad_petition("person-count-10001", "personCount", personCount=10001),
    bad_petition("locality-in-another-county", "issueLocality", issueLocality="530103001"),
    bad_petition("locality-the-parent-city", "issueLocality", issueLocality="5301"),
    bad_petition("locality-not-a-real-county", "issueLocality", issueLocality="530199"),
    bad_petition("locality-not-a-real-township", "issueLocality", issueLocality="530102999"),
    bad_petition("locality-malformed", "issueLocality", issueLocality="53A102"),
    bad_petition("locality-empty", "issueLocality", issueLocality=""),
    bad_petition("received-from-own-node", "receivedFrom", receivedFrom="530102"),
    bad_petition("received-from-unknown-node", "receivedFrom", receivedFrom="530199"),
    bad_petition("received-at-in-the-future", "receivedAt", receivedAt=(START + DAY).isoformat()),
    bad_petition("received-at-without-zone", "receivedAt", receivedAt="2025-03-02T10:00:00"),
    bad_petition("received-at-61-days-ago", "receivedAt", receivedAt=LONG_AGO),
    Bad(
        "idempotency-key-too-short",
        REGISTER,
        plain(input=petition(), key="short"),
        "BAD_USER_INPUT",
        "idempotencyKey",
    ),
    Bad(
        "idempotency-key-with-spaces",
        REGISTER,
        plain(input=petition(), key="key with spaces"),
        "BAD_USER_INPUT",
        "idempotencyKey",
    ),
    Bad(
        "idempotency-key-reused-for-other-content",
        REGISTER,
        plain(input=petition(petitionerIdNumber=PERSON_B), key=KNOWN_KEY),
        "DUPLICATE",
        "idempotencyKey",
        registered,
    ),
    # -- registration: schema-level errors ---------------------------------------------------
    Bad(
        "channel-unknown-enum-value-in-a-variable",
        REGISTER,
        plain(input=petition(channel="SMOKE_SIGNAL"), key="variable-key-1"),
        "BAD_USER_INPUT",
    ),
    Bad(
        "channel-unknown-enum-value-inline",
        """mutation { registerPetition(idempotencyKey: "inline-key-1", input: {
             channel: SMOKE_SIGNAL, category: "c", summary: "s", issueLocality: "530102",
             petitionerName: "张三" }) { id } }""",
        plain(),
        "GRAPHQL_VALIDATION_FAILED",
    ),
    Bad(
        "person-count-as-a-string",
        REGISTER,
        plain(input=petition(personCount="3"), key="variable-key-2"),
        "BAD_USER_INPUT",
    ),
    Bad(
        "person-count-beyond-32-bits",
        REGISTER,
        plain(input=petition(personCount=3_000_000_000), key="variable-key-3"),
        "BAD_USER_INPUT",
    ),
    Bad(
        "received-at-not-a-time",
        REGISTER,
        plain(input=petition(receivedAt="yesterday"), key="variable-key-4"),
        "BAD_USER_INPUT",
    ),
    Bad(
        "petitioner-name-missing-from-the-input",
        REGISTER,
        plain(
            input={k: v for k, v in petition().items() if k != "petitionerName"},
            key="variable-key-5",
        ),
        "BAD_USER_INPUT",
    ),
    Bad(
        "idempotency-key-argument-missing",
        """mutation($input: RegisterPetitionInput!) { registerPetition(input: $input) { id } }""",
        plain(input=petition()),
        "GRAPHQL_VALIDATION_FAILED",
    ),
    Bad("query-syntax-error", "mutation { acceptCase(id: ", plain(), "GRAPHQL_PARSE_FAILED"),
    # -- case ids ---------------------------------------------------------------------------
    Bad(
        "accept-an-unknown-case",
        ACCEPT,
        with_id("530102-2025-999999"),
        "NOT_FOUND",
        None,
        registered,
    ),
    Bad("accept-a-malformed-case-id", ACCEPT, with_id("not-a-case"), "BAD_USER_INPUT", "id"),
    Bad(
        "accept-a-case-of-another-node",
        ACCEPT,
        with_id("530103-2025-000001"),
        "NOT_FOUND",
        "id",
        registered,
    ),
    Bad(
        "accept-without-an-id",
        "mutation { acceptCase { id } }",
        plain(),
        "GRAPHQL_VALIDATION_FAILED",
    ),
    Bad("read-a-malformed-case-id", READ_CASE, with_id("530102-25-1"), "BAD_USER_INPUT", "id"),
    # -- routing ----------------------------------------------------------------------------
    Bad(
        "transfer-to-itself",
        TRANSFER,
        on_case(to="530102", reason="转送"),
        "BAD_USER_INPUT",
        "to",
        registered,
    ),
    Bad(
        "transfer-to-a-code-that-does-not-exist",
        TRANSFER,
        on_case(to="530199", reason="转送"),
        "BAD_USER_INPUT",
        "to",
        registered,
    ),
    Bad(
        "transfer-to-a-malformed-code",
        TRANSFER,
        on_case(to="53-01", reason="转送"),
        "BAD_USER_INPUT",
        "to",
        registered,
    ),
    Bad(
        "transfer-with-a-blank-reason",
        TRANSFER,
        on_case(to="530103", reason="   "),
        "BAD_USER_INPUT",
        "reason",
        registered,
    ),
    Bad(
        "transfer-with-a-reason-over-1000-characters",
        TRANSFER,
        on_case(to="530103", reason="因" * 1001),
        "BAD_USER_INPUT",
        "reason",
        registered,
    ),
    Bad(
        "assign-due-in-the-past",
        ASSIGN,
        on_case(to="530102001", due="2025-03-01"),
        "BAD_USER_INPUT",
        "due",
        registered,
    ),
    Bad(
        "assign-due-today",
        ASSIGN,
        on_case(to="530102001", due="2025-03-03"),
        "BAD_USER_INPUT",
        "due",
        registered,
    ),
    Bad(
        "assign-due-in-91-days",
        ASSIGN,
        on_case(to="530102001", due="2025-06-02"),
        "BAD_USER_INPUT",
        "due",
        registered,
    ),
    Bad(
        "assign-due-not-a-date",
        ASSIGN,
        on_case(to="530102001", due="2025-02-30"),
        "BAD_USER_INPUT",
        None,
        registered,
    ),
    Bad(
        "object-to-a-case-nobody-transferred-here",
        mutation("raiseCompetenceObjection"),
        on_case(reason="不属本机关职权"),
        "INVALID_TRANSITION",
        None,
        registered,
    ),
    # -- acceptance and handling -------------------------------------------------------------
    Bad(
        "accept-with-an-on-the-spot-notice-a-day-late",
        ACCEPT,
        on_case(notifiedOnSpot=True),
        "BAD_USER_INPUT",
        "notifiedOnSpot",
        registered_yesterday,
    ),
    Bad("accept-twice", ACCEPT, on_case(), "INVALID_TRANSITION", None, accepted),
    Bad(
        "extend-by-0-days",
        EXTEND,
        on_case(days=0, reason="延期"),
        "BAD_USER_INPUT",
        "days",
        handling,
    ),
    Bad(
        "extend-by-31-days",
        EXTEND,
        on_case(days=31, reason="延期"),
        "BAD_USER_INPUT",
        "days",
        handling,
    ),
    Bad(
        "extend-twice",
        EXTEND,
        on_case(days=5, reason="再次延期"),
        "INVALID_TRANSITION",
        None,
        extended,
    ),
    Bad(
        "extend-after-the-handling-period",
        EXTEND,
        on_case(days=10, reason="延期"),
        "DEADLINE_PASSED",
        None,
        handling_period_over,
    ),
    Bad(
        "reply-with-empty-text",
        REPLY,
        on_case(outcome="SUPPORTED", text=""),
        "BAD_USER_INPUT",
        "text",
        handling,
    ),
    Bad(
        "reply-with-text-over-2000-characters",
        REPLY,
        on_case(outcome="SUPPORTED", text="答" * 2001),
        "BAD_USER_INPUT",
        "text",
        handling,
    ),
    Bad(
        "delivery-recorded-in-the-future",
        DELIVERY,
        on_case(deliveredAt=(START + 30 * DAY).isoformat()),
        "BAD_USER_INPUT",
        "deliveredAt",
        replied,
    ),
    Bad(
        "delivery-before-the-reply-was-given",
        DELIVERY,
        on_case(deliveredAt=(START - DAY).isoformat()),
        "BAD_USER_INPUT",
        "deliveredAt",
        replied,
    ),
    Bad(
        "delivery-at-a-time-without-zone",
        DELIVERY,
        on_case(deliveredAt="2025-03-03T09:00:00"),
        "BAD_USER_INPUT",
        "deliveredAt",
        replied,
    ),
    Bad(
        "delivery-recorded-before-the-reply",
        DELIVERY,
        on_case(deliveredAt=START.isoformat()),
        "INVALID_TRANSITION",
        None,
        handling,
    ),
    Bad(
        "reply-with-an-unknown-outcome",
        REPLY,
        on_case(outcome="MAYBE", text="答复"),
        "BAD_USER_INPUT",
        None,
        handling,
    ),
    # -- after the reply ---------------------------------------------------------------------
    Bad(
        "request-review-before-the-reply",
        mutation("requestReview"),
        on_case(reason="不服"),
        "INVALID_TRANSITION",
        None,
        handling,
    ),
    Bad(
        "request-review-after-the-window",
        mutation("requestReview"),
        on_case(reason="不服"),
        "DEADLINE_PASSED",
        None,
        review_window_over,
    ),
    Bad(
        "close-while-the-review-window-is-open",
        mutation("closeCase"),
        on_case(),
        "INVALID_TRANSITION",
        None,
        rated,
    ),
    Bad(
        "rate-twice",
        mutation("rateSatisfaction"),
        on_case(rating="SATISFIED"),
        "DUPLICATE",
        None,
        rated,
    ),
    Bad(
        "hearing-of-0-days", HEARING, on_case(days=0), "BAD_USER_INPUT", "days", under_final_review
    ),
    Bad(
        "hearing-of-61-days",
        HEARING,
        on_case(days=61),
        "BAD_USER_INPUT",
        "days",
        under_final_review,
    ),
    # -- queries ----------------------------------------------------------------------------
    Bad("cases-first-0", CASES_PAGE, plain(first=0), "BAD_USER_INPUT", "first"),
    Bad("cases-first-501", CASES_PAGE, plain(first=501), "BAD_USER_INPUT", "first"),
    Bad(
        "cases-after-a-bogus-cursor",
        CASES_PAGE,
        plain(first=10, after="bogus"),
        "BAD_USER_INPUT",
        "after",
        registered,
    ),
    Bad(
        "cases-after-a-cursor-without-a-time",
        CASES_PAGE,
        plain(first=10, after=cursor("yesterday|530102-2025-000001")),
        "BAD_USER_INPUT",
        "after",
        registered,
    ),
    Bad(
        "cases-after-a-cursor-that-is-not-text",
        CASES_PAGE,
        plain(first=10, after=base64.urlsafe_b64encode(b"\xff\xfe\xfd|x").decode()),
        "BAD_USER_INPUT",
        "after",
        registered,
    ),
    Bad(
        "cases-in-a-period-ending-before-it-starts",
        CASES_PAGE,
        plain(first=10, filter={"period": {"from": "2025-03-10", "to": "2025-03-01"}}),
        "BAD_USER_INPUT",
        "period",
    ),
    Bad(
        "cases-with-an-unknown-status-inline",
        "{ cases(filter: {status: [LOST]}) { totalCount } }",
        plain(),
        "GRAPHQL_VALIDATION_FAILED",
    ),
    Bad(
        "cases-asking-for-an-unknown-field",
        "{ cases { totalCount nonsense } }",
        plain(),
        "GRAPHQL_VALIDATION_FAILED",
    ),
    Bad(
        "stats-in-a-period-ending-before-it-starts",
        STATS,
        plain(period={"from": "2025-03-10", "to": "2025-03-09"}),
        "BAD_USER_INPUT",
        "period",
    ),
    Bad(
        "stats-over-more-than-ten-years",
        STATS,
        plain(period={"from": "2010-01-01", "to": "2025-03-01"}),
        "BAD_USER_INPUT",
        "period",
    ),
    Bad(
        "cases-of-another-node",
        '{ jurisdiction(code: "530103") { cases { totalCount } } }',
        plain(),
        "NOT_FOUND",
        "code",
    ),
]


def test_the_bad_inputs_are_distinct_and_many() -> None:
    names = [bad.name for bad in BAD_INPUTS]
    assert len(set(names)) == len(names)
    requests = {
        (bad.query, repr({k: v for k, v in bad.variables("X").items() if k != "key"}), bad.setup)
        if bad.query == REGISTER and bad.variables("X").get("key", "").startswith("test-key-")
        else (bad.query, repr(bad.variables("X")), bad.setup)
        for bad in BAD_INPUTS
    }
    assert len(requests) == len(BAD_INPUTS)
    assert len(BAD_INPUTS) >= 30


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[bad.name for bad in BAD_INPUTS])
async def test_a_bad_request_is_refused_with_its_code_and_changes_nothing(
    bad: Bad, gql: GraphQLClient, clock: FixedClock, clean_engine: AsyncEngine
) -> None:
    case_id = await bad.setup(gql, clock)
    before = await table_snapshot(clean_engine)
    counts = await row_counts(clean_engine)

    result = await gql(bad.query, bad.variables(case_id or ""))

    error = error_of(result)
    extensions = error["extensions"]
    assert extensions["code"] == bad.code, error
    message = error["message"]
    assert isinstance(message, str)
    assert message.strip()
    assert "internal" not in message.lower()
    assert extensions.get("field") == bad.field, error
    assert nothing_answered(result.get("data"))
    assert await row_counts(clean_engine) == counts
    assert await table_snapshot(clean_engine) == before


def nothing_answered(data: object) -> bool:
    """Null, or objects holding only nulls (a refused nullable field under its parent)."""
    return data is None or (
        isinstance(data, dict) and all(nothing_answered(v) for v in data.values())
    )


async def test_a_bad_request_gets_the_same_code_every_time(gql: GraphQLClient) -> None:
    """The enum error is not a race between validation layers: it is stable."""
    variables = {"input": petition(channel="SMOKE_SIGNAL"), "key": "stable-key-01"}
    codes = {(await gql(REGISTER, variables))["errors"][0]["extensions"]["code"] for _ in range(5)}
    assert codes == {"BAD_USER_INPUT"}


@pytest.mark.parametrize("code", ["530112", "999999", "nonsense"])
async def test_an_unknown_node_path_is_a_404_with_node_not_found(
    code: str, client: httpx.AsyncClient, clean_engine: AsyncEngine
) -> None:
    before = await row_counts(clean_engine)
    response = await client.post(
        f"/nodes/{code}/graphql",
        json={"query": REGISTER, "variables": {"input": petition(), "key": new_key()}},
    )
    assert response.status_code == 404
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "NODE_NOT_FOUND"
    assert code in body["errors"][0]["message"]
    assert await row_counts(clean_engine) == before


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param(
            {"input": {k: v for k, v in petition().items() if k != "petitionerName"}},
            id="input-missing-a-required-field",
        ),
        pytest.param(
            {"input": petition(petitionerIdNumber=110105194912310021, petitionerPhone=13912345678)},
            id="id-number-and-phone-sent-as-numbers",
        ),
    ],
)
async def test_a_refusal_never_repeats_the_petitioners_id_number_or_phone(
    variables: dict[str, Any], gql: GraphQLClient
) -> None:
    """PIPL Art. 28 / domain.md §6: error messages are logged, so they carry no personal data."""
    result = await gql(REGISTER, {**variables, "key": new_key()})
    assert result["data"] is None
    assert result["errors"]
    assert {e["extensions"]["code"] for e in result["errors"]} == {"BAD_USER_INPUT"}
    text = repr(result)
    assert "110105194912310021" not in text
    assert "11010519491231002X" not in text
    assert "13912345678" not in text

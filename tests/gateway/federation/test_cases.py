"""Every case's operations, answered by our gateway: exactly the expected data and errors."""

from __future__ import annotations

import pytest

from tests.gateway.federation.case import Case, Op
from tests.gateway.federation.cases import CASES
from tests.gateway.federation.compare import comparable
from tests.gateway.federation.conftest import Federation

OPERATIONS = [(case, op) for case in CASES for op in case.operations]
IDS = [f"{case.name} / {op.name}" for case, op in OPERATIONS]
# Known deviations of @apollo/gateway from GraphQL: strict, so a fixed Apollo is noticed.
LIKE_APOLLO = [
    pytest.param(
        case,
        op,
        id=f"{case.name} / {op.name}",
        marks=[pytest.mark.xfail(strict=True, reason=op.apollo_differs)]
        if op.apollo_differs
        else [],
    )
    for case, op in OPERATIONS
]


@pytest.mark.parametrize(("case", "op"), OPERATIONS, ids=IDS)
async def test_gateway_gives_the_expected_answer(
    federation: Federation, case: Case, op: Op
) -> None:
    env = await federation.start(case)
    answer = await env.ask(env.ours, op.query, op.variables)
    assert comparable(answer) == comparable(op.expected)
    if op.fetches is not None:
        assert {name: len(log) for name, log in env.requests.items()} == op.fetches


@pytest.mark.parametrize(("case", "op"), LIKE_APOLLO)
async def test_gateway_answers_like_apollo_gateway(
    federation: Federation, case: Case, op: Op
) -> None:
    env = await federation.with_apollo(case)
    ours = await env.ask(env.ours, op.query, op.variables)
    theirs = await env.ask(env.apollo or "", op.query, op.variables)
    assert comparable(ours, like_apollo=True) == comparable(theirs, like_apollo=True)

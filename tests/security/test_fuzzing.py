"""Property-based fuzzing of every mutation (issue 6, item 3): 10,000 generated inputs, through
the gateway and directly at the nodes of all four tiers, over real HTTP to real PostgreSQL.

Inputs are drawn by hypothesis from the schemas themselves (every mutation, every argument, by
type), mixing values a handler would send with the ones a hostile or broken client sends: ids
of real cases and of nothing, strings of every script, control characters and NUL, ten thousand
characters, SQL and HTML, integers at and beyond 32 bits, dates that do not exist, enum values
that are not, input objects missing required fields or carrying unknown ones, variables of the
wrong type. Each request comes from a handler of the node it targets, so it passes the scope
check and reaches the case engine.

Every answer must be: HTTP 200 or 400 (never 5xx), JSON, every error with a stable
``extensions.code`` that is not ``INTERNAL_SERVER_ERROR``; and a mutation that failed must have
written nothing: the row count of every table of every node is the same before and after
(nothing half-written). The tally is printed (run with ``-s``).
"""

from __future__ import annotations

import asyncio
import os
import string
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
    is_composite_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from shared.divisions import tier_of
from shared.persistence.migrate import schema_for
from shared.persistence.tables import metadata
from tests.identity import User
from tests.security.test_isolation_matrix import NODES, Platform, platform

__all__ = ["platform"]  # the fixture: seven nodes of four tiers behind a gateway

# Per surface (gateway, node): 10,000 in all; fewer with XINFANG_FUZZ_EXAMPLES while developing.
EXAMPLES = int(os.environ.get("XINFANG_FUZZ_EXAMPLES", "5000"))
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202e反转",
    "😀" * 50,
    "x" * 10_000,
    "'; DROP TABLE cases; --",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "%s%s%s%n",
    "\\",
    "\ud7ff",
    "null",
    "530102001-1",
    "530102001-999999999",
    "53",
    "99",
    "000000000",
    "5301020019",
    "-1",
]
ALLOWED_STATUS = (200, 400)


def strings() -> st.SearchStrategy[str]:
    plain = st.text(alphabet="土地征收邻里纠纷反映情况", min_size=1, max_size=20)
    return st.one_of(st.sampled_from(NASTY), st.text(max_size=40), plain, plain, plain)


@dataclass(frozen=True)
class CaseRef:
    """The ``index``-th case id known at the node when the request is sent (cases registered
    by earlier examples included): drawn as a number, so replaying an example draws the same."""

    index: int


def resolved(value: Any, own: list[str], others: list[str]) -> Any:
    if isinstance(value, CaseRef):
        pool = own if value.index % 5 else others
        return pool[value.index // 5 % len(pool)]
    if isinstance(value, list):
        return [resolved(v, own, others) for v in value]
    if isinstance(value, dict):
        return {k: resolved(v, own, others) for k, v in value.items()}
    return value


WRONG: st.SearchStrategy[Any] = st.sampled_from([None, 7, "x", [], {}, True, 1.5])


def value_of(type_: GraphQLInputType, name: str, nullable: bool = True) -> st.SearchStrategy[Any]:
    """Well-typed values for an argument or input field of ``type_`` (whatever their meaning:
    nasty strings, unknown ids, dates long past); ``broken`` makes one of them ill-typed."""
    if isinstance(type_, GraphQLNonNull):
        return value_of(type_.of_type, name, nullable=False)
    inner: st.SearchStrategy[Any]
    if isinstance(type_, GraphQLList):
        inner = st.lists(value_of(type_.of_type, name), max_size=4)
    elif isinstance(type_, GraphQLEnumType):
        inner = st.sampled_from(list(type_.values))
    elif isinstance(type_, GraphQLInputObjectType):
        fields = {k: value_of(f.type, k) for k, f in type_.fields.items()}
        required = [k for k, f in type_.fields.items() if isinstance(f.type, GraphQLNonNull)]
        inner = st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={k: v for k, v in fields.items() if k not in required},
        )
    else:
        assert isinstance(type_, GraphQLScalarType)
        inner = scalar(type_.name, name)
    return st.one_of(inner, st.none()) if nullable else inner


@st.composite
def broken(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with one part ill-typed: replaced, or an input object missing a field or
    carrying an unknown one."""
    if isinstance(value, dict) and value:
        how = draw(st.sampled_from(["drop", "extra", "replace"]))
        key = draw(st.sampled_from(sorted(value)))
        if how == "drop":
            return {k: v for k, v in value.items() if k != key}
        if how == "extra":
            return {**value, "unknownField": draw(WRONG)}
        return {**value, key: draw(st.one_of(WRONG, st.sampled_from(["", "NOPE"])))}
    return draw(st.one_of(WRONG, st.sampled_from(["", "NOPE", "2025-02-30", "now"])))


def scalar(kind: str, name: str) -> st.SearchStrategy[Any]:
    if kind == "ID":
        known = st.integers(0, 1_000).map(CaseRef)
        return st.one_of(known, known, strings(), st.sampled_from(NODES))
    if kind == "Int":
        return st.one_of(
            st.integers(-5, 400),
            st.sampled_from([0, -1, 2**31 - 1, -(2**31), 2**31, 2**53, -(2**63)]),
        )
    if kind == "Float":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "Boolean":
        return st.booleans()
    if kind == "Date":
        return st.one_of(
            st.dates().map(lambda d: d.isoformat()),
            st.sampled_from(["2025-02-30", "2025-13-01", "0000-00-00", "tomorrow", "2025-1-1"]),
        )
    if kind == "DateTime":
        return st.one_of(
            st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
            st.sampled_from(["2025-03-10T25:00:00Z", "2025-03-10", "now", "2025-03-10T02:00:00"]),
        )
    if name in ("issueLocality", "to", "competentBody"):
        return st.one_of(st.sampled_from(NODES), strings())
    if name.endswith("IdNumber"):
        return st.one_of(st.just("110101199003077777"), st.text(string.digits + "X", max_size=19))
    if name.endswith("Phone"):
        return st.one_of(st.just("13912345678"), st.text(string.digits + "+-", max_size=16))
    return strings()


def mutation_document(name: str, field_: GraphQLField) -> str:
    definitions = ", ".join(f"${a}: {arg.type}" for a, arg in field_.args.items())
    passed = ", ".join(f"{a}: ${a}" for a in field_.args)
    named = get_named_type(field_.type)
    selection = ""
    if is_composite_type(named):
        has_id = isinstance(named, GraphQLObjectType) and "id" in named.fields
        selection = " { __typename id }" if has_id else " { __typename }"
    head = f"mutation Fuzz({definitions})" if definitions else "mutation Fuzz"
    call = f"{name}({passed})" if passed else name
    return f"{head} {{ {call}{selection} }}"


@dataclass
class Tally:
    sent: int = 0
    succeeded: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    by_mutation: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


async def row_counts(platform: Platform, code: str) -> dict[str, int]:
    """Rows of every table of the node (not the subtree figures: ADR 0013's refresher). A
    mutation runs in one transaction at one node (its messages wait in that node's outbox;
    the relay is off here), so a partial write would show at that node."""
    schema = schema_for(code)
    parts = []
    for table in metadata.sorted_tables:
        if table.name.startswith("figures_"):
            continue
        where = " WHERE kind <> 'SUBTREE_FIGURES'" if table.name in ("outbox", "inbox") else ""
        parts.append(f"SELECT '{table.name}', count(*) FROM \"{schema}\".{table.name}{where}")
    async with platform.engine.connect() as conn:
        rows = (await conn.execute(text(" UNION ALL ".join(parts)))).all()
    return {str(label): int(count) for label, count in rows}


async def fire(
    platform: Platform,
    surface: str,
    code: str,
    name: str,
    document: str,
    variables: Mapping[str, Any],
    ids: dict[str, list[str]],
    counts: dict[str, dict[str, int]],
    tally: Tally,
) -> None:
    """Send one mutation and judge the answer; ``counts``: each node's row counts as last
    seen (nothing else writes meanwhile), so one count per request suffices."""
    before = counts.get(code) or await row_counts(platform, code)
    url = platform.gateway if surface == "gateway" else f"{platform.services}/nodes/{code}/graphql"
    body = {"query": document, "variables": dict(variables), "operationName": "Fuzz"}
    response = await platform.post(url, body, User(code).token())
    tally.sent += 1
    tally.by_mutation[name] += 1
    what = f"{surface} {code} {name} {str(variables)[:200]}"
    if response.status_code not in ALLOWED_STATUS:
        tally.failures.append(f"HTTP {response.status_code}: {what}: {response.text[:300]}")
        return
    try:
        answer = response.json()
    except ValueError:
        tally.failures.append(f"not JSON: {what}: {response.text[:300]}")
        return
    errors = answer.get("errors") or []
    for error in errors:
        error_code = (error.get("extensions") or {}).get("code")
        tally.codes[str(error_code)] += 1
        tally.messages[f"{error_code}: {str(error.get('message'))[:70]}"] += 1
        if not error_code or error_code == "INTERNAL_SERVER_ERROR":
            tally.failures.append(f"uncoded error {error}: {what}")
    result = (answer.get("data") or {}).get(name)
    after = counts[code] = await row_counts(platform, code)
    if result is None:
        changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
        if changed:
            tally.failures.append(f"PARTIAL WRITE {changed}: {what}: {errors[:2]}")
        return
    tally.succeeded += 1
    if isinstance(result, dict) and isinstance(result.get("id"), str):
        ids.setdefault(code, []).append(result["id"])


def run_fuzz(
    loop: asyncio.AbstractEventLoop,
    platform: Platform,
    surface: str,
    schemas: Mapping[str, GraphQLSchema],
    tally: Tally,
) -> None:
    """Hypothesis drives from this thread; each request runs on the test's event loop."""
    ids = {code: [case] for code, case in platform.cases.items()}
    seeded = list(platform.cases.values())
    counts: dict[str, dict[str, int]] = {}
    # Per node: its mutations, each with its document and its arguments' strategies (built
    # once: building them per example would cost more than the request).
    plans: dict[str, dict[str, tuple[str, dict[str, st.SearchStrategy[Any]]]]] = {}
    for code, schema in schemas.items():
        assert schema.mutation_type is not None
        plans[code] = {
            n: (mutation_document(n, f), {a: value_of(arg.type, a) for a, arg in f.args.items()})
            for n, f in sorted(schema.mutation_type.fields.items())
            if not n.startswith("_")
        }

    @st.composite
    def request(draw: st.DrawFn) -> tuple[str, str, str, dict[str, Any]]:
        code = draw(st.sampled_from(NODES))
        name = draw(st.sampled_from(sorted(plans[code])))
        document, arguments = plans[code][name]
        variables = {a: draw(strategy) for a, strategy in arguments.items()}
        if variables and draw(st.integers(0, 4)) == 0:  # one in five: one part ill-typed
            key = draw(st.sampled_from(sorted(variables)))
            variables[key] = draw(broken(variables[key]))
        variables = {k: v for k, v in variables.items() if v is not None or draw(st.booleans())}
        return code, name, document, variables

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(request())
    def probe(drawn: tuple[str, str, str, dict[str, Any]]) -> None:
        code, name, document, drawn_variables = drawn
        # Four in five: the node's own cases (the seeded one and those registered since);
        # else another node's.
        others = [c for c in seeded if c != platform.cases[code]]
        variables = resolved(drawn_variables, ids[code], others)
        future = asyncio.run_coroutine_threadsafe(
            fire(platform, surface, code, name, document, variables, ids, counts, tally), loop
        )
        future.result(timeout=120)

    probe()


async def test_ten_thousand_generated_mutations_no_500_no_uncoded_error_no_partial_write(
    platform: Platform,
) -> None:
    loop = asyncio.get_running_loop()
    gateway_schemas = dict.fromkeys(NODES, platform.supergraph)
    node_schemas = {code: platform.tier_schemas[tier_of(code)] for code in NODES}
    tallies = {"gateway": Tally(), "node": Tally()}
    await asyncio.to_thread(
        run_fuzz, loop, platform, "gateway", gateway_schemas, tallies["gateway"]
    )
    await asyncio.to_thread(run_fuzz, loop, platform, "node", node_schemas, tallies["node"])
    total = sum(t.sent for t in tallies.values())
    for surface, tally in tallies.items():
        print(
            f"fuzzing {surface}: {tally.sent:,} mutations, {tally.succeeded:,} succeeded, "
            f"{len(tally.by_mutation)} kinds; codes: {dict(tally.codes.most_common(12))}"
        )
        for message, times in tally.messages.most_common(8):
            print(f"  {times:6}  {message}")
    failures = [f for t in tallies.values() for f in t.failures]
    assert not failures, f"{len(failures)} of {total}:\n" + "\n".join(failures[:20])
    assert total >= 2 * EXAMPLES
    every = (
        set(platform.supergraph.mutation_type.fields)
        if platform.supergraph.mutation_type
        else set()
    )
    assert set(tallies["gateway"].by_mutation) >= every - {"_service"}
    # The inputs reached the case engine: some succeeded, most were refused with a reason.
    assert all(t.succeeded > 0 for t in tallies.values())
    assert {"INVALID_TRANSITION", "NOT_FOUND", "BAD_USER_INPUT"} <= set(tallies["node"].codes)


async def test_what_the_fuzzing_found_is_refused_at_the_door(platform: Platform) -> None:
    """Two findings, kept: a NUL character (PostgreSQL text cannot hold one; it failed inside a
    write as an internal error) and a tier's own mutation sent to a node of another tier (the
    node answered a validation error about a schema the caller never saw)."""
    case = platform.cases["530102"]
    hearing = "mutation Fuzz($id: ID!) { recordReviewHearing(id: $id, days: 3) { id } }"
    for url in (platform.gateway, f"{platform.services}/nodes/530102/graphql"):
        for variables, query in (
            ({"id": "\x00"}, hearing),
            ({"id": case}, hearing.replace("days: 3", 'days: 3, note: "\\u0000"')),
        ):
            response = await platform.post(
                url, {"query": query, "variables": variables}, User("530102").token()
            )
            assert response.status_code in (200, 400)
            codes = [e["extensions"]["code"] for e in response.json()["errors"]]
            assert codes[0] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"), codes
    nul = await platform.post(
        f"{platform.services}/nodes/530102/graphql",
        {"query": hearing, "variables": {"id": "a\x00b"}},
        User("530102").token(),
    )
    assert nul.json()["errors"][0]["message"] == "text may not contain the NUL character (U+0000)"

    fast_track = f'mutation {{ takeFastTrack(id: "{case}") {{ id }} }}'
    response = await platform.post(platform.gateway, {"query": fast_track}, User("530102").token())
    [error] = response.json()["errors"]
    assert error["extensions"] == {
        "code": "WRONG_TIER",
        "field": "takeFastTrack",
        "jurisdiction": "530102",
        "tiers": ["TOWNSHIP"],
    }
    assert error["path"] == ["takeFastTrack"]

    # A third: a period at the very start of the calendar overflowed day arithmetic.
    report = 'mutation { fileStatisticsReport(period: {from: "0001-01-01", to: "0001-01-01"})'
    report += " { messageId } }"
    response = await platform.post(
        f"{platform.services}/nodes/5301/graphql", {"query": report}, User("5301").token()
    )
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 1949-10-01 and 2199-12-31" in error["message"]

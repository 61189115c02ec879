"""Traces: a request's spans down to SQL, and a petition's messages as linked traces."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from shared.telemetry import exporter_from_env
from tests.conftest import CITY, COUNTY, TOWNSHIP
from tests.messaging.network import Network, eventually, network
from tests.messaging.test_reviews_between_nodes import replied_township_case, review_at

DAY = timedelta(days=1)


def test_tracing_is_off_unless_the_environment_asks_for_it() -> None:
    assert exporter_from_env({}) is None
    assert exporter_from_env({"OTEL_TRACES_EXPORTER": "none"}) is None
    assert isinstance(exporter_from_env({"OTEL_TRACES_EXPORTER": "console"}), ConsoleSpanExporter)
    otlp = exporter_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert type(otlp).__name__ == "OTLPSpanExporter"
    with pytest.raises(ValueError, match="otlp, console or none"):
        exporter_from_env({"OTEL_TRACES_EXPORTER": "zipkin"})


def by_trace(spans: Sequence[ReadableSpan], trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans if s.context is not None and s.context.trace_id == trace_id]


def descendants(spans: Sequence[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    assert root.context is not None
    found: list[ReadableSpan] = []
    frontier = {root.context.span_id}
    while frontier:
        children = [s for s in spans if s.parent is not None and s.parent.span_id in frontier]
        found.extend(children)
        frontier = {s.context.span_id for s in children if s.context is not None}
    return found


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    matching = [s for s in spans if s.name == name]
    assert len(matching) == 1, [s.name for s in spans]
    return matching[0]


def is_sql(span: ReadableSpan) -> bool:
    attributes: Any = span.attributes or {}
    return "db.system" in attributes or "db.system.name" in attributes


async def test_a_review_chain_reads_as_linked_traces_down_to_sql(
    spans: InMemorySpanExporter, clean_engine: AsyncEngine, clock: FixedClock
) -> None:
    async with network(clean_engine, clock, [TOWNSHIP, COUNTY, CITY]) as net:
        case_id = await replied_township_case(net, clock, "traced-review")
        clock.advance(5 * DAY)
        spans.clear()
        opened = await net.gql(
            COUNTY,
            'mutation($c: ID!) { openReview(caseId: $c, reason: "对答复不服") { id } }',
            c=case_id,
        )
        review_id = opened["openReview"]["id"]

        async def review_open() -> dict[str, Any] | None:
            review = await review_at(net, COUNTY, review_id)
            return review if review["status"] == "OPEN" else None

        await eventually(review_open)
        await delivered(net)
    finished = list(spans.get_finished_spans())
    deliver = one(finished, "xinfang.message.deliver REVIEW_REQUEST")
    assert deliver.context is not None
    assert len(deliver.links) == 1

    # The county's request (its server span) wrote the message; its SQL lies beneath it.
    request = next(
        s
        for s in finished
        if s.kind is SpanKind.SERVER
        and s.context is not None
        and s.context.trace_id == deliver.links[0].context.trace_id
    )
    assert request.context is not None
    assert request.name == "POST /nodes/{code}/graphql"
    assert (request.attributes or {})["xinfang.node"] == COUNTY
    assert any(is_sql(s) for s in descendants(finished, request))

    # Its message to the township: a new trace, linked to the request's.
    assert deliver.parent is None
    assert deliver.context.trace_id != request.context.trace_id
    assert [link.context.trace_id for link in deliver.links] == [request.context.trace_id]
    assert (deliver.attributes or {})["xinfang.message.recipient"] == TOWNSHIP
    # The township's server span continues the delivery's trace (traceparent), and applies the
    # message with its SQL.
    delivery_trace = descendants(finished, deliver)
    server = [s for s in delivery_trace if s.kind is SpanKind.SERVER]
    assert len(server) == 1
    assert server[0].name == "POST /nodes/{code}/messages"
    assert (server[0].attributes or {})["xinfang.node"] == TOWNSHIP
    apply = one(delivery_trace, "xinfang.message.apply REVIEW_REQUEST")
    assert apply.parent is not None
    assert server[0].context is not None
    assert apply.parent.span_id == server[0].context.span_id
    assert (apply.attributes or {})["xinfang.message.receipt"] == "applied"
    assert any(is_sql(s) for s in descendants(finished, apply))

    # The township's answer back to the county is linked to the trace that delivered the request.
    answer = one(finished, "xinfang.message.deliver REVIEW_OPENED")
    assert answer.context is not None
    assert [link.context.trace_id for link in answer.links] == [deliver.context.trace_id]
    county_apply = one(descendants(finished, answer), "xinfang.message.apply REVIEW_OPENED")
    assert (county_apply.attributes or {})["xinfang.message.recipient"] == COUNTY


async def delivered(net: Network) -> None:
    """Let every relay finish its round, so the spans of every delivery have ended."""
    for server in net.servers.values():
        for service in server.app.state.services:
            if service.relay is not None:
                await service.relay.drain()

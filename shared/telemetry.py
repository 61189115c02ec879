"""Tracing with OpenTelemetry: one trace per request across the gateway, the nodes and their SQL.

Off unless configured, by the standard variables:

- ``OTEL_TRACES_EXPORTER``: ``otlp`` (the default when an OTLP endpoint is set), ``console``
  or ``none``; ``OTEL_SDK_DISABLED=true`` turns everything off;
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (OTLP over HTTP),
  ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_BSP_*`` as the SDK reads them.

When on: every ASGI app built afterwards gets server spans (W3C ``traceparent`` is honoured),
every httpx request (and every subgraph request of the gateway) a client span that carries
``traceparent`` onwards, every asyncpg
statement a SQL span. Cross-node messages keep the context of the act that wrote them
(``Message.trace_context``); delivering and applying one starts a new trace *linked* to it, so
the life of a petition reads as a chain of linked traces.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Link, Span, SpanKind

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from shared.messaging.messages import Message

__all__ = [
    "client_span",
    "configure_tracing",
    "current_trace_context",
    "instrument_app",
    "message_span",
    "stage_span",
    "tracer",
    "tracing_enabled",
]

EXCLUDED_URLS = "/health,/ready,/dashboard"
_state: dict[str, TracerProvider] = {}


def tracer() -> trace.Tracer:
    return trace.get_tracer("xinfang")


def tracing_enabled() -> bool:
    return "provider" in _state


def exporter_from_env(env: Mapping[str, str]) -> SpanExporter | None:
    choice = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not choice:
        choice = "otlp" if endpoint else "none"
    if choice == "none":
        return None
    if choice == "console":
        return ConsoleSpanExporter()
    if choice == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # reads the OTEL_EXPORTER_OTLP_* variables itself
    raise ValueError(f"OTEL_TRACES_EXPORTER={choice!r}: use otlp, console or none")


def configure_tracing(
    service_name: str,
    environ: Mapping[str, str] | None = None,
    *,
    exporter: SpanExporter | None = None,
) -> TracerProvider | None:
    """Install the process's tracer provider and instrument httpx and asyncpg, once.

    ``exporter`` (tests: an in-memory one) wins over the environment and exports each span as
    it ends. Returns None when tracing stays off.
    """
    if "provider" in _state:
        return _state["provider"]
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    chosen = exporter if exporter is not None else exporter_from_env(env)
    if chosen is None:
        return None
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(chosen))
    else:
        provider.add_span_processor(BatchSpanProcessor(chosen))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _state["provider"] = provider
    return provider


@contextmanager
def stage_span(stage: str, **attributes: str | int) -> Iterator[None]:
    """A span for one stage of the gateway's pipeline (``xinfang.gateway.plan``, ...), so a trace
    shows where a request's time went before and between the subgraph fetches. Free when
    tracing is off."""
    if not tracing_enabled():
        yield
        return
    with tracer().start_as_current_span(f"xinfang.gateway.{stage}", attributes=attributes):
        yield


@contextmanager
def client_span(method: str, url: str, **attributes: str) -> Iterator[dict[str, str]]:
    """A client span for an HTTP request not sent by httpx (the gateway's subgraph client);
    yields the headers (``traceparent``, ...) that carry it onwards."""
    with tracer().start_as_current_span(
        f"{method} {attributes['xinfang.subgraph']}"
        if "xinfang.subgraph" in attributes
        else method,
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": method, "url.full": url, **attributes},
    ):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield carrier


def instrument_app(app: Starlette) -> None:
    """Server spans for the requests of ``app`` (not probes or static pages), if tracing is on."""
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app.add_middleware(
        OpenTelemetryMiddleware,
        excluded_urls=EXCLUDED_URLS,
        default_span_details=span_details,
        tracer_provider=_state["provider"],
    )


def span_details(scope: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A server span's name by route (``POST /nodes/{code}/graphql``), the node as attribute:
    span names stay few (1,607 nodes would make 1,607 names), the node stays searchable."""
    method = str(scope.get("method", "HTTP"))
    path = str(scope.get("path", ""))
    parts = path.split("/")
    attributes: dict[str, Any] = {"http.route": path}
    if len(parts) >= 4 and parts[1] == "nodes" and parts[2].isdigit():
        attributes = {
            "http.route": f"/nodes/{{code}}/{'/'.join(parts[3:])}",
            "xinfang.node": parts[2],
        }
    elif len(parts) >= 4 and parts[1] == "tiers":
        attributes = {
            "http.route": f"/tiers/{{tier}}/{'/'.join(parts[3:])}",
            "xinfang.tier": parts[2],
        }
    return f"{method} {attributes['http.route']}", attributes


def current_trace_context() -> dict[str, str]:
    """The active span's context as W3C headers (``traceparent``, ``tracestate``); {} if none."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def _links(trace_context: Mapping[str, str]) -> list[Link]:
    if not trace_context:
        return []
    origin = trace.get_current_span(propagate.extract(dict(trace_context))).get_span_context()
    return [Link(origin, {"xinfang.link": "message origin"})] if origin.is_valid else []


@contextmanager
def message_span(
    step: str, message: Message, *, kind: SpanKind, new_trace: bool = False
) -> Iterator[Span]:
    """A span for delivering or applying ``message``, linked to the act that wrote it.

    Delivery starts a new trace (``new_trace``): a message may wait in an outbox for hours, so
    it is not a child of the request that wrote it. Applying it is a child of the receiving
    request, which continues the delivery's trace through ``traceparent``.
    """
    with tracer().start_as_current_span(
        f"xinfang.message.{step} {message.kind.value}",
        context=trace.set_span_in_context(trace.INVALID_SPAN) if new_trace else None,
        kind=kind,
        links=_links(message.trace_context),
        attributes={
            "messaging.system": "xinfang",
            "messaging.operation.name": step,
            "messaging.message.id": message.id,
            "xinfang.message.kind": message.kind.value,
            "xinfang.message.sender": message.sender,
            "xinfang.message.recipient": message.recipient,
        },
    ) as span:
        yield span

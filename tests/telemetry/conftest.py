"""One in-memory span exporter for the session: tracing can be installed once per process."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.telemetry import configure_tracing

EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """The exporter, emptied; apps built after this fixture carry server spans."""
    configure_tracing("xinfang-test", environ={}, exporter=EXPORTER)
    EXPORTER.clear()
    return EXPORTER

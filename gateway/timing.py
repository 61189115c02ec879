"""Where one request's time went: the gateway's own work, and waiting on subgraphs.

Every ``/graphql`` answer over HTTP carries a ``Server-Timing`` header (W3C Server Timing, shown
by browsers' developer tools) with three metrics:

- ``subgraphs``: wall time during which at least one subgraph request of this request was in
  flight (the union of their intervals, so parallel fetches are not counted twice), with the
  number of HTTP requests sent in ``desc``;
- ``gateway``: the rest, the gateway's own work (checks, planning, building representations,
  shaping, encoding) and its waiting for the event loop;
- ``total``: from the request reaching the handler (before the token is checked) to the answer
  being encoded.

The split is what a leader's slow page needs first (is it the node or the gateway?) and what
``xinfang bench overview`` reports as the gateway's share. It costs two clock reads per
subgraph request. The numbers are durations only, in milliseconds: no URL, node or query.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

__all__ = ["RequestTiming", "current_timing", "parse_server_timing", "start_timing"]

_current: ContextVar[RequestTiming | None] = ContextVar("xinfang_request_timing", default=None)


class RequestTiming:
    """The clock of one request; subgraph waits are added by the fetcher (``enter``/``leave``)."""

    __slots__ = ("_open", "_since", "finished", "requests", "started", "subgraph_seconds")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.finished: float | None = None
        self.subgraph_seconds = 0.0
        self.requests = 0
        self._open = 0
        self._since = 0.0

    def enter(self) -> None:
        """A subgraph request starts (the first of overlapping ones starts the interval)."""
        if self._open == 0:
            self._since = time.perf_counter()
        self._open += 1
        self.requests += 1

    def leave(self) -> None:
        """A subgraph request ended (answered, failed or cancelled)."""
        self._open -= 1
        if self._open == 0:
            self.subgraph_seconds += time.perf_counter() - self._since

    def finish(self) -> None:
        self.finished = time.perf_counter()

    @property
    def total_seconds(self) -> float:
        end = self.finished if self.finished is not None else time.perf_counter()
        return end - self.started

    @property
    def gateway_seconds(self) -> float:
        return max(0.0, self.total_seconds - self.subgraph_seconds)

    def header(self) -> str:
        """The ``Server-Timing`` value, durations in ms."""
        return (
            f"gateway;dur={self.gateway_seconds * 1000:.2f}, "
            f'subgraphs;dur={self.subgraph_seconds * 1000:.2f};desc="{self.requests} requests", '
            f"total;dur={self.total_seconds * 1000:.2f}"
        )


def start_timing() -> RequestTiming:
    """A new clock for the request running in this context (tasks it starts share it)."""
    timing = RequestTiming()
    _current.set(timing)
    return timing


def current_timing() -> RequestTiming | None:
    return _current.get()


def parse_server_timing(value: str) -> dict[str, float]:
    """``{"gateway": ms, "subgraphs": ms, "total": ms}`` from a ``Server-Timing`` value."""
    metrics: dict[str, float] = {}
    for entry in value.split(","):
        name, _, params = entry.strip().partition(";")
        for param in params.split(";"):
            key, _, raw = param.strip().partition("=")
            if key == "dur":
                metrics[name] = float(raw)
    return metrics

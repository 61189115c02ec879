"""Stage 4: subgraph fetches over HTTP (one pooled keep-alive client per gateway, gateway/http.py).

Every failure of the transport (connection refused, timeout, a non-GraphQL answer) becomes a
GraphQL error with ``extensions.code = "SUBGRAPH_UNAVAILABLE"`` naming the subgraph: the
gateway answers with partial data, never with an HTTP 500.

Where requests go is the ``Router``'s decision. The default routes every subgraph to its URL in
the supergraph. Key-routed shards plug in here: a router that sends each representation of an
entity fetch to the node whose division code prefixes its key returns one ``RoutedBatch`` per
service URL; the fetcher runs the batches in parallel and stitches the results back in order.

Identical query fetches in flight at the same time (same URL, body and forwarded headers) share
one HTTP request, as Hive's gateway does by default: the second asker waits for the first's
answer and decodes its own copy of it. Mutations (and anything sent with ``retryable=False``)
are never shared. ``deduplicate=False`` turns this off.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import orjson
from graphql import (
    ArgumentNode,
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    value_from_ast_untyped,
)

from gateway.http import HttpClient, HttpError, HttpResponse, HttpTimeout
from gateway.timing import current_timing
from shared.telemetry import client_span, tracing_enabled

__all__ = [
    "SUBGRAPH_UNAVAILABLE",
    "EntitiesResponse",
    "RootField",
    "RoutedBatch",
    "Router",
    "StaticRouter",
    "SubgraphFetcher",
    "SubgraphResponse",
    "reindex_entity_error",
    "root_fields_of",
    "unavailable_error",
]

SUBGRAPH_UNAVAILABLE = "SUBGRAPH_UNAVAILABLE"
_TRANSIENT_STATUS = frozenset({502, 503, 504})
Representation = Mapping[str, Any]
GraphQLErrorDict = dict[str, Any]


@dataclass(frozen=True)
class RoutedBatch:
    """Representations (by their positions in the fetch) that go to one service URL."""

    url: str
    positions: tuple[int, ...]
    # What the errors of this batch should name when it fails (e.g. jurisdiction codes).
    labels: tuple[str, ...] = ()
    # Seconds to wait for this batch (e.g. the slowest node's timeout); None: the subgraph's.
    timeout: float | None = None


@dataclass(frozen=True)
class RootField:
    """A root field of a root fetch, with its arguments' values (variables resolved)."""

    name: str
    arguments: Mapping[str, Any]


class Router(Protocol):
    def url_for(self, subgraph: str) -> str:
        """The URL of a root (non-entity) fetch to ``subgraph``."""
        ...

    def route_root(
        self, subgraph: str, root_fields: Sequence[RootField], home: str | None = None
    ) -> RoutedBatch:
        """Where a root fetch goes, given its root fields (``positions`` is empty); ``home``:
        the caller's own node, where root fields naming no node run (a key router's choice)."""
        ...

    def route_entities(
        self, subgraph: str, representations: Sequence[Representation]
    ) -> Sequence[RoutedBatch]:
        """Group an entity fetch's representations per service URL."""
        ...


@dataclass(frozen=True)
class StaticRouter:
    """One URL per subgraph: the supergraph's ``@join__graph(url:)`` (or overrides)."""

    urls: Mapping[str, str]

    def url_for(self, subgraph: str) -> str:
        return self.urls[subgraph]

    def route_root(
        self, subgraph: str, root_fields: Sequence[RootField], home: str | None = None
    ) -> RoutedBatch:
        return RoutedBatch(self.urls[subgraph], ())

    def route_entities(
        self, subgraph: str, representations: Sequence[Representation]
    ) -> Sequence[RoutedBatch]:
        return [RoutedBatch(self.urls[subgraph], tuple(range(len(representations))))]


@dataclass
class SubgraphResponse:
    data: dict[str, Any] | None
    errors: list[GraphQLErrorDict] = field(default_factory=list)
    # True when the subgraph could not be asked or did not answer in GraphQL.
    failed: bool = False


@dataclass
class EntitiesResponse:
    entities: list[dict[str, Any] | None]  # aligned with the representations sent
    # Errors from the subgraphs, paths still ``["_entities", i, ...]`` in the fetch's positions.
    errors: list[GraphQLErrorDict] = field(default_factory=list)
    # Positions whose batch failed as a whole (transport), with the error for each.
    failures: dict[int, GraphQLErrorDict] = field(default_factory=dict)


def unavailable_error(subgraph: str, reason: str, **extra: Any) -> GraphQLErrorDict:
    return {
        "message": f"Subgraph '{subgraph}' is unavailable: {reason}",
        "extensions": {"code": SUBGRAPH_UNAVAILABLE, "serviceName": subgraph, **extra},
    }


class SubgraphFetcher:
    def __init__(
        self,
        router: Router,
        *,
        timeout: float = 10.0,
        timeouts: Mapping[str, float] | None = None,
        client: HttpClient | None = None,
        max_connections: int = 100,
        retries: int = 2,
        retry_backoff: float = 0.05,
        deduplicate: bool = True,
    ) -> None:
        self.router = router
        # A query's fetch that failed in transport (no connection, connection dropped, a
        # 502/503/504 without a GraphQL body) is tried again up to ``retries`` times, after
        # ``retry_backoff`` s, doubling. Mutations are never retried; nor are timeouts (a slow
        # subgraph would only get slower), nor anything a subgraph answered in GraphQL.
        self.retries = max(0, retries)
        self.retry_backoff = retry_backoff
        self.attempts = 0  # every HTTP request sent, retries included
        self.timeout = timeout
        self.timeouts = dict(timeouts or {})
        self._own_client = client is None
        self.client = client or HttpClient(max_connections=max_connections)
        self.deduplicate = deduplicate
        self._in_flight: dict[tuple[Any, ...], asyncio.Future[HttpResponse]] = {}

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()

    async def fetch(
        self,
        subgraph: str,
        query: str,
        variables: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        retryable: bool | None = None,
        home: str | None = None,
    ) -> SubgraphResponse:
        """A root fetch; ``retryable`` defaults to "not a mutation"; ``home``: the caller's
        node (the router may send root fields that name none there)."""
        if retryable is None:
            retryable = not query.lstrip().startswith("mutation")
        batch = self.router.route_root(subgraph, root_fields_of(query, variables), home)
        response = await self._post(
            subgraph, batch.url, query, variables, headers, retryable=retryable, wait=batch.timeout
        )
        if response.failed and batch.labels:
            for error in response.errors:
                error.setdefault("extensions", {})["nodes"] = list(batch.labels)
        return response

    async def fetch_entities(
        self,
        subgraph: str,
        query: str,
        variables: Mapping[str, Any],
        representations: Sequence[Representation],
        representations_variable: str = "representations",
        *,
        headers: Mapping[str, str] | None = None,
    ) -> EntitiesResponse:
        batches = self.router.route_entities(subgraph, representations)
        responses = await _all(
            *(
                self._post(
                    subgraph,
                    batch.url,
                    query,
                    {
                        **variables,
                        representations_variable: [representations[i] for i in batch.positions],
                    },
                    headers,
                    wait=batch.timeout,
                )
                for batch in batches
            )
        )
        result = EntitiesResponse(entities=[None] * len(representations))
        for batch, response in zip(batches, responses, strict=True):
            if response.failed:
                for error in response.errors:
                    if batch.labels:
                        error.setdefault("extensions", {})["nodes"] = list(batch.labels)
                for position in batch.positions:
                    result.failures[position] = response.errors[0]
                continue
            entities = (response.data or {}).get("_entities")
            if isinstance(entities, list):
                for local, position in enumerate(batch.positions):
                    if local < len(entities) and isinstance(entities[local], dict):
                        result.entities[position] = entities[local]
            result.errors.extend(
                reindex_entity_error(error, batch.positions) for error in response.errors
            )
        return result

    async def _post(
        self,
        subgraph: str,
        url: str,
        query: str,
        variables: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        *,
        retryable: bool = True,
        wait: float | None = None,
    ) -> SubgraphResponse:
        attempts = 1 + (self.retries if retryable else 0)
        for attempt in range(attempts):
            response, transient = await self._post_once(
                subgraph, url, query, variables, headers, wait, shared=retryable
            )
            if not transient or attempt == attempts - 1:
                return response
            await asyncio.sleep(self.retry_backoff * 2**attempt)
        raise AssertionError("unreachable")

    async def _post_once(
        self,
        subgraph: str,
        url: str,
        query: str,
        variables: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        wait: float | None = None,
        *,
        shared: bool = False,
    ) -> tuple[SubgraphResponse, bool]:
        """One request; the response, and whether a failure is worth retrying."""
        timeout = self.timeouts.get(subgraph, self.timeout) if wait is None else wait
        try:
            payload = orjson.dumps({"query": query, "variables": variables}, default=_plain)
        except TypeError:  # e.g. an integer beyond 64 bits: the standard library copes
            payload = json.dumps({"query": query, "variables": dict(variables)}).encode()
        sent = (("accept", "application/json"), *(headers or {}).items())
        timing = current_timing()
        if timing is not None:
            timing.enter()
        try:
            if tracing_enabled():  # a client span, its traceparent sent on (never shared)
                with client_span("POST", url, **{"xinfang.subgraph": subgraph}) as carrier:
                    self.attempts += 1
                    sent = (*(h for h in sent if h[0] not in carrier), *carrier.items())
                    response = await self.client.post(url, payload, sent, within=timeout)
            elif shared and self.deduplicate:
                response = await self._shared(url, payload, sent, timeout)
            else:
                self.attempts += 1
                response = await self.client.post(url, payload, sent, within=timeout)
        except HttpTimeout:
            return _failure(subgraph, f"no answer within {timeout:g} s"), False
        except HttpError as exc:
            return _failure(subgraph, exc.reason), True
        finally:
            if timing is not None:
                timing.leave()
        body = _decode(response.body)
        if not isinstance(body, dict) or not ("data" in body or "errors" in body):
            failure = _failure(subgraph, f"HTTP {response.status} without a GraphQL body")
            return failure, response.status in _TRANSIENT_STATUS
        data = body.get("data")
        errors = [e for e in body.get("errors") or () if isinstance(e, dict)]
        return SubgraphResponse(data if isinstance(data, dict) else None, errors), False

    async def _shared(
        self, url: str, payload: bytes, headers: tuple[tuple[str, str], ...], within: float
    ) -> HttpResponse:
        """The answer to this exact request, sent once however many ask at the same time."""
        key = (url, payload, headers, within)
        pending = self._in_flight.get(key)
        if pending is None:
            self.attempts += 1
            pending = asyncio.ensure_future(self.client.post(url, payload, headers, within=within))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda done: self._settled(key, done))
        # Shielded: one asker giving up (its client went away) does not cancel the others'.
        return await asyncio.shield(pending)

    def _settled(self, key: tuple[Any, ...], done: asyncio.Future[HttpResponse]) -> None:
        self._in_flight.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here, so an answer nobody waits for any more is quiet


async def _all(*awaitables: Awaitable[SubgraphResponse]) -> list[SubgraphResponse]:
    """``asyncio.gather``, without its tasks when there is only one (one service URL)."""
    if len(awaitables) == 1:
        return [await awaitables[0]]
    return list(await asyncio.gather(*awaitables))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError


def _decode(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        try:  # what orjson refuses but JSON allows (e.g. a number beyond a double's range)
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None


def root_fields_of(query: str, variables: Mapping[str, Any]) -> tuple[RootField, ...]:
    """The root fields of a subgraph operation the planner printed, arguments evaluated."""
    values = dict(variables)
    return tuple(
        RootField(name, {a.name.value: value_from_ast_untyped(a.value, values) for a in args})
        for name, args in _root_field_nodes(query)
    )


@lru_cache(maxsize=2048)
def _root_field_nodes(query: str) -> tuple[tuple[str, tuple[ArgumentNode, ...]], ...]:
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return ()
    out: list[tuple[str, tuple[ArgumentNode, ...]]] = []

    def collect(selection_set: SelectionSetNode) -> None:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                out.append((node.name.value, tuple(node.arguments or ())))
            elif isinstance(node, InlineFragmentNode):
                collect(node.selection_set)

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            collect(definition.selection_set)
    return tuple(out)


def _failure(subgraph: str, reason: str) -> SubgraphResponse:
    # The URL stays out of the error: clients should not learn the internal topology.
    return SubgraphResponse(None, [unavailable_error(subgraph, reason)], failed=True)


def reindex_entity_error(error: GraphQLErrorDict, positions: Sequence[int]) -> GraphQLErrorDict:
    """An ``_entities`` error of a batch, its path in the positions of the whole fetch."""
    path = error.get("path")
    if (
        isinstance(path, list)
        and len(path) >= 2
        and path[0] == "_entities"
        and isinstance(path[1], int)
        and path[1] < len(positions)
    ):
        return {**error, "path": ["_entities", positions[path[1]], *path[2:]]}
    return error

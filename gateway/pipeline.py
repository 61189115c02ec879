"""The request pipeline: parse/validate -> plan -> execute -> (fetch), one hook point each.

``Gateway.handle`` turns one GraphQL-over-HTTP request body into a status code and a JSON
body. Request errors carry ``extensions.code`` as Apollo's servers do
(``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED``, ``BAD_USER_INPUT``, ...); subgraph
failures never raise past ``execute``: they come back as partial data and errors.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute_sync,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from gateway.access import Scope
from gateway.execution import PlanExecutor
from gateway.fetch import SubgraphFetcher
from gateway.limits import (
    QUERY_TOO_COSTLY,
    QUERY_TOO_LARGE,
    QueryLimits,
    estimate_cost,
    limit_error,
    shape_refusals,
)
from gateway.limits import prepare as prepare_limits
from gateway.operation import OperationError, select_operation
from gateway.persisted import PersistedQueries, PersistedQueryError
from gateway.planner import PlanningError, QueryPlanner
from gateway.routing import KeyRouter, wrong_tier
from gateway.supergraph import Supergraph
from shared.telemetry import stage_span

__all__ = ["Gateway", "GatewayResponse"]

Body = dict[str, Any]


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    body: Body


@dataclass(frozen=True)
class _Parsed:
    document: DocumentNode | None
    digest: str
    errors: tuple[Body, ...]


class Gateway:
    def __init__(
        self,
        supergraph: Supergraph,
        fetcher: SubgraphFetcher,
        *,
        document_cache_size: int = 1024,
        limits: QueryLimits | None = None,
        persisted: PersistedQueries | None = None,
    ) -> None:
        self.supergraph = supergraph
        self.schema = supergraph.api_schema
        self.fetcher = fetcher
        self.planner = QueryPlanner(supergraph)
        self.executor = PlanExecutor(self.schema, fetcher)
        self._documents: OrderedDict[str, _Parsed] = OrderedDict()
        self._document_cache_size = document_cache_size
        self.limits = limits if limits is not None else QueryLimits()
        prepare_limits()
        self.persisted = persisted if persisted is not None else PersistedQueries()

    async def handle(
        self,
        payload: Any,
        *,
        headers: Mapping[str, str] | None = None,
        allow_mutations: bool = True,
        scope: Scope | None = None,
    ) -> GatewayResponse:
        if not isinstance(payload, dict):
            return _request_error(
                400, "BAD_REQUEST", "A JSON body with a 'query' string is required."
            )
        try:
            query = self.persisted.resolve(payload, scope.principal if scope else None)
        except PersistedQueryError as error:
            return _request_error(400, error.code, error.message)
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        if not isinstance(variables, dict) or not (
            operation_name is None or isinstance(operation_name, str)
        ):
            return _request_error(
                400, "BAD_REQUEST", "'variables' must be an object, 'operationName' a string."
            )

        with stage_span("validate"):
            parsed = self._parse_and_validate(query)
        if parsed.document is None or parsed.errors:
            return GatewayResponse(400, {"errors": list(parsed.errors)})
        document = parsed.document
        try:
            operation = select_operation(document, operation_name)
        except OperationError as exc:
            return _request_error(400, "OPERATION_RESOLUTION_FAILURE", str(exc))
        if operation.operation == OperationType.SUBSCRIPTION:
            return _request_error(400, "BAD_REQUEST", "Subscriptions are not supported.")
        if operation.operation == OperationType.MUTATION and not allow_mutations:
            return _request_error(405, "BAD_REQUEST", "Mutations need a POST request.")

        coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return GatewayResponse(400, {"errors": [_coded(e, "BAD_USER_INPUT") for e in coerced]})
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        if scope is not None:
            refused = scope.refusals(operation, fragments, coerced.coerced)
            if refused:
                return GatewayResponse(200, {"data": None, "errors": refused})
        # Where root fields naming no node run: the caller's node, when routed by key.
        routed = isinstance(self.fetcher.router, KeyRouter)
        home = scope.principal.jurisdiction if scope is not None and routed else None
        refused = wrong_tier(self.supergraph, operation, fragments, coerced.coerced, home)
        if refused:
            return GatewayResponse(200, {"data": None, "errors": refused})
        refused = shape_refusals(operation, fragments, self.limits)
        if not refused:
            cost = estimate_cost(self.schema, operation, fragments, coerced.coerced, self.limits)
            if cost > self.limits.max_cost:
                refused = [
                    limit_error(
                        QUERY_TOO_COSTLY,
                        f"The operation's estimated cost is {cost:,}; at most "
                        f"{self.limits.max_cost:,} is allowed (each object counts, lists "
                        "multiply, each jurisdiction is a node: ask fewer, or fewer at once).",
                        limit=self.limits.max_cost,
                        actual=cost,
                    )
                ]
        if refused:
            return GatewayResponse(400, {"errors": refused})

        try:
            with stage_span("plan"):
                plan = self.planner.plan(document, operation_name, document_hash=parsed.digest)
        except PlanningError as exc:
            return _request_error(200, "QUERY_PLANNING_FAILED", str(exc), data=True)
        introspection = self._introspect(document, operation, variables)
        with stage_span("execute", **{"graphql.operation.type": operation.operation.value}):
            body = await self.executor.execute(
                plan,
                variables,
                coerced.coerced,
                headers=headers,
                initial_data=introspection,
                scope=scope,
            )
        return GatewayResponse(200, body)

    def _parse_and_validate(self, query: str) -> _Parsed:
        digest = hashlib.sha256(query.encode()).hexdigest()
        cached = self._documents.get(digest)
        if cached is not None:
            self._documents.move_to_end(digest)
            return cached
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLSyntaxError as exc:
            if exc.message.endswith("tokens. Parsing aborted."):
                too_large = limit_error(
                    QUERY_TOO_LARGE,
                    f"The document has more than {self.limits.max_tokens:,} tokens.",
                    limit=self.limits.max_tokens,
                )
                parsed = _Parsed(None, digest, (too_large,))
            else:
                parsed = _Parsed(None, digest, (_coded(exc, "GRAPHQL_PARSE_FAILED"),))
        else:
            errors = validate(self.schema, document)
            coded = tuple(_coded(e, "GRAPHQL_VALIDATION_FAILED") for e in errors)
            parsed = _Parsed(document, digest, coded)
        self._documents[digest] = parsed
        if len(self._documents) > self._document_cache_size:
            self._documents.popitem(last=False)
        return parsed

    def _introspect(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        """Answer root ``__schema``/``__type`` fields from the API schema itself."""
        fields = tuple(
            s
            for s in operation.selection_set.selections
            if isinstance(s, FieldNode) and s.name.value in ("__schema", "__type")
        )
        if not fields:
            return None
        only = OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=operation.directives,
            selection_set=SelectionSetNode(selections=fields),
        )
        others = tuple(
            d for d in document.definitions if not isinstance(d, OperationDefinitionNode)
        )
        result = execute_sync(
            self.schema, DocumentNode(definitions=(only, *others)), variable_values=dict(variables)
        )
        return result.data


def _coded(error: GraphQLError, code: str) -> Body:
    formatted: Body = dict(error.formatted)
    formatted["extensions"] = {**(formatted.get("extensions") or {}), "code": code}
    return formatted


def _request_error(status: int, code: str, message: str, *, data: bool = False) -> GatewayResponse:
    body: Body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    if data:
        body["data"] = None
    return GatewayResponse(status, body)

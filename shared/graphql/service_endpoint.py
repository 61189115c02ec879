"""The service endpoint ``/tiers/{tier}/graphql``: one address for every node a service hosts.

A gateway sends one ``_entities`` call per tier service, carrying representations of many
nodes. The endpoint splits them by the node that owns each key (``shared.ownership``), runs
the operation once per node with that node's context (in parallel, bounded), and stitches
``_entities`` back in the original order, error paths re-indexed to the original positions.
A representation of a node this service does not host is null with ``NODE_NOT_FOUND``; one
whose node does not answer within ``node_timeout`` is null with ``SUBGRAPH_UNAVAILABLE``
naming it (the other nodes' answers stand). Root
fields that need a node (everything but ``_entities``, ``_service`` and introspection) are
refused with ``NODE_REQUIRED``: they belong at ``/nodes/{code}/graphql``.

Access (ADR 0015): the caller's token is verified here as at a node (no token: nothing runs,
``UNAUTHENTICATED``), and each representation is checked against the caller's jurisdiction: one
of a node outside it is null with ``FORBIDDEN`` naming the node, and is never run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_operation_ast,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.federation import Schema

from shared.access import FORBIDDEN, read_refusal
from shared.auth import AuthError, Principal, TokenVerifier, bearer_token
from shared.graphql.context import NodeContext
from shared.ownership import owner_of
from shared.service import TierService
from shared.validation import NUL_REFUSED, carries_nul

__all__ = ["NODE_NOT_FOUND", "NODE_REQUIRED", "ServiceEndpoint", "root_fields"]

NODE_NOT_FOUND = "NODE_NOT_FOUND"
NODE_REQUIRED = "NODE_REQUIRED"
NODE_UNAVAILABLE = "SUBGRAPH_UNAVAILABLE"  # what a gateway reports for a node that timed out
NODELESS_FIELDS = frozenset(("_service", "__typename", "__schema", "__type"))

ContextFor = Callable[[Request, str, Principal], NodeContext]
FormatError = Callable[[GraphQLError], dict[str, Any]]
Body = dict[str, Any]


class ServiceEndpoint:
    def __init__(
        self,
        service: TierService,
        schema: Schema,
        *,
        context_for: ContextFor,
        format_error: FormatError,
        verifier: TokenVerifier,
        concurrency: int = 10,
        node_timeout: float | None = 8.0,
    ) -> None:
        self.service = service
        self.schema = schema
        self.context_for = context_for
        self.format_error = format_error
        self.verifier = verifier
        self.concurrency = concurrency
        self.node_timeout = node_timeout

    async def __call__(self, request: Request) -> Response:
        try:
            token = bearer_token(request.headers.get("authorization"))
            principal = await self.verifier.verify(token)
        except AuthError as error:
            body = _error_body(error.code, error.message)
            return JSONResponse(body, status_code=401 if error.code == "UNAUTHENTICATED" else 503)
        try:
            payload = await request.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return _refuse(400, "BAD_REQUEST", "a JSON body with a 'query' string is required")
        variables = payload.get("variables") or {}
        name = payload.get("operationName")
        if not isinstance(variables, dict) or not (name is None or isinstance(name, str)):
            return _refuse(400, "BAD_REQUEST", "'variables' is an object, 'operationName' a string")
        if carries_nul(payload["query"], variables):
            return _refuse(400, "BAD_USER_INPUT", NUL_REFUSED)
        try:
            document = parse(payload["query"])
        except GraphQLSyntaxError as error:
            return _refuse(400, "GRAPHQL_PARSE_FAILED", error.message)
        invalid = validate(self.schema._schema, document)
        if invalid:
            return _refuse(400, "GRAPHQL_VALIDATION_FAILED", invalid[0].message)
        operation = get_operation_ast(document, name)
        if operation is None:
            return _refuse(400, "OPERATION_RESOLUTION_FAILURE", "no single operation to run")
        fields = root_fields(operation.selection_set, _fragments(document))
        needing_node = [
            f
            for f in fields
            if operation.operation is not OperationType.QUERY
            or f.name.value not in (*NODELESS_FIELDS, "_entities")
        ]
        if needing_node:
            return JSONResponse({"data": None, "errors": [_node_required(f) for f in needing_node]})
        entities = [f for f in fields if f.name.value == "_entities"]
        if not entities:
            result = await self.schema.execute(
                payload["query"], variable_values=variables, operation_name=name
            )
            return JSONResponse(self._body(result.data, result.errors or ()))
        if len(entities) > 1:
            return _refuse(400, "BAD_REQUEST", "one _entities field per request")
        return JSONResponse(
            await self._entities(request, principal, payload["query"], name, variables, entities[0])
        )

    async def _entities(
        self,
        request: Request,
        principal: Principal,
        query: str,
        name: str | None,
        variables: Mapping[str, Any],
        field: FieldNode,
    ) -> Body:
        key = field.alias.value if field.alias else field.name.value
        argument = next(a for a in field.arguments or () if a.name.value == "representations")
        if not isinstance(argument.value, VariableNode):
            return _error_body("BAD_USER_INPUT", "pass representations as a variable")
        variable = argument.value.name.value
        representations = variables.get(variable)
        if not isinstance(representations, list):
            return _error_body("BAD_USER_INPUT", "representations is a list")

        entities: list[Any] = [None] * len(representations)
        errors: list[tuple[int, Body]] = []
        by_node: dict[str, list[int]] = {}
        for position, representation in enumerate(representations):
            code = owner_of(representation) if isinstance(representation, dict) else None
            if code is None:
                message = "a representation names no node: its code or id is not a node's key"
                errors.append((position, _at(key, position, "BAD_USER_INPUT", message)))
            elif (refused := read_refusal(principal, code)) is not None:
                errors.append((position, _at(key, position, FORBIDDEN, refused, node=code)))
            elif self.service.node(code) is None:
                message = f"this service hosts no node {code}"
                errors.append((position, _at(key, position, NODE_NOT_FOUND, message, node=code)))
            else:
                by_node.setdefault(code, []).append(position)

        limit = asyncio.Semaphore(self.concurrency)
        others: dict[str, Any] = {}

        async def run(code: str, positions: list[int]) -> None:
            subset = [representations[i] for i in positions]
            async with limit:
                try:
                    result = await asyncio.wait_for(
                        self.schema.execute(
                            query,
                            variable_values={**variables, variable: subset},
                            context_value=self.context_for(request, code, principal),
                            operation_name=name,
                        ),
                        self.node_timeout,
                    )
                except TimeoutError:
                    message = f"node {code} did not answer within {self.node_timeout:g} s"
                    for position in positions:
                        late = _at(key, position, NODE_UNAVAILABLE, message, nodes=[code])
                        errors.append((position, late))
                    return
            data = result.data or {}
            found = data.get(key)
            if isinstance(found, list):
                for local, position in enumerate(positions):
                    if local < len(found):
                        entities[position] = found[local]
            others.update({k: v for k, v in data.items() if k != key})
            for failure in result.errors or ():
                errors.append(_reindexed(self.format_error(failure), key, positions))

        await asyncio.gather(*(run(code, positions) for code, positions in by_node.items()))
        errors.sort(key=lambda item: item[0])
        body: Body = {"data": {**others, key: entities}}
        if errors:
            body["errors"] = [error for _, error in errors]
        return body

    def _body(self, data: dict[str, Any] | None, errors: Sequence[GraphQLError]) -> Body:
        body: Body = {"data": data}
        if errors:
            body["errors"] = [self.format_error(e) for e in errors]
        return body


def _fragments(document: Any) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The fields a selection set selects at its own level, through fragments (the gateway's
    scope check reads root fields the same way)."""
    out: list[FieldNode] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            out.append(node)
        elif isinstance(node, InlineFragmentNode):
            out.extend(root_fields(node.selection_set, fragments))
        elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments:
            out.extend(root_fields(fragments[node.name.value].selection_set, fragments))
    return out


def _reindexed(error: Body, key: str, positions: Sequence[int]) -> tuple[int, Body]:
    path = error.get("path")
    if (
        isinstance(path, list)
        and len(path) >= 2
        and path[0] == key
        and isinstance(path[1], int)
        and path[1] < len(positions)
    ):
        position = positions[path[1]]
        return position, {**error, "path": [key, position, *path[2:]]}
    return (positions[0] if positions else 0), error


def _at(key: str, position: int, code: str, message: str, **extra: Any) -> Body:
    return {"message": message, "path": [key, position], "extensions": {"code": code, **extra}}


def _node_required(field: FieldNode) -> Body:
    key = field.alias.value if field.alias else field.name.value
    return {
        "message": f"{field.name.value} is a node's field: ask /nodes/{{code}}/graphql",
        "path": [key],
        "extensions": {"code": NODE_REQUIRED},
    }


def _error_body(code: str, message: str) -> Body:
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}


def _refuse(status: int, code: str, message: str) -> Response:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status)

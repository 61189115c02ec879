"""A throwaway Federation v2 subgraph from an SDL and a few tables, served over real HTTP.

A ``Subgraph`` is the SDL one subgraph would publish plus its data: ``data["Query"]`` holds
root field values, ``data[Type]`` the rows of a type this subgraph owns, and ``resolvers``
(``"Type.field" -> fn(obj, args, ctx)``) compute the rest (``@requires`` fields read what
the representation carried; mutations change the tables). Values that are objects may be
references (``{"id": "1"}``): they are completed from this subgraph's table of that type, if it
has one. ``_entities`` finds rows by the type's ``@key``s (an interface's by its
implementations); a type without a table answers with the representation itself, as a
``resolve_reference`` that only knows the key would.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    GraphQLResolveInfo,
    GraphQLSchema,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    build_ast_schema,
    get_named_type,
    graphql,
    is_interface_type,
    parse,
    value_from_ast_untyped,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

__all__ = ["Ctx", "Resolver", "Subgraph", "subgraph_app"]

Row = dict[str, Any]
Resolver = Callable[[Any, dict[str, Any], "Ctx"], Any]


@dataclass(frozen=True)
class Subgraph:
    name: str
    sdl: str
    data: Mapping[str, Any] = field(default_factory=dict)
    resolvers: Mapping[str, Resolver] = field(default_factory=dict)
    # Set to answer every request with this HTTP status and no GraphQL body (a subgraph down).
    down_with_status: int | None = None


@dataclass
class Ctx:
    tables: dict[str, Any]
    log: list[str]

    def rows(self, type_name: str) -> list[Row]:
        rows: list[Row] = self.tables.setdefault(type_name, [])
        return rows

    def row(self, type_name: str, **match: Any) -> Row | None:
        for row in self.rows(type_name):
            if all(row.get(k) == v for k, v in match.items()):
                return {"__typename": type_name, **row}
        return None


class _Executable:
    def __init__(self, spec: Subgraph) -> None:
        self.spec = spec
        self.schema, self.keys = _build_schema(spec.sdl)
        self.ctx = Ctx(copy.deepcopy(dict(spec.data)), [])

    def reset(self) -> None:
        self.ctx = Ctx(copy.deepcopy(dict(self.spec.data)), [])

    # -- resolution ---------------------------------------------------------------------------
    def resolve_field(self, source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        parent = info.parent_type.name
        name = info.field_name
        resolver = self.spec.resolvers.get(f"{parent}.{name}")
        if resolver is not None:
            value = resolver(source, args, self.ctx)
        elif parent == "Query" and name == "_entities":
            value = [self.entity(r) for r in args["representations"]]
        elif parent == "Query" and name == "_service":
            value = {"sdl": self.spec.sdl}
        elif parent in ("Query", "Mutation") and source is None:
            value = self.ctx.tables.get(parent, {}).get(name)
        elif isinstance(source, dict):
            value = source.get(name)
        else:
            value = None
        if isinstance(value, Exception):
            raise value
        return self.complete(value, get_named_type(info.return_type).name)

    def complete(self, value: Any, type_name: str) -> Any:
        if isinstance(value, list):
            return [self.complete(v, type_name) for v in value]
        if not isinstance(value, dict):
            return value
        concrete = value.get("__typename", type_name)
        row = self.find(concrete, value) if concrete in self.ctx.tables else None
        return {"__typename": concrete, **(row or {}), **value}

    def find(self, type_name: str, ref: Row) -> Row | None:
        candidates = [type_name]
        schema_type = self.schema.get_type(type_name)
        if schema_type is not None and is_interface_type(schema_type):
            candidates = [t.name for t in self.schema.get_possible_types(schema_type)]
        for candidate in candidates:
            for row in self.ctx.tables.get(candidate) or ():
                if self._matches(candidate, type_name, row, ref):
                    return {**row, "__typename": candidate}
        return None

    def _matches(self, candidate: str, type_name: str, row: Row, ref: Row) -> bool:
        keys = self.keys.get(type_name) or self.keys.get(candidate) or []
        probe = {k: v for k, v in ref.items() if k != "__typename"}
        if not keys:
            return bool(probe) and all(row.get(k) == v for k, v in probe.items() if k in row)
        return any(all(k in probe and _subset(probe[k], row.get(k)) for k in key) for key in keys)

    def entity(self, representation: Row) -> Row | None:
        type_name = representation["__typename"]
        resolver = self.spec.resolvers.get(f"{type_name}.__resolveReference")
        if resolver is not None:
            found = resolver(representation, {}, self.ctx)
            if found is None:
                return None
            return {"__typename": type_name, **found, **_without_typename(representation)}
        if type_name not in self.ctx.tables and not self._has_implementing_table(type_name):
            return dict(representation)
        row = self.find(type_name, representation)
        if row is None:
            return None
        return {**row, **_without_typename(representation), "__typename": row["__typename"]}

    def _has_implementing_table(self, type_name: str) -> bool:
        schema_type = self.schema.get_type(type_name)
        if schema_type is None or not is_interface_type(schema_type):
            return False
        return any(t.name in self.ctx.tables for t in self.schema.get_possible_types(schema_type))

    @staticmethod
    def resolve_type(value: Any, info: GraphQLResolveInfo[Any], abstract: Any) -> str | None:
        return value.get("__typename") if isinstance(value, dict) else None

    async def execute(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        result = await graphql(
            self.schema,
            str(payload.get("query") or ""),
            variable_values=payload.get("variables") or {},
            operation_name=payload.get("operationName"),
            field_resolver=self.resolve_field,
            type_resolver=self.resolve_type,
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        return body


def _without_typename(row: Row) -> Row:
    return {k: v for k, v in row.items() if k != "__typename"}


def _subset(probe: Any, value: Any) -> bool:
    if isinstance(probe, dict):
        return isinstance(value, dict) and all(_subset(v, value.get(k)) for k, v in probe.items())
    return bool(probe == value)


def subgraph_app(spec: Subgraph) -> tuple[Starlette, Callable[[], None], list[dict[str, Any]]]:
    """The subgraph as an ASGI app, a reset of its data, and the log of requests it received."""
    executable = _Executable(spec)
    requests: list[dict[str, Any]] = []

    async def post(request: Request) -> Response:
        payload = await request.json()
        requests.append(payload)
        if spec.down_with_status is not None:
            return PlainTextResponse("unavailable", status_code=spec.down_with_status)
        return JSONResponse(await executable.execute(payload))

    def reset() -> None:
        executable.reset()
        requests.clear()

    app = Starlette(routes=[Route("/graphql", post, methods=["POST"])])
    return app, reset, requests


# --- the executable schema --------------------------------------------------------------------

_FEDERATION_TYPES = """
scalar _Any
type _Service { sdl: String }
"""


def _build_schema(sdl: str) -> tuple[GraphQLSchema, dict[str, list[list[str]]]]:
    document = parse(sdl)
    keys: dict[str, list[list[str]]] = {}
    has_query = False
    entities: list[str] = []
    for definition in document.definitions:
        name = getattr(getattr(definition, "name", None), "value", None)
        if name == "Query":
            has_query = True
        for directive in getattr(definition, "directives", None) or ():
            if directive.name.value != "key":
                continue
            args = {a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments}
            key_doc = parse("{" + str(args["fields"]) + "}").definitions[0]
            fields = [
                s.name.value
                for s in key_doc.selection_set.selections  # type: ignore[attr-defined]
                if isinstance(s, FieldNode)
            ]
            keys.setdefault(str(name), []).append(fields)
            if (
                isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode)
                and name not in entities
            ):
                entities.append(str(name))
    extra = _FEDERATION_TYPES
    root_fields = "_service: _Service!"
    if entities:
        extra += f"union _Entity = {' | '.join(entities)}\n"
        root_fields += " _entities(representations: [_Any!]!): [_Entity]!"
    extra += f"{'extend ' if has_query else ''}type Query {{ {root_fields} }}\n"
    schema = build_ast_schema(parse(sdl + "\n" + extra), assume_valid_sdl=True)
    return schema, keys

"""Stage 3: run a query plan and shape the answer strictly per the client's operation.

Fetch results are merged into one response tree keyed by the client's response keys (the
planner keeps client aliases in subgraph operations). ``Flatten`` nodes collect the objects at
their path, build one representation per object from the fetch's ``requires``, deduplicate
them, send them in one ``_entities`` call (the fetcher may split it per service URL) and merge
each entity back into every object that produced it. Subgraph errors are re-pathed into the
client's terms. Finally the tree is *shaped*: walked along the client's operation in its field
order, with its aliases and ``__typename``s, keeping only requested fields, and applying
GraphQL's null propagation (a null in a non-null position nulls the nearest nullable parent).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import orjson
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_abstract_type,
    is_interface_type,
    is_leaf_type,
)

from gateway.access import Scope
from gateway.fetch import (
    EntitiesResponse,
    GraphQLErrorDict,
    SubgraphFetcher,
    reindex_entity_error,
)
from gateway.operation import Field, InlineFragment, Selection, is_included
from gateway.planner import (
    FetchNode,
    FlattenNode,
    ParallelNode,
    Path,
    PlanNode,
    QueryPlan,
    SequenceNode,
)

__all__ = ["PlanExecutor", "shape_response"]

ResponsePath = list[str | int]
# A response path as it is built during a walk: (parent, key) links, made a list only when an
# error needs it (most walks make none, and copying lists at every step was their main cost).
PathLink: TypeAlias = "tuple[PathLink, str | int] | None"
DOWNSTREAM_SERVICE_ERROR = "DOWNSTREAM_SERVICE_ERROR"
_INTROSPECTION_FIELDS = ("__schema", "__type")


class PlanExecutor:
    def __init__(self, schema: GraphQLSchema, fetcher: SubgraphFetcher) -> None:
        self.schema = schema
        self.fetcher = fetcher

    async def execute(
        self,
        plan: QueryPlan,
        variables: Mapping[str, Any],
        coerced_variables: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        initial_data: Mapping[str, Any] | None = None,
        scope: Scope | None = None,
    ) -> dict[str, Any]:
        run = _Run(self.schema, self.fetcher, variables, headers, scope)
        run.data.update(initial_data or {})
        if plan.node is not None:
            await run.node(plan.node)
        return shape_response(
            plan, self.schema, run.data, run.errors, coerced_variables, covered=run.covered
        )


class _Run:
    """The state of one execution: the merged response tree and the errors so far."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fetcher: SubgraphFetcher,
        variables: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        scope: Scope | None = None,
    ) -> None:
        self.schema = schema
        self.fetcher = fetcher
        self.variables = variables
        self.headers = headers
        self.scope = scope
        self.data: dict[str, Any] = {}
        self.errors: list[GraphQLErrorDict] = []
        # Root fields a fetch failed for with errors naming no path (a validation error of
        # the whole fetch): those errors are theirs, so nulling them adds none of its own.
        self.covered: list[list[str | int]] = []

    async def node(self, node: PlanNode) -> None:
        if isinstance(node, SequenceNode):
            for child in node.nodes:
                await self.node(child)
        elif isinstance(node, ParallelNode):
            await asyncio.gather(*(self.node(child) for child in node.nodes))
        elif isinstance(node, FlattenNode):
            await self.entities(node.path, node.node)
        else:
            await self.root(node)

    def _variables_for(self, fetch: FetchNode) -> dict[str, Any]:
        return {n: self.variables[n] for n in fetch.variable_usages if n in self.variables}

    async def root(self, fetch: FetchNode) -> None:
        response = await self.fetcher.fetch(
            fetch.subgraph,
            fetch.operation,
            self._variables_for(fetch),
            headers=self.headers,
            retryable=fetch.operation_kind == "query",
            home=self.scope.principal.jurisdiction if self.scope is not None else None,
        )
        if response.failed:
            for key in fetch.response_keys:
                self.errors.append({**response.errors[0], "path": [key]})
            return
        if response.data:
            _merge(self.data, response.data)
        elif any("path" not in e for e in response.errors):
            self.covered.extend([key] for key in fetch.response_keys)
        self.errors.extend(_client_error(e, fetch.subgraph) for e in response.errors)

    async def entities(self, path: Path, fetch: FetchNode) -> None:
        objects = _objects_at(self.data, path)
        representations: list[dict[str, Any]] = []
        index_of: dict[bytes | str, int] = {}
        targets: list[tuple[int, dict[str, Any]]] = []
        send_as = dict(fetch.send_as)
        for obj in objects:
            representation = self._representation(obj, fetch.requires, send_as)
            if representation is None:
                continue
            identity = _identity(representation)
            index = index_of.get(identity)
            if index is None:
                index = index_of[identity] = len(representations)
                representations.append(representation)
            targets.append((index, obj))
        if not representations:
            return
        assert fetch.representations_variable is not None
        response = await self._fetch_entities(fetch, representations)
        entities = response.entities
        for index, obj in targets:
            entity = entities[index]
            if entity is not None:
                if send_as and obj.get("__typename") in send_as:
                    # Sent as its interface: the answer's __typename is not the object's.
                    entity = {k: v for k, v in entity.items() if k != "__typename"}
                _merge(obj, entity)
        if not response.errors and not response.failures:
            return
        # Errors need the objects' paths: walk again, this time keeping them (rare, so the
        # walk above stays lean). Objects are matched by identity: merges add fields, they do
        # not replace the objects this fetch collected.
        path_of = {id(obj): obj_path for obj, obj_path in _objects_with_paths(self.data, path)}
        paths_of: dict[int, list[ResponsePath]] = {}
        for index, obj in targets:
            obj_path = path_of.get(id(obj), [])
            paths_of.setdefault(index, []).append(obj_path)
            if index in response.failures:
                self.errors.append({**response.failures[index], "path": obj_path})
        for error in response.errors:
            error_path = error.get("path")
            if (
                isinstance(error_path, list)
                and error_path[:1] == ["_entities"]
                and len(error_path) >= 2
            ):
                for client_obj_path in paths_of.get(error_path[1], ()):
                    client_path = [*client_obj_path, *error_path[2:]]
                    self.errors.append(_client_error(error, fetch.subgraph, client_path))
            else:
                self.errors.append(_client_error(error, fetch.subgraph))

    async def _fetch_entities(
        self, fetch: FetchNode, representations: list[dict[str, Any]]
    ) -> EntitiesResponse:
        """The entity fetch, without the representations outside the caller's scope (those
        come back as failures: FORBIDDEN at their objects)."""
        assert fetch.representations_variable is not None
        refused: dict[int, GraphQLErrorDict] = {}
        if self.scope is not None:
            for index, representation in enumerate(representations):
                error = self.scope.entity_refusal(representation)
                if error is not None:
                    refused[index] = {**error, "extensions": {**error["extensions"]}}
        sent = [i for i in range(len(representations)) if i not in refused]
        if not refused or not sent:
            if not sent:
                return EntitiesResponse([None] * len(representations), failures=refused)
            return await self.fetcher.fetch_entities(
                fetch.subgraph,
                fetch.operation,
                self._variables_for(fetch),
                representations,
                fetch.representations_variable,
                headers=self.headers,
            )
        partial = await self.fetcher.fetch_entities(
            fetch.subgraph,
            fetch.operation,
            self._variables_for(fetch),
            [representations[i] for i in sent],
            fetch.representations_variable,
            headers=self.headers,
        )
        response = EntitiesResponse([None] * len(representations), failures=refused)
        for local, index in enumerate(sent):
            response.entities[index] = partial.entities[local]
        response.errors = [reindex_entity_error(e, sent) for e in partial.errors]
        response.failures.update({sent[local]: e for local, e in partial.failures.items()})
        return response

    def _representation(
        self,
        obj: Mapping[str, Any],
        requires: Sequence[InlineFragment],
        send_as: Mapping[str, str],
    ) -> dict[str, Any] | None:
        typename = obj.get("__typename")
        for fragment in requires:
            if fragment.type_condition == typename or self._implements(
                typename, fragment.type_condition
            ):
                try:
                    representation = _read(obj, fragment.selections)
                except _Missing:
                    return None  # e.g. skipped by @skip/@include: this object needs no fetch
                condition = str(fragment.type_condition)
                if condition in send_as or condition != typename:
                    representation["__typename"] = send_as.get(condition, condition)
                return representation
        return None

    def _implements(self, typename: Any, interface: str | None) -> bool:
        """An object typed by an @interfaceObject fetch still matches the interface's requires."""
        abstract = self.schema.get_type(interface or "")
        runtime = self.schema.get_type(str(typename))
        return (
            is_abstract_type(abstract)
            and isinstance(runtime, GraphQLObjectType)
            and self.schema.is_sub_type(abstract, runtime)
        )


def _client_error(
    error: GraphQLErrorDict, subgraph: str, path: ResponsePath | None = None
) -> GraphQLErrorDict:
    """A subgraph's error as the client sees it: named after the subgraph, with a code
    (``DOWNSTREAM_SERVICE_ERROR`` unless the subgraph gave one, as @apollo/gateway does)."""
    # Subgraph locations point into the subgraph operation, which the client never saw.
    out = {k: v for k, v in error.items() if k not in ("locations", "path")}
    extensions = error.get("extensions")
    out["extensions"] = {
        **(extensions if isinstance(extensions, dict) else {}),
        "serviceName": subgraph,
    }
    out["extensions"].setdefault("code", DOWNSTREAM_SERVICE_ERROR)
    new_path = path if path is not None else error.get("path")
    if new_path is not None:
        out["path"] = new_path
    return out


def _objects_at(data: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """The objects at a flatten path (``@``: every list item; ``|[A,B]``: a type filter)."""
    current: list[Any] = [data]
    for element in path:
        if element == "@":
            following: list[Any] = []
            for value in current:
                if type(value) is list:
                    following.extend([item for item in value if item is not None])
            current = following
        elif element.startswith("|["):
            types = element[2:-1].split(",")
            current = [
                value
                for value in current
                if type(value) is dict and value.get("__typename") in types
            ]
        else:
            current = [
                found
                for value in current
                if type(value) is dict and (found := value.get(element)) is not None
            ]
    return [value for value in current if type(value) is dict]


def _objects_with_paths(
    data: dict[str, Any], path: Path
) -> list[tuple[dict[str, Any], ResponsePath]]:
    """As ``_objects_at``, with each object's response path (for errors)."""
    current: list[tuple[Any, ResponsePath]] = [(data, [])]
    for element in path:
        following: list[tuple[Any, ResponsePath]] = []
        for value, value_path in current:
            if element == "@":
                if isinstance(value, list):
                    following.extend(
                        (item, [*value_path, i]) for i, item in enumerate(value) if item is not None
                    )
            elif element.startswith("|["):
                if isinstance(value, dict) and value.get("__typename") in element[2:-1].split(","):
                    following.append((value, value_path))
            elif isinstance(value, dict) and value.get(element) is not None:
                following.append((value[element], [*value_path, element]))
        current = following
    return [(v, p) for v, p in current if isinstance(v, dict)]


def _path_list(link: PathLink) -> ResponsePath:
    out: ResponsePath = []
    while link is not None:
        link, key = link
        out.append(key)
    out.reverse()
    return out


def _identity(representation: dict[str, Any]) -> bytes | str:
    """The same bytes for equal representations, whatever their key order."""
    try:
        return orjson.dumps(representation, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(representation, sort_keys=True, separators=(",", ":"))


class _Missing(Exception):
    pass


def _read(obj: Mapping[str, Any], selections: Sequence[Selection]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sel in selections:
        if type(sel) is InlineFragment:
            if sel.type_condition in (None, obj.get("__typename")):
                out.update(_read(obj, sel.selections))
            continue
        assert type(sel) is Field
        key = sel.response_key
        if key not in obj:
            raise _Missing(key)
        value = obj[key]
        out[sel.name] = value if value is None or not sel.selections else _read_value(value, sel)
    return out


def _read_value(value: Any, sel: Field) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [_read_value(item, sel) for item in value]
    return _read(value, sel.selections)


def _merge(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        existing = target.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            _merge(existing, value)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value)
        else:
            target[key] = value


def _merge_lists(target: list[Any], source: list[Any]) -> None:
    for i, (old, new) in enumerate(zip(target, source, strict=True)):
        if isinstance(old, dict) and isinstance(new, dict):
            _merge(old, new)
        elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            _merge_lists(old, new)
        else:
            target[i] = new


# --- shaping ----------------------------------------------------------------------------------


class _Propagate:
    """A non-null field was null: its parent must become null."""


_PROPAGATE = _Propagate()


def shape_response(
    plan: QueryPlan,
    schema: GraphQLSchema,
    data: Mapping[str, Any],
    errors: list[GraphQLErrorDict],
    variables: Mapping[str, Any],
    *,
    covered: Sequence[Sequence[str | int]] = (),
) -> dict[str, Any]:
    """The client's response; ``covered``: paths whose nulling an error already explains."""
    root = schema.get_type(plan.root_type)
    assert isinstance(root, GraphQLObjectType)
    shaper = _Shaper(schema, variables, [*errors, *({"path": list(p)} for p in covered)])
    shaped = shaper.object(root, data, plan.operation.selections, None)
    result: dict[str, Any] = {}
    all_errors = _dedupe([*errors, *shaper.null_errors])
    if all_errors:
        result["errors"] = all_errors
    result["data"] = None if isinstance(shaped, _Propagate) else shaped
    return result


def _dedupe(errors: list[GraphQLErrorDict]) -> list[GraphQLErrorDict]:
    seen: set[str] = set()
    out: list[GraphQLErrorDict] = []
    for error in errors:
        identity = json.dumps(error, sort_keys=True, default=str)
        if identity not in seen:
            seen.add(identity)
            out.append(error)
    return out


_TYPENAME, _INTROSPECTION, _LEAF, _OTHER = range(4)
# One field of an object's selection, collected: response key, what it is, its type, the merged
# sub-selections of every field with that key, and its coordinate (for null errors).
_Collected = tuple[str, int, GraphQLOutputType, tuple[Selection, ...], tuple[str, str]]


class _Shaper:
    def __init__(
        self, schema: GraphQLSchema, variables: Mapping[str, Any], errors: list[GraphQLErrorDict]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.null_errors: list[GraphQLErrorDict] = []
        self._error_paths: set[tuple[str | int, ...]] = set()
        self._below: set[tuple[str | int, ...]] = set()
        # Field collection per (object type, selections): variables are fixed for one request,
        # and a list repeats the same collection for every item. The values keep their
        # selection tuples alive, so the ids used as keys are not reused meanwhile.
        self._collected: dict[tuple[str, int], tuple[Sequence[Selection], list[_Collected]]] = {}
        for error in errors:
            path = error.get("path")
            if isinstance(path, list):
                self._error_paths.add(tuple(path))
                self._below.update(tuple(path[:i]) for i in range(len(path) + 1))

    def _has_error_near(self, path: ResponsePath) -> bool:
        key = tuple(path)
        return key in self._below or any(key[:i] in self._error_paths for i in range(len(key)))

    def _fields(
        self, object_type: GraphQLObjectType | GraphQLInterfaceType, selections: Sequence[Selection]
    ) -> list[_Collected]:
        cache_key = (object_type.name, id(selections))
        cached = self._collected.get(cache_key)
        if cached is not None and cached[0] is selections:
            return cached[1]
        fields: dict[str, list[Field]] = {}
        self._collect(object_type.name, selections, fields)
        collected: list[_Collected] = []
        for key, same_key in fields.items():
            first = same_key[0]
            coordinate = (object_type.name, first.name)
            if first.name == "__typename":
                collected.append((key, _TYPENAME, object_type, (), coordinate))
                continue
            if first.name in _INTROSPECTION_FIELDS:
                collected.append((key, _INTROSPECTION, object_type, (), coordinate))
                continue
            field_type = object_type.fields[first.name].type
            named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
            kind = _LEAF if is_leaf_type(named) else _OTHER
            sub = tuple(s for f in same_key for s in f.selections)
            collected.append((key, kind, field_type, sub, coordinate))
        self._collected[cache_key] = (selections, collected)
        return collected

    def object(
        self,
        object_type: GraphQLObjectType | GraphQLInterfaceType,
        value: Mapping[str, Any],
        selections: Sequence[Selection],
        path: PathLink,
    ) -> dict[str, Any] | _Propagate:
        out: dict[str, Any] = {}
        for key, kind, field_type, sub, coordinate in self._fields(object_type, selections):
            if kind == _TYPENAME:
                out[key] = object_type.name
                continue
            raw = value.get(key)
            if kind == _INTROSPECTION or (kind == _LEAF and raw is not None):
                out[key] = raw
                continue
            completed = self.value(field_type, raw, sub, (path, key), coordinate)
            if isinstance(completed, _Propagate):
                return _PROPAGATE
            out[key] = completed
        return out

    def value(
        self,
        value_type: GraphQLOutputType,
        value: Any,
        selections: Sequence[Selection],
        path: PathLink,
        coordinate: tuple[str, str],
    ) -> Any:
        if isinstance(value_type, GraphQLNonNull):
            completed = self.value(value_type.of_type, value, selections, path, coordinate)
            if completed is None:
                full = _path_list(path)
                if not self._has_error_near(full):
                    self.null_errors.append(
                        {
                            "message": "Cannot return null for non-nullable field "
                            f"{coordinate[0]}.{coordinate[1]}.",
                            "path": full,
                        }
                    )
                return _PROPAGATE
            return completed
        completed = self._nullable(value_type, value, selections, path, coordinate)
        return None if isinstance(completed, _Propagate) else completed

    def _nullable(
        self,
        value_type: GraphQLOutputType,
        value: Any,
        selections: Sequence[Selection],
        path: PathLink,
        coordinate: tuple[str, str],
    ) -> Any:
        if value is None:
            return None
        if isinstance(value_type, GraphQLList):
            if not isinstance(value, list):
                return None
            items = []
            for i, item in enumerate(value):
                completed = self.value(value_type.of_type, item, selections, (path, i), coordinate)
                if isinstance(completed, _Propagate):
                    return _PROPAGATE
                items.append(completed)
            return items
        if is_leaf_type(value_type):
            return value
        if not isinstance(value, dict):
            return None
        runtime: object = value_type
        if is_interface_type(value_type) and value.get("__typename") == value_type.name:
            # From an @interfaceObject, and nothing asked needed the concrete type.
            return self.object(value_type, value, selections, path)
        if is_abstract_type(value_type):
            runtime = self.schema.get_type(str(value.get("__typename")))
            if not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(
                value_type, runtime
            ):
                self.null_errors.append(
                    {
                        "message": f"Abstract type {value_type} resolved to an unknown type.",
                        "path": _path_list(path),
                    }
                )
                return None
        assert isinstance(runtime, GraphQLObjectType)
        return self.object(runtime, value, selections, path)

    def _collect(
        self, type_name: str, selections: Sequence[Selection], out: dict[str, list[Field]]
    ) -> None:
        for sel in selections:
            if not is_included(sel.directives, self.variables):
                continue
            if isinstance(sel, Field):
                out.setdefault(sel.response_key, []).append(sel)
            elif self._applies(sel.type_condition, type_name):
                self._collect(type_name, sel.selections, out)

    def _applies(self, type_condition: str | None, type_name: str) -> bool:
        if type_condition is None or type_condition == type_name:
            return True
        condition = self.schema.get_type(type_condition)
        runtime = self.schema.get_type(type_name)
        return (
            is_abstract_type(condition)
            and isinstance(runtime, GraphQLObjectType)
            and self.schema.is_sub_type(condition, runtime)
        )

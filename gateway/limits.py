"""What one request may ask of the platform: size, depth, aliases, and a cost that knows fan-out.

Checked by the gateway after validation and the caller's scope, before planning, so a refused
operation costs no subgraph fetch. Every refusal is one error with a stable code and the
figure that broke the limit (``extensions.limit`` and ``extensions.actual``):

- ``QUERY_TOO_LARGE``: more lexical tokens than ``max_tokens`` (checked while parsing);
- ``QUERY_TOO_DEEP``: fields nested deeper than ``max_depth`` (introspection not counted: it is
  answered from the gateway's own schema, and GraphiQL's own query is nine levels deep);
- ``TOO_MANY_ALIASES``: more aliased fields than ``max_aliases`` (aliases are how one request
  asks the same expensive field a thousand times);
- ``QUERY_TOO_COSTLY``: an estimated cost above ``max_cost``.

The cost estimate (docs/adr/0020-request-limits.md) counts the objects a response would
hold: each object field costs one per instance, scalars cost nothing, and a list multiplies what
is below it by its size: its ``first`` argument, else ``default_list_size``. Jurisdictions are
counted exactly: the root field's ``code`` names a real division, and ``children`` of a known
division is its real number of children (16 cities, 129 counties, 1,461 townships for Yunnan),
so a query over every township of a province costs a hundred times one over a county. Each
jurisdiction object also costs ``node_cost``: it is answered by its own node, one more fetch.
A jurisdiction the estimate cannot name (below a case, say) is assumed to have as many children
as the largest division of its tier.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast_untyped,
)

from shared.divisions import Tier, division_tree, parent_code

__all__ = [
    "QUERY_TOO_COSTLY",
    "QUERY_TOO_DEEP",
    "QUERY_TOO_LARGE",
    "TOO_MANY_ALIASES",
    "QueryLimits",
    "estimate_cost",
    "limit_error",
    "prepare",
    "shape_refusals",
]

QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"

JURISDICTION = "Jurisdiction"
UNKNOWN = ""  # a jurisdiction the estimate cannot name

Body = dict[str, Any]


@dataclass(frozen=True)
class QueryLimits:
    """The limits one request must keep. The defaults let every documented query
    (docs/queries/) and the dashboard through with room to spare, and refuse what no screen
    needs: a sweep of every township's case list, say."""

    max_tokens: int = 10_000
    max_depth: int = 15
    max_aliases: int = 30
    max_cost: int = 50_000
    default_list_size: int = 20
    node_cost: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> QueryLimits:
        """``XINFANG_MAX_TOKENS``, ``XINFANG_MAX_DEPTH``, ``XINFANG_MAX_ALIASES``,
        ``XINFANG_MAX_COST`` override the defaults (positive integers)."""
        env = os.environ if env is None else env
        values: dict[str, int] = {}
        for name in ("max_tokens", "max_depth", "max_aliases", "max_cost"):
            raw = env.get(f"XINFANG_{name.upper()}")
            if raw is None:
                continue
            try:
                value = int(raw)
            except ValueError:
                value = 0
            if value < 1:
                raise ValueError(f"XINFANG_{name.upper()} must be a positive integer, not {raw!r}")
            values[name] = value
        return cls(**values)


def prepare() -> None:
    """Read the division tree now (half a second, once a process), not at a first request."""
    _widest_by_tier()


def limit_error(code: str, message: str, *, limit: int, actual: int | None = None) -> Body:
    extensions: Body = {"code": code, "limit": limit}
    if actual is not None:
        extensions["actual"] = actual
    return {"message": message, "extensions": extensions}


def shape_refusals(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    limits: QueryLimits,
) -> list[Body]:
    """The depth and alias refusals of a validated operation (none when it keeps both)."""
    depth, aliases = _shape(operation.selection_set, fragments, frozenset())
    errors: list[Body] = []
    if depth > limits.max_depth:
        errors.append(
            limit_error(
                QUERY_TOO_DEEP,
                f"The operation nests fields {depth} deep; at most {limits.max_depth} are allowed.",
                limit=limits.max_depth,
                actual=depth,
            )
        )
    if aliases > limits.max_aliases:
        errors.append(
            limit_error(
                TOO_MANY_ALIASES,
                f"The operation uses {aliases} aliases; at most {limits.max_aliases} are allowed.",
                limit=limits.max_aliases,
                actual=aliases,
            )
        )
    return errors


def _shape(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: frozenset[str],
) -> tuple[int, int]:
    """(depth, aliases) below ``selection_set``; fragments counted where they are spread."""
    depth = 0
    aliases = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue  # introspection: answered by the gateway itself
            aliases += selection.alias is not None
            below = 0
            if selection.selection_set is not None:
                below, more = _shape(selection.selection_set, fragments, seen)
                aliases += more
            depth = max(depth, 1 + below)
        elif isinstance(selection, InlineFragmentNode):
            below, more = _shape(selection.selection_set, fragments, seen)
            depth, aliases = max(depth, below), aliases + more
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:  # validation refuses both; stay total anyway
                continue
            below, more = _shape(fragment.selection_set, fragments, seen | {name})
            depth, aliases = max(depth, below), aliases + more
    return depth, aliases


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    limits: QueryLimits
    seen: set[str] = field(default_factory=set)


def estimate_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    limits: QueryLimits,
) -> int:
    """The estimated cost of a validated operation with its coerced ``variables``."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    walk = _Walk(schema, fragments, variables, limits)
    return _selection_cost(walk, operation.selection_set, root, 1, (), None)


def _selection_cost(
    walk: _Walk,
    selection_set: SelectionSetNode,
    parent: GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType,
    count: int,
    codes: Sequence[str],
    carried: int | None,
) -> int:
    """The cost of ``selection_set`` on ``count`` objects of type ``parent`` (``codes``: the
    jurisdictions those objects are, when they are jurisdictions; ``carried``: the ``first``
    of the connection they are, the size of their lists)."""
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__") or isinstance(parent, GraphQLUnionType):
                continue
            definition = parent.fields.get(name)
            if definition is None:
                continue
            total += _field_cost(walk, selection, definition, parent, count, codes, carried)
        else:
            if isinstance(selection, InlineFragmentNode):
                body = selection.selection_set
                condition = selection.type_condition
            elif isinstance(selection, FragmentSpreadNode):
                fragment = walk.fragments.get(selection.name.value)
                if fragment is None:
                    continue
                body, condition = fragment.selection_set, fragment.type_condition
            else:
                continue
            narrowed = walk.schema.get_type(condition.name.value) if condition else parent
            if isinstance(narrowed, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                total += _selection_cost(walk, body, narrowed, count, codes, carried)
    return total


def _field_cost(
    walk: _Walk,
    node: FieldNode,
    definition: GraphQLField,
    parent: GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType,
    count: int,
    codes: Sequence[str],
    carried: int | None,
) -> int:
    named = get_named_type(definition.type)
    if node.selection_set is None or not isinstance(
        named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
    ):
        return 0  # a scalar or an enum: carried in its object
    arguments = {
        a.name.value: value_from_ast_untyped(a.value, dict(walk.variables))
        for a in node.arguments or ()
    }
    child_codes: Sequence[str] = ()
    first = arguments.get("first")
    first = first if isinstance(first, int) and first > 0 else None
    inner = (
        definition.type.of_type if isinstance(definition.type, GraphQLNonNull) else definition.type
    )
    if isinstance(inner, GraphQLList):
        size = first or carried or walk.limits.default_list_size
        passed = None
    else:  # one object per parent; a connection's ``first`` sizes its edges
        size, passed = 1, first
    if named.name == JURISDICTION:
        child_codes = _jurisdictions(node.name.value, parent.name, arguments, codes, count * size)
        instances = len(child_codes)
    else:
        instances = count * size
    cost = instances
    if named.name == JURISDICTION:
        cost += instances * walk.limits.node_cost
    below = _selection_cost(walk, node.selection_set, named, instances, child_codes, passed)
    return cost + below


def _jurisdictions(
    name: str, parent: str, arguments: Mapping[str, Any], codes: Sequence[str], count: int
) -> list[str]:
    """The jurisdictions a field yields on ``count`` parents, by code (UNKNOWN where it
    cannot be named; ``codes``: the parents', when they are jurisdictions)."""
    tree = division_tree()
    if parent == JURISDICTION and name == "children":
        out: list[str] = []
        for code in codes:
            if code == UNKNOWN or code not in tree:
                out.extend([UNKNOWN] * _widest(code))
            else:
                out.extend(d.code for d in tree.children(code))
        return out
    if parent == JURISDICTION and name == "parent":
        return [_parent(code) for code in codes]
    named = arguments.get("code")
    if count == 1 and isinstance(named, str) and named in tree:
        return [named]
    return [UNKNOWN] * count


def _parent(code: str) -> str:
    division = division_tree().get(code) if code else None
    if division is None:
        return UNKNOWN
    return parent_code(code) or UNKNOWN


def _widest(code: str) -> int:
    """The most children any division of ``code``'s tier has (of any tier, when unknown)."""
    widest = _widest_by_tier()
    division = division_tree().get(code) if code else None
    if division is None:
        return max(widest.values())
    return widest.get(division.tier, 0)


@cache
def _widest_by_tier() -> dict[Tier, int]:
    tree = division_tree()
    widest: dict[Tier, int] = {}
    for province in tree.provinces():
        for division in tree.subtree(province.code):
            wide = len(tree.children(division.code))
            widest[division.tier] = max(widest.get(division.tier, 0), wide)
    return widest

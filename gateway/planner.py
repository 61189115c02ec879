"""Stage 2: plan an operation into subgraph fetches, the Federation way.

The planner walks the normalised client operation and grows *fetch groups*: one per
(subgraph, merge path) reached from a parent group. A field the current subgraph can
resolve stays in the current group (fewest hops, which is also how ``@shareable`` and
``@provides`` avoid a hop); any other field of an entity moves to a child group that
fetches the entity through ``_entities``, and the parent gains the representation fields
(``__typename``, a key the target can resolve, the target's ``@requires`` fields). Those
representation fields are themselves planned like client fields, so a key or a required
field the current subgraph lacks is fetched first from its owner (multi-hop keys,
requires-on-requires). Abstract types are planned per concrete type (``... on T``) with
``__typename``, so members living in other subgraphs are reached by their own entity fetch.
Finally the group DAG is cut into levels: ``Sequence`` of ``Parallel`` stages of
``Fetch`` (root) and ``Flatten(path, Fetch)`` (entities) nodes. Mutation root fields are
planned in consecutive same-subgraph chunks executed in order.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
    print_ast,
    visit,
)
from graphql.language import Visitor

from gateway.node_owned import NodeOwnership
from gateway.operation import (
    Field,
    InlineFragment,
    NormalizedOperation,
    Selection,
    normalize_operation,
)
from gateway.supergraph import FieldMeta, Key, Supergraph

__all__ = [
    "FetchNode",
    "FlattenNode",
    "ParallelNode",
    "PlanNode",
    "PlanningError",
    "QueryPlan",
    "QueryPlanner",
    "SequenceNode",
    "format_plan",
]

# A path element is a response key, "@" (every item of a list) or "|[T]" (objects of type T).
Path = tuple[str, ...]
INTERNAL_ALIAS_PREFIX = "__gw_"
# The __typename of a representation (an @interfaceObject's own name is the right one there).
_REPRESENTATION_TYPENAME = Field("__typename")


class PlanningError(Exception):
    """The operation cannot be answered from the subgraphs (a composition bug, usually)."""


@dataclass(frozen=True)
class FetchNode:
    id: int
    subgraph: str
    operation: str
    operation_kind: Literal["query", "mutation"]
    variable_usages: tuple[str, ...]
    # Entity fetches only: the representation to build per type, read by response key in the
    # merged data and sent by field name; and the name of the representations variable.
    requires: tuple[InlineFragment, ...] = ()
    representations_variable: str | None = None
    # (type, name sent as __typename) where they differ: objects of an implementation (or
    # of the interface itself) fetched from an @interfaceObject subgraph.
    send_as: tuple[tuple[str, str], ...] = ()
    # Root fetches only: the top-level response keys, to name the fields a failure nulls.
    response_keys: tuple[str, ...] = ()

    @property
    def is_entity_fetch(self) -> bool:
        return self.representations_variable is not None


@dataclass(frozen=True)
class FlattenNode:
    path: Path
    node: FetchNode


@dataclass(frozen=True)
class SequenceNode:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True)
class ParallelNode:
    nodes: tuple[PlanNode, ...]


PlanNode = FetchNode | FlattenNode | SequenceNode | ParallelNode


@dataclass(frozen=True)
class QueryPlan:
    operation: NormalizedOperation
    root_type: str
    node: PlanNode | None

    def fetches(self) -> list[FetchNode]:
        out: list[FetchNode] = []

        def walk(node: PlanNode | None) -> None:
            if isinstance(node, FetchNode):
                out.append(node)
            elif isinstance(node, FlattenNode):
                walk(node.node)
            elif isinstance(node, SequenceNode | ParallelNode):
                for child in node.nodes:
                    walk(child)

        walk(self.node)
        return out


class QueryPlanner:
    """Plans operations against one supergraph; plans are cached by (document hash, name)."""

    def __init__(self, supergraph: Supergraph, *, cache_size: int = 1024) -> None:
        self.supergraph = supergraph
        self.cache_size = cache_size
        self.plans_built = 0
        self.ownership = NodeOwnership(supergraph)
        self._cache: OrderedDict[tuple[str, str | None], QueryPlan] = OrderedDict()

    def plan(
        self,
        document: DocumentNode,
        operation_name: str | None = None,
        *,
        document_hash: str | None = None,
    ) -> QueryPlan:
        digest = document_hash or hashlib.sha256(print_ast(document).encode()).hexdigest()
        cache_key = (digest, operation_name)
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            return cached
        plan = self.build_plan(normalize_operation(document, operation_name))
        self._cache[cache_key] = plan
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return plan

    def build_plan(self, operation: NormalizedOperation) -> QueryPlan:
        self.plans_built += 1
        return _PlanBuilder(self.supergraph, operation, self.ownership.scope()).build()


# --- plan building ----------------------------------------------------------------------------


@dataclass
class _FieldSel:
    name: str
    alias: str | None
    arguments: tuple[ArgumentNode, ...]
    directives: tuple[DirectiveNode, ...]
    selections: list[_Sel] = field(default_factory=list)

    @property
    def response_key(self) -> str:
        return self.alias or self.name


@dataclass
class _FragmentSel:
    type_condition: str | None
    directives: tuple[DirectiveNode, ...]
    selections: list[_Sel] = field(default_factory=list)


_Sel = _FieldSel | _FragmentSel


def _printed(nodes: Sequence[ArgumentNode | DirectiveNode]) -> tuple[str, ...]:
    return tuple(print_ast(n) for n in nodes)


def _add_field(
    target: list[_Sel],
    name: str,
    alias: str | None,
    arguments: tuple[ArgumentNode, ...] = (),
    directives: tuple[DirectiveNode, ...] = (),
) -> _FieldSel:
    key = alias or name
    for sel in target:
        if (
            isinstance(sel, _FieldSel)
            and sel.response_key == key
            and sel.name == name
            and _printed(sel.arguments) == _printed(arguments)
            and _printed(sel.directives) == _printed(directives)
        ):
            return sel
    new = _FieldSel(name, alias, arguments, directives)
    target.append(new)
    return new


def _add_fragment(
    target: list[_Sel], type_condition: str | None, directives: tuple[DirectiveNode, ...]
) -> _FragmentSel:
    for sel in target:
        if (
            isinstance(sel, _FragmentSel)
            and sel.type_condition == type_condition
            and _printed(sel.directives) == _printed(directives)
        ):
            return sel
    new = _FragmentSel(type_condition, directives)
    target.append(new)
    return new


@dataclass
class _Group:
    id: int
    subgraph: str
    path: Path
    parent: _Group | None
    selections: list[_Sel] = field(default_factory=list)
    requires: dict[str, list[Selection]] = field(default_factory=dict)
    deps: set[int] = field(default_factory=set)
    children: dict[tuple[str, Path], _Group] = field(default_factory=dict)
    # Representations of these types are sent as another (an @interfaceObject's interface).
    send_as: dict[str, str] = field(default_factory=dict)

    @property
    def is_entity(self) -> bool:
        return self.parent is not None

    def entity_target(
        self, type_name: str, conditions: tuple[tuple[DirectiveNode, ...], ...]
    ) -> list[_Sel]:
        target = _add_fragment(self.selections, type_name, ()).selections
        for directives in conditions:
            target = _add_fragment(target, None, directives).selections
        return target

    def add_requires(self, type_name: str, fields: Sequence[Selection]) -> None:
        existing = self.requires.setdefault(type_name, [])
        for sel in fields:
            if sel not in existing:
                existing.append(sel)


Conditions = tuple[tuple[DirectiveNode, ...], ...]


class _PlanBuilder:
    def __init__(
        self,
        supergraph: Supergraph,
        operation: NormalizedOperation,
        ownership: NodeOwnership | None = None,
    ) -> None:
        self.sg = supergraph
        self.ownership = ownership or NodeOwnership(supergraph)
        self.schema = supergraph.api_schema
        self.operation = operation
        self.groups: list[_Group] = []
        self._trackers: list[set[int]] = []
        self._in_progress: set[tuple[str, str, str, Path]] = set()
        self._reserved = _aliased_names(operation.selections)

    # -- entry ---------------------------------------------------------------------------------
    def build(self) -> QueryPlan:
        kind = self.operation.kind
        root = self.schema.get_root_type(kind)
        if root is None:
            raise PlanningError(f"the schema has no {kind.value} type")
        if kind == OperationType.SUBSCRIPTION:
            raise PlanningError("subscriptions are not supported by this gateway")
        root_fields = [
            (f, c)
            for f, c in _root_fields(self.operation.selections, ())
            if f.name not in ("__typename", "__schema", "__type")
        ]
        # A root fetch goes to one subgraph and, for fields naming a node, to that node.
        chunks: list[list[tuple[Field, Conditions, tuple[str, str | None]]]] = []
        chosen: set[str] = set()
        for f, conditions in root_fields:
            graph = self._root_subgraph(root.name, f, chosen)
            chosen.add(graph)
            route = (graph, self.ownership.shard_of(f))
            if kind == OperationType.MUTATION:
                if chunks and chunks[-1][-1][2] == route:
                    chunks[-1].append((f, conditions, route))
                else:
                    chunks.append([(f, conditions, route)])
            else:
                chunks = chunks or [[]]
                chunks[0].append((f, conditions, route))

        nodes: list[PlanNode] = []
        for chunk in chunks:
            first = len(self.groups)
            roots: dict[tuple[str, str | None], _Group] = {}
            for f, conditions, route in chunk:
                group = roots.get(route) or self._new_group(route[0], (), None)
                roots[route] = group
                self.ownership.enter_root(group.id, root.name, f)
                target = group.selections
                for directives in conditions:
                    target = _add_fragment(target, None, directives).selections
                self._plan(group, target, root.name, (f,), (), None, ())
            node = self._node_for(self.groups[first:])
            if node is not None:
                nodes.append(node)
        plan_node: PlanNode | None
        if not nodes:
            plan_node = None
        elif len(nodes) == 1:
            plan_node = nodes[0]
        else:
            plan_node = SequenceNode(tuple(nodes))
        return QueryPlan(self.operation, root.name, plan_node)

    def _root_subgraph(self, root_type: str, f: Field, chosen: set[str]) -> str:
        graphs = sorted(self.sg.field(root_type, f.name).resolvable_in)
        if not graphs:
            raise PlanningError(f"no subgraph resolves {root_type}.{f.name}")
        # Shared root fields: the subgraph that leaves the fewest fields to other subgraphs,
        # then one already asked, then by name (deterministic plans).
        field_type = get_named_type(self._field_type(root_type, f.name)).name
        return min(
            graphs,
            key=lambda g: (self._remote_fields(g, field_type, f.selections), g not in chosen, g),
        )

    def _remote_fields(self, graph: str, type_name: str, selections: Sequence[Selection]) -> int:
        """How many fields of ``selections`` ``graph`` cannot resolve itself."""
        count = 0
        for sel in selections:
            if isinstance(sel, InlineFragment):
                inner = sel.type_condition or type_name
                count += self._remote_fields(graph, inner, sel.selections)
                continue
            if sel.name == "__typename":
                continue
            meta = self.sg.types.get(type_name)
            if meta is None or sel.name not in meta.fields:
                continue
            if not self._local(graph, meta.fields[sel.name], False):
                count += 1
            elif sel.selections:
                child = get_named_type(self._field_type(type_name, sel.name)).name
                count += self._remote_fields(graph, child, sel.selections)
        return count

    # -- the walk ------------------------------------------------------------------------------
    def _plan(
        self,
        group: _Group,
        target: list[_Sel],
        parent_type: str,
        selections: Sequence[Selection],
        path: Path,
        provided: SelectionSetNode | None,
        conditions: Conditions,
    ) -> None:
        if self._is_interface_object(group.subgraph, parent_type):
            self._add(group, target, "__typename", None)
            concrete = _needs_concrete_type(selections, parent_type)
            if concrete:
                self._resolve_concrete_type(
                    group, target, parent_type, concrete, path, provided, conditions
                )
        elif is_abstract_type(self.schema.get_type(parent_type)):
            self._add(group, target, "__typename", None)
            for runtime in self.sg.runtime_types_in(group.subgraph, parent_type):
                inner = _add_fragment(target, runtime, ()).selections
                typed_path = (*path, f"|[{runtime}]")
                self._plan(group, inner, runtime, selections, typed_path, provided, conditions)
            return
        for sel in selections:
            if isinstance(sel, InlineFragment):
                if not self._applies(sel.type_condition, parent_type):
                    continue
                if sel.directives:
                    inner = _add_fragment(target, None, sel.directives).selections
                    inner_conditions = (*conditions, sel.directives)
                    self._plan(
                        group, inner, parent_type, sel.selections, path, provided, inner_conditions
                    )
                else:
                    self._plan(
                        group, target, parent_type, sel.selections, path, provided, conditions
                    )
            elif sel.name == "__typename":
                self._add(group, target, sel.name, sel.alias, (), sel.directives)
            else:
                self._plan_field(group, target, parent_type, sel, path, provided, conditions)

    def _plan_field(
        self,
        group: _Group,
        target: list[_Sel],
        parent_type: str,
        f: Field,
        path: Path,
        provided: SelectionSetNode | None,
        conditions: Conditions,
    ) -> None:
        meta = self.sg.field(parent_type, f.name)
        provided_node = _provided_field(provided, parent_type, f.name)
        if self._local(
            group.subgraph, meta, provided_node is not None
        ) and not self.ownership.must_hop(group, parent_type, f.name, path):
            sub_provided = (
                provided_node.selection_set
                if provided_node is not None
                else meta.provides.get(group.subgraph)
            )
            self._add_local(group, target, parent_type, f, path, sub_provided, conditions)
        else:
            self._jump(group, target, parent_type, f, path, provided, conditions)

    def _add_local(
        self,
        group: _Group,
        target: list[_Sel],
        parent_type: str,
        f: Field,
        path: Path,
        provided: SelectionSetNode | None,
        conditions: Conditions,
    ) -> None:
        added = self._add(group, target, f.name, f.alias, f.arguments, f.directives)
        if not f.selections:
            return
        field_type = self._field_type(parent_type, f.name)
        child_path = (*path, f.response_key, *("@",) * _list_depth(field_type))
        child_type = get_named_type(field_type).name
        self._plan(
            group, added.selections, child_type, f.selections, child_path, provided, conditions
        )

    def _jump(
        self,
        group: _Group,
        target: list[_Sel],
        parent_type: str,
        f: Field,
        path: Path,
        provided: SelectionSetNode | None,
        conditions: Conditions,
    ) -> None:
        guard = (group.subgraph, parent_type, f.name, path)
        if guard in self._in_progress:
            raise PlanningError(
                f"{parent_type}.{f.name} cannot be reached from subgraph {group.subgraph}: "
                "its key or required fields depend on itself"
            )
        self._in_progress.add(guard)
        try:
            meta = self.sg.field(parent_type, f.name)
            entity_type = parent_type
            if not meta.resolvable_in:
                # A field an @interfaceObject gives every implementation: fetch it through
                # the interface, sending the interface's name as the representation's type.
                entity_type = self._interface_object_for(parent_type, f.name)
                meta = self.sg.field(entity_type, f.name)
            graph, key = self._choose_entity_source(group, entity_type, meta, path, provided)
            child = self._entity_child(
                group,
                target,
                parent_type,
                entity_type,
                graph,
                key,
                meta.requires.get(graph),
                path,
                provided,
                conditions,
            )
            child_target = child.entity_target(entity_type, conditions)
            provides = meta.provides.get(graph)
            self._add_local(child, child_target, entity_type, f, path, provides, ())
        finally:
            self._in_progress.discard(guard)

    def _entity_child(
        self,
        group: _Group,
        target: list[_Sel],
        parent_type: str,
        entity_type: str,
        graph: str,
        key: Key,
        requires: SelectionSetNode | None,
        path: Path,
        provided: SelectionSetNode | None,
        conditions: Conditions,
    ) -> _Group:
        """The group fetching ``entity_type`` from ``graph`` at ``path``; the current group
        gains the representation (``__typename``, the key, the required fields)."""
        child = self._child(group, graph, path)
        representation = (
            _REPRESENTATION_TYPENAME,
            *self._internal_selections(key.selection_set),
            *self._internal_selections(requires),
        )
        with self._tracking() as touched:
            self._plan(group, target, parent_type, representation, path, provided, conditions)
        child.deps |= touched - {child.id}
        child.add_requires(parent_type, representation)
        if entity_type != parent_type:
            child.send_as[parent_type] = entity_type
        return child

    def _resolve_concrete_type(
        self,
        group: _Group,
        target: list[_Sel],
        interface: str,
        selections: Sequence[Selection],
        path: Path,
        provided: SelectionSetNode | None,
        conditions: Conditions,
    ) -> None:
        """An @interfaceObject knows no concrete types: ask a subgraph that owns the entity
        interface for ``__typename`` and for the fields of type-conditioned fragments."""
        meta = self.sg.types[interface]
        owners = sorted(
            g for g in meta.graphs if g not in meta.interface_object_in and meta.keys_in(g)
        )
        if not owners:
            raise PlanningError(f"no subgraph resolves the concrete types of {interface}")
        best = None
        for graph in owners:
            for key in meta.keys_in(graph):
                if self._selection_local(group.subgraph, interface, key.selection_set, provided):
                    best = best or (graph, key)
        graph, key = best or (owners[0], meta.keys_in(owners[0])[0])
        child = self._entity_child(
            group, target, interface, interface, graph, key, None, path, provided, conditions
        )
        child_target = child.entity_target(interface, conditions)
        self._plan(child, child_target, interface, selections, path, None, ())

    def _is_interface_object(self, graph: str, type_name: str) -> bool:
        meta = self.sg.types.get(type_name)
        return meta is not None and graph in meta.interface_object_in

    def _interface_object_for(self, type_name: str, field_name: str) -> str:
        object_type = self.schema.get_type(type_name)
        for interface in getattr(object_type, "interfaces", ()):
            meta = self.sg.types.get(interface.name)
            if (
                meta is not None
                and meta.interface_object_in
                and field_name in meta.fields
                and meta.fields[field_name].resolvable_in & meta.interface_object_in
            ):
                return str(interface.name)
        raise PlanningError(f"no subgraph resolves {type_name}.{field_name}")

    def _choose_entity_source(
        self,
        group: _Group,
        type_name: str,
        meta: FieldMeta,
        path: Path,
        provided: SelectionSetNode | None,
    ) -> tuple[str, Key]:
        type_meta = self.sg.types.get(type_name)
        if type_meta is None:
            raise PlanningError(f"{type_name} has no join metadata")
        merge_path = _merge_path(path)
        best: tuple[tuple[int, int, str], str, Key] | None = None
        for graph in sorted(meta.resolvable_in):
            for key in type_meta.keys_in(graph):
                local = self._selection_local(
                    group.subgraph, type_name, key.selection_set, provided
                )
                reuse = (graph, merge_path) in group.children
                score = (0 if local else 1, 0 if reuse else 1, graph)
                if best is None or score < best[0]:
                    best = (score, graph, key)
        if best is None:
            raise PlanningError(
                f"{type_name}.{meta.name} is not reachable from subgraph {group.subgraph}: "
                "no subgraph that resolves it has a resolvable key"
            )
        return best[1], best[2]

    # -- what a subgraph can resolve -----------------------------------------------------------
    @staticmethod
    def _local(graph: str, meta: FieldMeta, provided: bool) -> bool:
        # A field with @requires in this subgraph always needs an entity fetch that
        # carries the required fields, even from the same subgraph.
        return provided or (graph in meta.resolvable_in and graph not in meta.requires)

    def _selection_local(
        self,
        graph: str,
        type_name: str,
        selection_set: SelectionSetNode,
        provided: SelectionSetNode | None,
    ) -> bool:
        for node in selection_set.selections:
            if isinstance(node, InlineFragmentNode):
                inner_type = node.type_condition.name.value if node.type_condition else type_name
                if not self._selection_local(graph, inner_type, node.selection_set, provided):
                    return False
                continue
            if not isinstance(node, FieldNode) or node.name.value == "__typename":
                continue
            meta = self.sg.field(type_name, node.name.value)
            provided_node = _provided_field(provided, type_name, node.name.value)
            if not self._local(graph, meta, provided_node is not None):
                return False
            if node.selection_set is not None:
                child_type = get_named_type(self._field_type(type_name, node.name.value)).name
                sub = provided_node.selection_set if provided_node else meta.provides.get(graph)
                if not self._selection_local(graph, child_type, node.selection_set, sub):
                    return False
        return True

    # -- helpers -------------------------------------------------------------------------------
    def _applies(self, type_condition: str | None, runtime_type: str) -> bool:
        if type_condition is None or type_condition == runtime_type:
            return True
        condition = self.schema.get_type(type_condition)
        if is_abstract_type(condition):
            return any(t.name == runtime_type for t in self.schema.get_possible_types(condition))
        return False

    def _field_type(self, parent_type: str, field_name: str) -> GraphQLOutputType:
        parent = self.schema.get_type(parent_type)
        fields = getattr(parent, "fields", {})
        if field_name not in fields:
            raise PlanningError(f"{parent_type} has no field {field_name}")
        field_type: GraphQLOutputType = fields[field_name].type
        return field_type

    def _new_group(self, subgraph: str, path: Path, parent: _Group | None) -> _Group:
        group = _Group(len(self.groups), subgraph, path, parent)
        if parent is not None:
            group.deps.add(parent.id)
        self.groups.append(group)
        return group

    def _child(self, group: _Group, subgraph: str, path: Path) -> _Group:
        merge_path = _merge_path(path)
        key = (subgraph, merge_path)
        if key not in group.children:
            group.children[key] = self._new_group(subgraph, merge_path, group)
        return group.children[key]

    def _add(
        self,
        group: _Group,
        target: list[_Sel],
        name: str,
        alias: str | None,
        arguments: tuple[ArgumentNode, ...] = (),
        directives: tuple[DirectiveNode, ...] = (),
    ) -> _FieldSel:
        for tracker in self._trackers:
            tracker.add(group.id)
        return _add_field(target, name, alias, arguments, directives)

    @contextmanager
    def _tracking(self) -> Iterator[set[int]]:
        touched: set[int] = set()
        self._trackers.append(touched)
        try:
            yield touched
        finally:
            self._trackers.pop()

    def _internal_selections(self, selection_set: SelectionSetNode | None) -> tuple[Selection, ...]:
        """Key/required field sets as selections the gateway adds (aliased if a name is taken)."""
        if selection_set is None:
            return ()
        out: list[Selection] = []
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                name = node.name.value
                alias = INTERNAL_ALIAS_PREFIX + name if name in self._reserved else None
                if node.arguments:
                    # A required field with arguments must not merge with the client's field
                    # of the same name (other arguments): it gets a name of its own.
                    printed = ",".join(print_ast(a) for a in node.arguments)
                    digest = hashlib.sha256(printed.encode()).hexdigest()[:8]
                    alias = f"{INTERNAL_ALIAS_PREFIX}{name}_{digest}"
                out.append(
                    Field(
                        name,
                        alias,
                        tuple(node.arguments or ()),
                        (),
                        self._internal_selections(node.selection_set),
                    )
                )
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition.name.value if node.type_condition else None
                out.append(
                    InlineFragment(condition, (), self._internal_selections(node.selection_set))
                )
        return tuple(out)

    # -- from groups to plan nodes -------------------------------------------------------------
    def _node_for(self, groups: Sequence[_Group]) -> PlanNode | None:
        live = [g for g in groups if _prune(g.selections)]
        if not live:
            return None
        by_id = {g.id: g for g in live}
        levels: dict[int, int] = {}

        def level(g: _Group) -> int:
            if g.id not in levels:
                deps = [by_id[d] for d in g.deps if d in by_id]
                levels[g.id] = 1 + max((level(d) for d in deps), default=-1)
            return levels[g.id]

        stages: list[list[PlanNode]] = []
        for g in live:
            depth = level(g)
            while len(stages) <= depth:
                stages.append([])
            stages[depth].append(self._fetch_node(g))
        steps: list[PlanNode] = [s[0] if len(s) == 1 else ParallelNode(tuple(s)) for s in stages]
        return steps[0] if len(steps) == 1 else SequenceNode(tuple(steps))

    def _fetch_node(self, group: _Group) -> PlanNode:
        kind: Literal["query", "mutation"] = (
            "mutation"
            if self.operation.kind == OperationType.MUTATION and not group.is_entity
            else "query"
        )
        body = _print_selections(group.selections)
        used = _variables_in(group.selections)
        definitions = [
            print_ast(d)
            for d in self.operation.variable_definitions
            if d.variable.name.value in used
        ]
        usages = tuple(
            d.variable.name.value
            for d in self.operation.variable_definitions
            if d.variable.name.value in used
        )
        name = ""
        if self.operation.name:
            subgraph = re.sub(r"[^_0-9A-Za-z]", "_", group.subgraph)
            name = f" {self.operation.name}__{subgraph}__{group.id}"
        if not group.is_entity:
            header = f"({', '.join(definitions)})" if definitions else ""
            text = f"{kind}{name}{header} {body}"
            keys = tuple(_top_level_keys(group.selections))
            return FetchNode(group.id, group.subgraph, text, kind, usages, response_keys=keys)
        reps = "representations"
        declared = {d.variable.name.value for d in self.operation.variable_definitions}
        while reps in declared:
            reps = "_" + reps
        header = f"(${reps}: [_Any!]!{''.join(', ' + d for d in definitions)})"
        text = f"query{name}{header} {{ _entities(representations: ${reps}) {body} }}"
        requires = tuple(
            InlineFragment(type_name, (), tuple(fields))
            for type_name, fields in group.requires.items()
        )
        fetch = FetchNode(
            group.id,
            group.subgraph,
            text,
            kind,
            usages,
            requires,
            reps,
            send_as=tuple(sorted(group.send_as.items())),
        )
        return FlattenNode(group.path, fetch)


# --- small pure helpers -----------------------------------------------------------------------


def _root_fields(
    selections: Sequence[Selection], conditions: Conditions
) -> Iterator[tuple[Field, Conditions]]:
    for sel in selections:
        if isinstance(sel, Field):
            yield sel, conditions
        else:
            inner = (*conditions, sel.directives) if sel.directives else conditions
            yield from _root_fields(sel.selections, inner)


def _needs_concrete_type(selections: Sequence[Selection], interface: str) -> tuple[Selection, ...]:
    """What of a selection on an @interfaceObject needs the concrete type: ``__typename``
    and fragments on other types (fragments on the interface itself are looked into)."""
    out: list[Selection] = []
    for sel in selections:
        if isinstance(sel, Field):
            if sel.name == "__typename" and sel is not _REPRESENTATION_TYPENAME:
                out.append(sel)
        elif sel.type_condition in (None, interface):
            inner = _needs_concrete_type(sel.selections, interface)
            if inner:
                out.append(InlineFragment(sel.type_condition, sel.directives, inner))
        else:
            out.append(sel)
    return tuple(out)


def _aliased_names(selections: Sequence[Selection]) -> set[str]:
    names: set[str] = set()
    for sel in selections:
        if isinstance(sel, Field) and sel.alias and sel.alias != sel.name:
            names.add(sel.alias)
        names |= _aliased_names(sel.selections)
    return names


def _provided_field(
    provided: SelectionSetNode | None, type_name: str, field_name: str
) -> FieldNode | None:
    if provided is None:
        return None
    for node in provided.selections:
        if isinstance(node, FieldNode) and node.name.value == field_name:
            return node
        if isinstance(node, InlineFragmentNode) and (
            node.type_condition is None or node.type_condition.name.value == type_name
        ):
            found = _provided_field(node.selection_set, type_name, field_name)
            if found is not None:
                return found
    return None


def _list_depth(field_type: GraphQLOutputType) -> int:
    depth = 0
    current: object = field_type
    while isinstance(current, GraphQLNonNull | GraphQLList):
        if isinstance(current, GraphQLList):
            depth += 1
        current = current.of_type
    return depth


def _merge_path(path: Path) -> Path:
    """Entity groups merge at the object position: a trailing type filter is not part of it
    (members of one abstract position that go to the same subgraph share one fetch)."""
    return path[:-1] if path and path[-1].startswith("|[") else path


def _prune(selections: list[_Sel]) -> bool:
    """Drop empty fragments; report whether anything is left."""
    kept: list[_Sel] = []
    for sel in selections:
        if isinstance(sel, _FragmentSel):
            if _prune(sel.selections):
                kept.append(sel)
        else:
            if sel.selections and not _prune(sel.selections):
                sel.selections.append(_FieldSel("__typename", None, (), ()))
            kept.append(sel)
    selections[:] = kept
    return bool(kept)


def _print_selections(selections: Sequence[_Sel]) -> str:
    return "{ " + " ".join(_print_selection(s) for s in selections) + " }"


def _print_selection(sel: _Sel) -> str:
    directives = "".join(" " + print_ast(d) for d in sel.directives)
    if isinstance(sel, _FragmentSel):
        on = f" on {sel.type_condition}" if sel.type_condition else ""
        return f"...{on}{directives} {_print_selections(sel.selections)}"
    alias = f"{sel.alias}: " if sel.alias else ""
    args = f"({', '.join(print_ast(a) for a in sel.arguments)})" if sel.arguments else ""
    sub = f" {_print_selections(sel.selections)}" if sel.selections else ""
    return f"{alias}{sel.name}{args}{directives}{sub}"


def _top_level_keys(selections: Sequence[_Sel]) -> Iterator[str]:
    for sel in selections:
        if isinstance(sel, _FieldSel):
            yield sel.response_key
        else:
            yield from _top_level_keys(sel.selections)


class _VariableCollector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        self.names.add(node.name.value)


def _variables_in(selections: Sequence[_Sel]) -> set[str]:
    collector = _VariableCollector()
    for sel in selections:
        for node in (*sel.directives, *(sel.arguments if isinstance(sel, _FieldSel) else ())):
            visit(node, collector)
        collector.names |= _variables_in(sel.selections)
    return collector.names


# --- a readable plan, for logs and tests ------------------------------------------------------


def format_plan(plan: QueryPlan | PlanNode | None, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(plan, QueryPlan):
        return "QueryPlan {\n" + format_plan(plan.node, indent + 1) + "\n}"
    if plan is None:
        return pad + "(no fetch)"
    if isinstance(plan, FetchNode):
        lines = [f'{pad}Fetch(service: "{plan.subgraph}") {{']
        if plan.requires:
            lines.append(f"{pad}  {_print_requires(plan.requires)} =>")
        lines.append(f"{pad}  {plan.operation}")
        return "\n".join([*lines, pad + "}"])
    if isinstance(plan, FlattenNode):
        path = ".".join(plan.path).replace(".|", "|")
        return f'{pad}Flatten(path: "{path}") {{\n{format_plan(plan.node, indent + 1)}\n{pad}}}'
    label = "Sequence" if isinstance(plan, SequenceNode) else "Parallel"
    inner = ",\n".join(format_plan(n, indent + 1) for n in plan.nodes)
    return f"{pad}{label} {{\n{inner}\n{pad}}}"


def _print_requires(requires: Sequence[InlineFragment]) -> str:
    def show(selections: Sequence[Selection]) -> str:
        parts: list[str] = []
        for sel in selections:
            if isinstance(sel, InlineFragment):
                parts.append(f"... on {sel.type_condition} {show(sel.selections)}")
            else:
                alias = f"{sel.alias}: " if sel.alias else ""
                sub = f" {show(sel.selections)}" if sel.selections else ""
                parts.append(f"{alias}{sel.name}{sub}")
        return "{ " + " ".join(parts) + " }"

    return show(requires)

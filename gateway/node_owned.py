"""The node-owned rule: data marked ``@nodeOwned`` is fetched from the node that owns the key.

Subgraphs declare ``@nodeOwned`` (``@link(url: "https://xinfang.dev/node/v1.0")``, composed
into the supergraph) on a type, for all its fields but its keys (``Case``), or on a field
(``Jurisdiction.stats``). Every tier subgraph can resolve such a field, so the standard rule,
"stay in the current fetch", would ask whichever node produced the object. Here an object is
*at its owner* only when it is the root object of a fetch routed by its own key:

- the entity of an entity fetch (the router sends each representation to its owner), or
- the object a root field returns when that field names a node by the object's key
  (``jurisdiction(code: "53")``, ``case(id: "530102-2025-000001")``: routed to that node).

A node-owned field anywhere else gets an entity fetch keyed by the object's key. Root fields
naming different nodes go to different fetches (``shard_of``). Without ``@nodeOwned`` in the
supergraph nothing changes. See docs/adr/0010-key-routed-shards.md.
"""

from __future__ import annotations

from typing import Any, Protocol

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    StringValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    print_ast,
)

from gateway.operation import Field
from gateway.supergraph import Supergraph

__all__ = ["NODE_ARGUMENTS", "NODE_OWNED", "NodeOwnership"]

NODE_OWNED = "nodeOwned"
NODE_ARGUMENTS = ("code", "id")  # a node's code, or an id that starts with it

Path = tuple[str, ...]


class GroupLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def path(self) -> Path: ...
    @property
    def is_entity(self) -> bool: ...


class NodeOwnership:
    def __init__(self, supergraph: Supergraph) -> None:
        self.supergraph = supergraph
        self.fields: set[tuple[str, str]] = set()
        for type_ in supergraph.api_schema.type_map.values():
            if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
                whole = _marked(type_)
                keys = self._key_fields(type_.name)
                for name, definition in type_.fields.items():
                    if (whole and name not in keys) or _marked(definition):
                        self.fields.add((type_.name, name))
        self.active = bool(self.fields)
        self._owner_roots: dict[int, set[Path]] = {}

    def scope(self) -> NodeOwnership:
        """A copy for planning one operation (it notes that plan's root groups)."""
        copy = object.__new__(NodeOwnership)
        copy.__dict__.update(self.__dict__, _owner_roots={})
        return copy

    def shard_of(self, root_field: Field) -> str | None:
        """Which node a root field names (printed literal or variable), if any."""
        if not self.active:
            return None
        for argument in root_field.arguments:
            if argument.name.value in NODE_ARGUMENTS and isinstance(
                argument.value, StringValueNode | VariableNode
            ):
                return print_ast(argument.value)
        return None

    def enter_root(self, group_id: int, root_type: str, root_field: Field) -> None:
        """Note the object a root field returns as at its owner when the field names it."""
        if self.shard_of(root_field) is None:
            return
        names = {a.name.value for a in root_field.arguments if a.name.value in NODE_ARGUMENTS}
        definition = self._definition(root_type, root_field.name)
        if definition is None or _is_list(definition.type):
            return
        returned = get_named_type(definition.type).name
        if names & self._key_fields(returned):
            self._owner_roots.setdefault(group_id, set()).add((root_field.response_key,))

    def must_hop(self, group: GroupLike, type_name: str, field_name: str, path: Path) -> bool:
        """A node-owned field of an object that is not at its owner: fetch it from the owner."""
        if (type_name, field_name) not in self.fields:
            return False
        if group.is_entity:
            at_owner = _object_path(path) == group.path
        else:
            at_owner = _object_path(path) in self._owner_roots.get(group.id, ())
        return not at_owner

    def _key_fields(self, type_name: str) -> set[str]:
        meta = self.supergraph.types.get(type_name)
        if meta is None:
            return set()
        return {
            selection.name.value
            for key in meta.keys
            if key.resolvable
            for selection in key.selection_set.selections
            if isinstance(selection, FieldNode)
        }

    def _definition(self, type_name: str, field_name: str) -> GraphQLField | None:
        type_ = self.supergraph.api_schema.get_type(type_name)
        return type_.fields.get(field_name) if isinstance(type_, GraphQLObjectType) else None


def _marked(element: Any) -> bool:
    nodes = [element.ast_node, *getattr(element, "extension_ast_nodes", ())]
    return any(
        directive.name.value == NODE_OWNED
        for node in nodes
        if node is not None
        for directive in node.directives or ()
    )


def _is_list(type_: Any) -> bool:
    return is_list_type(get_nullable_type(type_))


def _object_path(path: Path) -> Path:
    # A trailing type filter ("|[Case]") is the same object.
    return path[:-1] if path and path[-1].startswith("|[") else path

"""Stage 1: read a supergraph SDL (join spec v0.2-v0.5) into an API schema and join metadata.

The API schema is what clients see: the supergraph minus the spec machinery (``@link``,
``@join__*``, ``join__Graph``, ...) and minus every ``@inaccessible`` element. The metadata
is what the planner needs: which subgraphs define a type, by which keys they can fetch it,
which subgraphs can resolve a field and under what conditions (``@requires``,
``@provides``, ``@external``, ``@override``), and which concrete types an abstract type may
return in each subgraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    GraphQLSchema,
    SelectionSetNode,
    build_ast_schema,
    is_abstract_type,
    is_object_type,
    parse,
    value_from_ast_untyped,
    visit,
)
from graphql.language import (
    REMOVE,
    DirectiveDefinitionNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    NamedTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    Visitor,
)

__all__ = [
    "FieldJoin",
    "FieldMeta",
    "Key",
    "Subgraph",
    "Supergraph",
    "SupergraphError",
    "TypeMeta",
    "load_supergraph",
    "parse_field_set",
]

_SPEC_URL = re.compile(r"/(?P<name>[A-Za-z_][A-Za-z0-9_-]*)/v(?P<version>\d+\.\d+)/?$")


class SupergraphError(ValueError):
    """The SDL is not a supergraph this gateway can serve."""


@dataclass(frozen=True)
class Subgraph:
    name: str
    url: str
    enum_value: str  # its value in join__Graph, as the join directives name it


@dataclass(frozen=True)
class Key:
    graph: str
    fields: str
    selection_set: SelectionSetNode
    resolvable: bool


@dataclass(frozen=True)
class FieldJoin:
    """One ``@join__field``: how one subgraph relates to one field."""

    graph: str
    requires: str | None = None
    provides: str | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    # Progressive @override(label:): the overriding join carries ``override`` and the label,
    # the overridden one only the label; which one resolves depends on the label being on.
    override_label: str | None = None

    def resolves(self, labels_on: frozenset[str]) -> bool:
        if self.external or self.used_overridden:
            return False
        if self.override_label is None:
            return True
        return (self.override_label in labels_on) == (self.override is not None)


@dataclass
class FieldMeta:
    type_name: str
    name: str
    # Subgraphs that resolve the field (external and overridden-away ones excluded).
    resolvable_in: frozenset[str]
    requires: dict[str, SelectionSetNode] = field(default_factory=dict)
    provides: dict[str, SelectionSetNode] = field(default_factory=dict)
    external_in: frozenset[str] = frozenset()


@dataclass
class TypeMeta:
    name: str
    graphs: frozenset[str]
    keys: tuple[Key, ...] = ()
    interface_object_in: frozenset[str] = frozenset()
    fields: dict[str, FieldMeta] = field(default_factory=dict)
    # Abstract types only: concrete member types per subgraph.
    members_in: dict[str, frozenset[str]] = field(default_factory=dict)

    def keys_in(self, graph: str, *, resolvable_only: bool = True) -> tuple[Key, ...]:
        return tuple(
            k for k in self.keys if k.graph == graph and (k.resolvable or not resolvable_only)
        )

    @property
    def is_entity(self) -> bool:
        return any(k.resolvable for k in self.keys)


@dataclass
class Supergraph:
    api_schema: GraphQLSchema
    subgraphs: dict[str, Subgraph]
    types: dict[str, TypeMeta]

    def subgraph_urls(self) -> dict[str, str]:
        return {name: sg.url for name, sg in self.subgraphs.items()}

    def field(self, type_name: str, field_name: str) -> FieldMeta:
        try:
            return self.types[type_name].fields[field_name]
        except KeyError:
            raise SupergraphError(f"no join metadata for {type_name}.{field_name}") from None

    def defines(self, graph: str, type_name: str) -> bool:
        meta = self.types.get(type_name)
        return meta is None or graph in meta.graphs

    def runtime_types_in(self, graph: str, abstract_name: str) -> tuple[str, ...]:
        """Concrete API types that ``graph`` may return where ``abstract_name`` is expected."""
        schema = self.api_schema
        abstract = schema.get_type(abstract_name)
        if not is_abstract_type(abstract):
            return (abstract_name,)
        api_members = [t.name for t in schema.get_possible_types(abstract)]
        meta = self.types.get(abstract_name)
        if meta is None or graph not in meta.members_in:
            return tuple(t for t in api_members if self.defines(graph, t))
        in_graph = meta.members_in[graph]
        return tuple(t for t in api_members if t in in_graph)

    def is_object(self, type_name: str) -> bool:
        return is_object_type(self.api_schema.get_type(type_name))


@cache
def parse_field_set(fields: str) -> SelectionSetNode:
    """Parse a ``join__FieldSet`` such as ``"market { code } number"``."""
    document = parse("{" + fields + "}", no_location=True)
    operation = document.definitions[0]
    selection_set: SelectionSetNode = operation.selection_set  # type: ignore[attr-defined]
    return selection_set


def load_supergraph(sdl: str, *, override_labels: Iterable[str] = ()) -> Supergraph:
    """Read ``sdl``; ``override_labels`` are the progressive-override labels switched on
    (none by default, as @apollo/gateway: labelled fields stay with the overridden subgraph)."""
    document = parse(sdl, no_location=True)
    links = _links(document)
    join = links.get("join")
    if join is None:
        raise SupergraphError("not a supergraph: no @link to the join spec")
    join_ns = join[0]
    inaccessible = links.get("inaccessible", ("inaccessible", ""))[0]
    spec_namespaces = {ns for ns, _ in links.values()}
    subgraphs = _subgraphs(document, join_ns)
    by_enum = {sg.enum_value: sg.name for sg in subgraphs.values()}
    types = _type_metadata(document, join_ns, by_enum, frozenset(override_labels))
    api_document = _api_document(document, spec_namespaces, inaccessible)
    api_schema = build_ast_schema(api_document, assume_valid_sdl=True)
    return Supergraph(api_schema=api_schema, subgraphs=subgraphs, types=types)


# --- @link: which specs the supergraph uses, under which names -------------------------------


def _links(document: DocumentNode) -> dict[str, tuple[str, str]]:
    """Spec name -> (namespace in this document, version)."""
    links: dict[str, tuple[str, str]] = {}
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode):
            continue
        for directive in definition.directives or ():
            if directive.name.value not in ("link", "core"):
                continue
            args = _args(directive)
            url = str(args.get("url") or args.get("feature") or "")
            match = _SPEC_URL.search(url)
            if match:
                name = match["name"]
                links[name] = (str(args.get("as") or name), match["version"])
    links.setdefault("link", ("link", "1.0"))
    return links


def _args(directive: DirectiveNode) -> dict[str, Any]:
    return {arg.name.value: value_from_ast_untyped(arg.value) for arg in directive.arguments or ()}


def _directives(node: Any, name: str) -> list[dict[str, Any]]:
    return [_args(d) for d in getattr(node, "directives", None) or () if d.name.value == name]


# --- join metadata ----------------------------------------------------------------------------


def _subgraphs(document: DocumentNode, join_ns: str) -> dict[str, Subgraph]:
    for definition in document.definitions:
        if (
            isinstance(definition, EnumTypeDefinitionNode)
            and definition.name.value == f"{join_ns}__Graph"
        ):
            subgraphs: dict[str, Subgraph] = {}
            for value in definition.values or ():
                for args in _directives(value, f"{join_ns}__graph"):
                    name = str(args["name"])
                    subgraphs[name] = Subgraph(name, str(args["url"]), value.name.value)
            return subgraphs
    raise SupergraphError(f"not a supergraph: no {join_ns}__Graph enum")


_TYPE_NODES = (
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
)


def _type_metadata(
    document: DocumentNode, join_ns: str, by_enum: Mapping[str, str], labels_on: frozenset[str]
) -> dict[str, TypeMeta]:
    all_graphs = frozenset(by_enum.values())
    nodes: dict[str, list[Any]] = {}
    for definition in document.definitions:
        if isinstance(definition, _TYPE_NODES):
            nodes.setdefault(definition.name.value, []).append(definition)

    types: dict[str, TypeMeta] = {}
    implements: dict[str, dict[str, set[str]]] = {}  # interface -> graph -> implementers
    any_implements = False
    for name, defs in nodes.items():
        type_joins = [a for d in defs for a in _directives(d, f"{join_ns}__type")]
        graphs = frozenset(by_enum[str(a["graph"])] for a in type_joins) or all_graphs
        keys = tuple(
            Key(
                graph=by_enum[str(a["graph"])],
                fields=str(a["key"]),
                selection_set=parse_field_set(str(a["key"])),
                resolvable=a.get("resolvable", True) is not False,
            )
            for a in type_joins
            if a.get("key")
        )
        interface_object_in = frozenset(
            by_enum[str(a["graph"])] for a in type_joins if a.get("isInterfaceObject") is True
        )
        meta = TypeMeta(name, graphs, keys, interface_object_in)
        for d in defs:
            for field_node in getattr(d, "fields", None) or ():
                meta.fields[field_node.name.value] = _field_meta(
                    name, field_node, graphs, join_ns, by_enum, labels_on
                )
            for args in _directives(d, f"{join_ns}__implements"):
                any_implements = True
                per_graph = implements.setdefault(str(args["interface"]), {})
                per_graph.setdefault(by_enum[str(args["graph"])], set()).add(name)
            if isinstance(d, UnionTypeDefinitionNode | UnionTypeExtensionNode):
                members: dict[str, set[str]] = {}
                for args in _directives(d, f"{join_ns}__unionMember"):
                    members.setdefault(by_enum[str(args["graph"])], set()).add(str(args["member"]))
                if members:
                    meta.members_in = {g: frozenset(m) for g, m in members.items()}
        types[name] = meta

    if any_implements:
        for interface, per_graph in implements.items():
            if interface in types:
                types[interface].members_in = {g: frozenset(m) for g, m in per_graph.items()}
    return types


def _field_meta(
    type_name: str,
    node: FieldDefinitionNode,
    type_graphs: frozenset[str],
    join_ns: str,
    by_enum: Mapping[str, str],
    labels_on: frozenset[str],
) -> FieldMeta:
    directives = _directives(node, f"{join_ns}__field")
    joins = [
        FieldJoin(
            graph=by_enum[str(a["graph"])],
            requires=a.get("requires"),
            provides=a.get("provides"),
            external=a.get("external") is True,
            override=a.get("override"),
            used_overridden=a.get("usedOverridden") is True,
            override_label=a.get("overrideLabel"),
        )
        for a in directives
        if a.get("graph") is not None
    ]
    name = node.name.value
    if not directives:
        return FieldMeta(type_name, name, type_graphs)
    # A bare @join__field: a field an @interfaceObject adds to every implementation; no
    # subgraph resolves it on the concrete type (the planner goes through the interface).
    return FieldMeta(
        type_name,
        name,
        resolvable_in=frozenset(j.graph for j in joins if j.resolves(labels_on)),
        requires={j.graph: parse_field_set(j.requires) for j in joins if j.requires},
        provides={j.graph: parse_field_set(j.provides) for j in joins if j.provides},
        external_in=frozenset(j.graph for j in joins if j.external),
    )


# --- the API schema ---------------------------------------------------------------------------


def _api_document(
    document: DocumentNode, spec_namespaces: Iterable[str], inaccessible: str
) -> DocumentNode:
    namespaces = set(spec_namespaces)

    def is_spec_name(name: str) -> bool:
        return name in namespaces or (name.split("__", 1)[0] in namespaces and "__" in name)

    hidden_types = {
        d.name.value
        for d in document.definitions
        if isinstance(d, TypeDefinitionNode)
        and (is_spec_name(d.name.value) or _has_directive(d, inaccessible))
    }
    visitor = _ApiSchemaVisitor(is_spec_name, inaccessible, hidden_types)
    api: DocumentNode = visit(document, visitor)
    return api


def _has_directive(node: Any, name: str) -> bool:
    return any(d.name.value == name for d in getattr(node, "directives", None) or ())


class _ApiSchemaVisitor(Visitor):
    def __init__(self, is_spec_name: Any, inaccessible: str, hidden_types: set[str]) -> None:
        super().__init__()
        self.is_spec_name = is_spec_name
        self.inaccessible = inaccessible
        self.hidden_types = hidden_types

    def enter_directive_definition(self, node: DirectiveDefinitionNode, *_: Any) -> Any:
        return REMOVE if self.is_spec_name(node.name.value) else None

    def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
        return REMOVE if self.is_spec_name(node.name.value) else None

    def _type(self, node: TypeDefinitionNode, *_: Any) -> Any:
        return REMOVE if node.name.value in self.hidden_types else None

    enter_object_type_definition = _type
    enter_interface_type_definition = _type
    enter_union_type_definition = _type
    enter_enum_type_definition = _type
    enter_scalar_type_definition = _type
    enter_input_object_type_definition = _type

    def _element(self, node: Any, *_: Any) -> Any:
        return REMOVE if _has_directive(node, self.inaccessible) else None

    enter_field_definition = _element
    enter_enum_value_definition = _element
    enter_input_value_definition = _element

    def enter_named_type(self, node: NamedTypeNode, *_: Any) -> Any:
        # Only reached for union members and implemented interfaces of visible elements:
        # fields typed by a hidden type are themselves @inaccessible (a composition rule).
        return REMOVE if node.name.value in self.hidden_types else None

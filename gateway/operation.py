"""The normalised operation: one operation of a validated document, named fragments inlined.

Planner and execution both work on this small immutable tree: fields (alias, arguments,
directives, sub-selections) and inline fragments (type condition, directives,
sub-selections). Arguments and directives stay graphql-core AST nodes, so they are printed
into subgraph operations verbatim (variables included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
)

__all__ = [
    "Field",
    "InlineFragment",
    "NormalizedOperation",
    "OperationError",
    "Selection",
    "is_included",
    "normalize_operation",
    "select_operation",
]


class OperationError(ValueError):
    """The document does not name one operation that can be run."""


@dataclass(frozen=True)
class Field:
    name: str
    alias: str | None = None
    arguments: tuple[ArgumentNode, ...] = ()
    directives: tuple[DirectiveNode, ...] = ()
    selections: tuple[Selection, ...] = ()

    @cached_property  # read for every field of every object a request walks
    def response_key(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class InlineFragment:
    type_condition: str | None
    directives: tuple[DirectiveNode, ...] = ()
    selections: tuple[Selection, ...] = ()


Selection = Field | InlineFragment


@dataclass(frozen=True)
class NormalizedOperation:
    kind: OperationType
    name: str | None
    variable_definitions: tuple[VariableDefinitionNode, ...]
    selections: tuple[Selection, ...]


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) != 1:
            raise OperationError(
                "Must provide operation name if query contains multiple operations."
            )
        return operations[0]
    for operation in operations:
        if operation.name is not None and operation.name.value == operation_name:
            return operation
    raise OperationError(f"Unknown operation named '{operation_name}'.")


def normalize_operation(
    document: DocumentNode, operation_name: str | None = None
) -> NormalizedOperation:
    operation = select_operation(document, operation_name)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return NormalizedOperation(
        kind=operation.operation,
        name=operation.name.value if operation.name else None,
        variable_definitions=tuple(operation.variable_definitions or ()),
        selections=_selections(operation.selection_set, fragments),
    )


def _selections(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[Selection, ...]:
    if selection_set is None:
        return ()
    out: list[Selection] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            out.append(
                Field(
                    name=node.name.value,
                    alias=node.alias.value if node.alias else None,
                    arguments=tuple(node.arguments or ()),
                    directives=tuple(node.directives or ()),
                    selections=_selections(node.selection_set, fragments),
                )
            )
        elif isinstance(node, InlineFragmentNode):
            out.append(
                InlineFragment(
                    type_condition=node.type_condition.name.value if node.type_condition else None,
                    directives=tuple(node.directives or ()),
                    selections=_selections(node.selection_set, fragments),
                )
            )
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments[node.name.value]
            out.append(
                InlineFragment(
                    type_condition=fragment.type_condition.name.value,
                    directives=tuple(node.directives or ()),
                    selections=_selections(fragment.selection_set, fragments),
                )
            )
    return tuple(out)


def is_included(directives: Sequence[DirectiveNode], variables: Mapping[str, Any]) -> bool:
    """Evaluate ``@skip``/``@include`` as GraphQL execution does."""
    for directive in directives:
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        condition = _condition(directive, variables)
        if (name == "skip" and condition) or (name == "include" and not condition):
            return False
    return True


def _condition(directive: DirectiveNode, variables: Mapping[str, Any]) -> bool:
    for argument in directive.arguments or ():
        if argument.name.value == "if":
            value = argument.value
            if isinstance(value, BooleanValueNode):
                return value.value
            if isinstance(value, VariableNode):
                return bool(variables.get(value.name.value))
    return False

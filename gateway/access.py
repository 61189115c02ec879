"""The gateway's access check: the caller's scope, before planning and at every entity fetch.

The first of two checks (ADR 0015; every node checks again, on its own). Generic by node code,
not field by field, so new fields are covered as they come:

- *Before planning*: every root field's node arguments (``code``, ``id``, ``caseId``: a
  division code or an id that starts with one, ``shared.ownership``) must lie in the caller's
  subtree. A mutation must come from a ``handler`` and, when it names the node it runs at
  (``code``/``id``, the arguments the key router routes by), that node must be the handler's
  own. The operation is refused whole (``FORBIDDEN``, naming the field and the jurisdiction).
- *At each entity fetch*: a representation whose owner lies outside the caller's subtree is
  not sent; its objects get ``FORBIDDEN`` (fields below a jurisdiction fan out inside the
  subtree by construction; this catches the ones that climb, such as ``parent { stats }``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    OperationDefinitionNode,
    OperationType,
    value_from_ast_untyped,
)

from shared.access import FORBIDDEN, read_refusal, write_refusal
from shared.auth import Principal
from shared.graphql.service_endpoint import root_fields
from shared.ownership import node_of_key, owner_of

__all__ = ["FORBIDDEN", "Scope"]

ROUTED_ARGUMENTS = ("code", "id")  # where a root field runs (gateway.routing)
# What a root field reaches (``jurisdiction``: the node a subscription streams, ADR 0016).
SCOPED_ARGUMENTS = (*ROUTED_ARGUMENTS, "caseId", "jurisdiction")

Body = dict[str, Any]


@dataclass(frozen=True)
class Scope:
    principal: Principal

    def refusals(
        self,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> list[Body]:
        """One FORBIDDEN error per root field reaching outside the caller's scope."""
        writes = operation.operation is OperationType.MUTATION
        errors: list[Body] = []
        for field in root_fields(operation.selection_set, fragments):
            name = field.name.value
            if name.startswith("__"):
                continue
            key = field.alias.value if field.alias else name
            arguments = {
                a.name.value: value_from_ast_untyped(a.value, dict(variables))
                for a in field.arguments or ()
            }
            refused: tuple[str, str | None] | None = None
            if writes:
                for argument in ROUTED_ARGUMENTS:
                    code = node_of_key(arguments.get(argument))
                    if code is not None:
                        why = write_refusal(self.principal, code)
                        refused = (why, code) if why else None
                        break
                else:
                    why = write_refusal(self.principal, self.principal.jurisdiction)
                    refused = (why, None) if why else None
            if refused is None:
                for argument in SCOPED_ARGUMENTS:
                    code = node_of_key(arguments.get(argument))
                    if code is not None and (why := read_refusal(self.principal, code)):
                        refused = (why, code)
                        break
            if refused is not None:
                errors.append(_forbidden(f"{name}: {refused[0]}", [key], name, refused[1]))
        return errors

    def entity_refusal(self, representation: Mapping[str, Any]) -> Body | None:
        """FORBIDDEN for a representation of a node outside the caller's subtree."""
        code = owner_of(representation)
        if code is None:
            return None
        why = read_refusal(self.principal, code)
        if why is None:
            return None
        typename = representation.get("__typename", "an entity")
        return _forbidden(f"{typename}: {why}", None, None, code)


def _forbidden(message: str, path: list[str] | None, field: str | None, code: str | None) -> Body:
    extensions: Body = {"code": FORBIDDEN}
    if field is not None:
        extensions["field"] = field
    if code is not None:
        extensions["jurisdiction"] = code
    error: Body = {"message": message, "extensions": extensions}
    if path is not None:
        error["path"] = path
    return error

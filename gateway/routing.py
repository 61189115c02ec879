"""Key-routed shards: each request goes to the node that owns its key (the Router seam).

Every key starts with its owner's division code (``shared.ownership``), and the node registry
says which tier service hosts each node. ``KeyRouter``:

- groups an entity fetch's representations per *service URL* of their owners (the service
  endpoint ``/tiers/{tier}/graphql`` splits them per node again): one ``_entities`` call per
  service, all in parallel; a batch's labels are the jurisdiction codes in it, so a failure
  names every node that did not answer;
- sends a root fetch whose root fields name one node by argument (``code``/``id``) to that
  node's ``/nodes/{code}/graphql``; a root field the province keeps for every node of it
  (``escalationTrail(caseId)``: docs/adr/0014) names the province of its key; a root field
  that names no node (``registerPetition``, ``reviews``, ``openReview(caseId:)``) runs at the
  caller's own node (their token's jurisdiction), where a handler's writes belong anyway;
- falls back to the subgraph's static URL for anything that names no node the registry knows.

Per-node timeouts: a batch waits as long as the most patient node in it allows.

``wrong_tier`` refuses, before planning, a root field that names a node of a tier whose
subgraph does not have the field (``takeFastTrack`` is a township's; a county has no fast
track): ``WRONG_TIER``, naming the field, the node and the tiers that have it. Without it the
node would answer a validation error about a schema the caller never saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import FragmentDefinitionNode, OperationDefinitionNode, value_from_ast_untyped

from gateway.fetch import RootField, RoutedBatch
from gateway.supergraph import Supergraph, SupergraphError
from shared.divisions import InvalidDivisionCode, Tier, tier_of
from shared.graphql.service_endpoint import root_fields
from shared.ownership import node_of_key, owner_of
from shared.registry import NodeRegistry

__all__ = ["WRONG_TIER", "KeyRouter", "wrong_tier"]

WRONG_TIER = "WRONG_TIER"
TIER_NAMES = {Tier.PROVINCE: "省级", Tier.CITY: "市级", Tier.COUNTY: "县级", Tier.TOWNSHIP: "乡级"}

NODE_ARGUMENTS = ("code", "id")
# Root fields answered by the province of the node their argument names, not by that node.
KEPT_BY_PROVINCE = {"escalationTrail": "caseId"}


@dataclass(frozen=True)
class KeyRouter:
    registry: NodeRegistry
    # Per subgraph: where anything that names no known node goes (the supergraph's URLs).
    fallback: Mapping[str, str]
    node_timeouts: Mapping[str, float] = field(default_factory=dict)

    def url_for(self, subgraph: str) -> str:
        return self.fallback[subgraph]

    def node_url(self, code: str) -> str | None:
        """Node ``code``'s own GraphQL URL (where a subscription streaming it goes), None
        when the registry knows no such node."""
        try:
            return self.registry.graphql_url(code)
        except (LookupError, ValueError):
            return None

    def route_root(
        self, subgraph: str, root_fields: Sequence[RootField], home: str | None = None
    ) -> RoutedBatch:
        nodes = {_node_named(f) or home for f in root_fields}
        if len(nodes) == 1:
            (code,) = nodes
            if code is not None:
                try:
                    url = self.registry.graphql_url(code)
                except LookupError:
                    url = None
                if url is not None:
                    return RoutedBatch(url, (), (code,), self.node_timeouts.get(code))
        return RoutedBatch(self.fallback[subgraph], ())

    def route_entities(
        self, subgraph: str, representations: Sequence[Mapping[str, Any]]
    ) -> Sequence[RoutedBatch]:
        positions: dict[str, list[int]] = {}
        labels: dict[str, set[str]] = {}
        for position, representation in enumerate(representations):
            code = owner_of(representation)
            url = self._service_url(code) if code is not None else None
            if url is None:
                url = self.fallback[subgraph]
            positions.setdefault(url, []).append(position)
            if code is not None:
                labels.setdefault(url, set()).add(code)
        return [
            RoutedBatch(
                url,
                tuple(batch),
                tuple(sorted(labels.get(url, ()))),
                self._timeout(labels.get(url, set())),
            )
            for url, batch in positions.items()
        ]

    def _service_url(self, code: str) -> str | None:
        try:
            return self.registry.service_url(code)
        except (LookupError, ValueError):
            return None

    def _timeout(self, codes: set[str]) -> float | None:
        found = [self.node_timeouts[c] for c in codes if c in self.node_timeouts]
        return max(found) if found else None


def _node_named(root_field: RootField) -> str | None:
    arguments = root_field.arguments
    kept = KEPT_BY_PROVINCE.get(root_field.name)
    if kept is not None:
        code = node_of_key(arguments.get(kept))
        return code[:2] if code is not None else None  # a province's code: the first two digits
    for name in NODE_ARGUMENTS:
        if name in arguments:
            return node_of_key(arguments[name])
    return None


def wrong_tier(
    supergraph: Supergraph,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    home: str | None = None,
) -> list[dict[str, Any]]:
    """``WRONG_TIER`` for each root field naming a node (or, naming none, run at the caller's
    ``home`` node) whose tier's subgraph lacks it (none unless the supergraph's subgraphs are
    the four tiers)."""
    tiers = {tier.value.lower(): tier for tier in Tier}
    if not set(tiers) <= set(supergraph.subgraphs):
        return []
    root = supergraph.api_schema.get_root_type(operation.operation)
    if root is None:
        return []
    errors: list[dict[str, Any]] = []
    for node in root_fields(operation.selection_set, fragments):
        name = node.name.value
        if name.startswith("__"):
            continue
        arguments = {
            a.name.value: value_from_ast_untyped(a.value, dict(variables))
            for a in node.arguments or ()
        }
        code = _node_named(RootField(name, arguments)) or home
        if code is None:
            continue
        try:
            tier = tier_of(code)
            resolvable = supergraph.field(root.name, name).resolvable_in
        except (InvalidDivisionCode, SupergraphError):
            continue
        if tier.value.lower() in resolvable:
            continue
        having = sorted((tiers[g] for g in resolvable if g in tiers), key=list(Tier).index)
        errors.append(
            {
                "message": f"{name} runs at {'/'.join(t.value.lower() for t in having)} nodes; "
                f"{code} is a {tier.value.lower()} node ({TIER_NAMES[tier]}).",
                "path": [node.alias.value if node.alias else name],
                "extensions": {
                    "code": WRONG_TIER,
                    "field": name,
                    "jurisdiction": code,
                    "tiers": [t.value for t in having],
                },
            }
        )
    return errors

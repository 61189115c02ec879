"""Key-routed shards: each request goes to the node that owns its key (the Router seam).

Every key starts with its owner's division code (``shared.ownership``), and the node registry
says which tier service hosts each node. ``KeyRouter``:

- groups an entity fetch's representations per *service URL* of their owners (the service
  endpoint ``/tiers/{tier}/graphql`` splits them per node again): one ``_entities`` call per
  service, all in parallel; a batch's labels are the jurisdiction codes in it, so a failure
  names every node that did not answer;
- sends a root fetch whose root fields name one node by argument (``code``/``id``) to that
  node's ``/nodes/{code}/graphql``; a root field the province keeps for every node of it
  (``escalationTrail(caseId)``: docs/adr/0014) names the province of its key;
- falls back to the subgraph's static URL for anything that names no node the registry knows.

Per-node timeouts: a batch waits as long as the most patient node in it allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.fetch import RootField, RoutedBatch
from shared.ownership import node_of_key, owner_of
from shared.registry import NodeRegistry

__all__ = ["KeyRouter"]

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

    def route_root(self, subgraph: str, root_fields: Sequence[RootField]) -> RoutedBatch:
        nodes = {_node_named(f) for f in root_fields}
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

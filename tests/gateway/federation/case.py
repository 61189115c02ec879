"""A case of the federation suite: a few subgraphs, and operations with their exact answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.gateway.federation.tablegraph import Subgraph

__all__ = ["LINK", "Case", "Op"]

# The header every case's subgraph SDL starts with (every directive a case may use).
LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ['
    '"@key", "@external", "@requires", "@provides", "@shareable", "@override", '
    '"@inaccessible", "@interfaceObject"])\n'
)


@dataclass(frozen=True)
class Op:
    name: str
    query: str
    expected: dict[str, Any]
    variables: dict[str, Any] | None = None
    # Where @apollo/gateway is known to answer otherwise than GraphQL specifies: why.
    apollo_differs: str | None = None
    # Requests each subgraph receives from our gateway (batching, choice among subgraphs).
    fetches: dict[str, int] | None = None


@dataclass(frozen=True)
class Case:
    name: str
    subgraphs: tuple[Subgraph, ...]
    operations: tuple[Op, ...] = field(default=())

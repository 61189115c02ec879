"""The node registry: which tier service serves which node (division code → base URL).

A JSON file: ``{"tiers": {"COUNTY": "http://county:8000"}, "nodes": {"530102": "http://..."}}``.
A node listed under ``nodes`` wins over its tier's default, so a county that runs its own
service is one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from shared.divisions import Tier, tier_of


@dataclass(frozen=True)
class NodeRegistry:
    tiers: dict[Tier, str] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)

    def base_url(self, code: str) -> str:
        url = self.nodes.get(code) or self.tiers.get(tier_of(code))
        if url is None:
            raise LookupError(f"the registry knows no service for node {code}")
        return url.rstrip("/")

    def messages_url(self, code: str) -> str:
        return f"{self.base_url(code)}/nodes/{code}/messages"

    def graphql_url(self, code: str) -> str:
        return f"{self.base_url(code)}/nodes/{code}/graphql"

    def service_url(self, code: str) -> str:
        """The service endpoint of the tier service hosting ``code`` (entities by owner)."""
        return f"{self.base_url(code)}/tiers/{tier_of(code).value.lower()}/graphql"

    @classmethod
    def from_json(cls, text: str) -> NodeRegistry:
        data = json.loads(text)
        return cls(
            tiers={Tier(k.upper()): str(v) for k, v in data.get("tiers", {}).items()},
            nodes={str(k): str(v) for k, v in data.get("nodes", {}).items()},
        )

    @classmethod
    def from_file(cls, path: Path) -> NodeRegistry:
        return cls.from_json(path.read_text(encoding="utf-8"))

    def to_json(self) -> str:
        return json.dumps(
            {
                "tiers": {t.value: url for t, url in self.tiers.items()},
                "nodes": self.nodes,
            },
            indent=2,
            ensure_ascii=False,
        )

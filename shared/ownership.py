"""Who owns a record: every key starts with its owner's division code.

``530102-2025-000123`` is a case of county 530102; a ``Jurisdiction``'s key is its code itself.
The gateway routes by this rule and the tier service splits ``_entities`` by it, so both ask
the same question the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["node_of_key", "owner_of"]

_CODE_LENGTHS = frozenset((2, 4, 6, 9))


def node_of_key(key: object) -> str | None:
    """The node code a key names (``code`` itself, or an id's part before the first ``-``)."""
    if not isinstance(key, str):
        return None
    code = key.strip().split("-", 1)[0]
    return code if len(code) in _CODE_LENGTHS and code.isdigit() else None


def owner_of(representation: Mapping[str, Any]) -> str | None:
    """The node owning an entity representation: its ``code`` key, else its ``id`` key."""
    if "code" in representation:
        return node_of_key(representation["code"])
    return node_of_key(representation.get("id"))

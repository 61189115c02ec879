"""What two answers must share to be the same GraphQL answer.

``data`` is compared as JSON text, so field order counts. Numbers are compared by value (a
JavaScript server prints the Float 3.0 as ``3``). Errors are compared by message, path and
``extensions.code``, as a sorted list: GraphQL does not specify their order, and the rest of
``extensions`` (``serviceName``, stack traces) is each gateway's own. Quotes in messages are
compared as one kind (graphql-js writes ``"secret"`` where graphql-core writes ``'secret'``).

Against @apollo/gateway only (``like_apollo=True``): a subgraph that fails in transport is one
path-less error there (``502: Bad Gateway``, with the subgraph's URL in ``extensions``) and one
``SUBGRAPH_UNAVAILABLE`` error per nulled field here (docs/adr, gateway decisions); both
become the single entry "a subgraph was unavailable" and ``data`` must still be the same.
"""

from __future__ import annotations

import json
from typing import Any


def _numbers_by_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_numbers_by_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers_by_value(v) for k, v in value.items()}
    return value


def _transport_failure(error: dict[str, Any]) -> bool:
    extensions = error.get("extensions") or {}
    return extensions.get("code") == "SUBGRAPH_UNAVAILABLE" or "response" in extensions


def comparable(body: dict[str, Any], *, like_apollo: bool = False) -> tuple[str, list[str]]:
    all_errors = body.get("errors") or ()
    unavailable = like_apollo and any(_transport_failure(e) for e in all_errors)
    if unavailable:
        all_errors = [e for e in all_errors if not _transport_failure(e)]
    errors = sorted(
        json.dumps(
            {
                "message": str(e.get("message")).replace('"', "'"),
                "path": e.get("path"),
                "code": (e.get("extensions") or {}).get("code"),
            },
            ensure_ascii=False,
        )
        for e in all_errors
    )
    if unavailable:
        errors.append("a subgraph was unavailable")
    return json.dumps(_numbers_by_value(body.get("data")), ensure_ascii=False), errors

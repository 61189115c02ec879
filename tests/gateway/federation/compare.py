"""What two answers must share to be the same GraphQL answer.

``data`` is compared as JSON text, so field order counts. Numbers are compared by value (a
JavaScript server prints the Float 3.0 as ``3``). Errors are compared by message, path and
``extensions.code``, as a sorted list: GraphQL does not specify their order, and the rest of
``extensions`` (``serviceName``, stack traces) is each gateway's own. Quotes in messages are
compared as one kind (graphql-js writes ``"secret"`` where graphql-core writes ``'secret'``).
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


def comparable(body: dict[str, Any]) -> tuple[str, list[str]]:
    errors = sorted(
        json.dumps(
            {
                "message": str(e.get("message")).replace('"', "'"),
                "path": e.get("path"),
                "code": (e.get("extensions") or {}).get("code"),
            },
            ensure_ascii=False,
        )
        for e in body.get("errors") or ()
    )
    return json.dumps(_numbers_by_value(body.get("data")), ensure_ascii=False), errors

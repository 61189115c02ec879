"""The correct answer to the benchmark query, computed without any gateway: the same schema as
one graphql-core monolith over the subgraphs' data (subgraphs/data.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from graphql import build_schema, graphql_sync

HERE = Path(__file__).resolve().parent
QUERY_FILE = HERE / "query.graphql"
DATA_FILE = HERE / "subgraphs" / "data.json"

MONOLITH = """
type Query { me: User  user(id: ID!): User  users: [User]  topProducts(first: Int = 5): [Product] }
type User { id: ID!  name: String  username: String  birthday: Int  reviews: [Review] }
type Product {
  upc: String!  name: String  price: Int  weight: Int
  inStock: Boolean  shippingEstimate: Int  reviews: [Review]
}
type Review { id: ID!  body: String  author: User  product: Product }
"""

Row = dict[str, Any]


def query() -> str:
    return QUERY_FILE.read_text(encoding="utf-8")


def request_body() -> bytes:
    """The POST body every gateway receives."""
    return json.dumps({"query": query(), "operationName": "TestQuery"}).encode()


@cache
def expected_json() -> str:
    """The expected response, as canonical JSON text (key order is the query's)."""
    return json.dumps(_execute(), ensure_ascii=False)


def _execute() -> dict[str, Any]:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    users = {u["id"]: u for u in data["users"]}
    products = {p["upc"]: p for p in data["products"]}
    reviews: list[Row] = data["reviews"]
    schema = build_schema(MONOLITH)

    def resolvers(type_name: str, **fields: Any) -> None:
        for name, resolve in fields.items():
            schema.get_type(type_name).fields[name].resolve = resolve  # type: ignore[union-attr]

    resolvers(
        "Query",
        me=lambda *_: users["1"],
        user=lambda _, __, id: users.get(id),
        users=lambda *_: data["users"],
        topProducts=lambda _, __, first: data["products"][:first],
    )
    resolvers("User", reviews=lambda u, _: [r for r in reviews if r["authorId"] == u["id"]])
    resolvers(
        "Product",
        reviews=lambda p, _: [r for r in reviews if r["upc"] == p["upc"]],
        shippingEstimate=lambda p, _: 0 if p["price"] > 1000 else p["weight"] // 2,
    )
    resolvers(
        "Review",
        author=lambda r, _: users[r["authorId"]],
        product=lambda r, _: products[r["upc"]],
    )
    result = graphql_sync(schema, query(), operation_name="TestQuery")
    if result.errors:
        raise RuntimeError(f"the monolith cannot answer the benchmark query: {result.errors}")
    return {"data": result.data}


def wrong_answer(body: bytes) -> str | None:
    """Why ``body`` is not the expected response (None when it is exactly that)."""
    try:
        got = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}"
    text = json.dumps(got, ensure_ascii=False)
    if text == expected_json():
        return None
    if isinstance(got, dict) and got.get("errors"):
        return f"errors: {json.dumps(got['errors'], ensure_ascii=False)[:300]}"
    want = expected_json()
    at = next((i for i, (a, b) in enumerate(zip(text, want, strict=False)) if a != b), None)
    at = min(len(text), len(want)) if at is None else at
    return f"differs at character {at}: got …{text[max(0, at - 60) : at + 60]}…"

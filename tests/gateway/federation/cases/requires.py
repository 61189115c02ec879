"""@external and @requires: plain, nested, on a field with arguments, requires on requires."""

from __future__ import annotations

from typing import Any

from tests.gateway.federation.case import LINK, Case, Op
from tests.gateway.federation.tablegraph import Ctx, Subgraph


def _estimate(obj: dict[str, Any], args: dict[str, Any], ctx: Ctx) -> int:
    factor = 2 if args.get("express") else 1
    return int(obj["weight"] * factor + obj["price"] // 100)


REQUIRES = Case(
    "requires: required fields travel in the representation",
    (
        Subgraph(
            "products",
            LINK
            + """
            type Size @shareable { weight: Int! depth: Int! }
            type Product @key(fields: "upc") {
              upc: ID! name: String price: Int weight: Int size: Size
            }
            type Query { products: [Product!]! }
            """,
            {
                "Query": {"products": [{"upc": "1"}, {"upc": "2"}]},
                "Product": [
                    {
                        "upc": "1",
                        "name": "Table",
                        "price": 899,
                        "weight": 100,
                        "size": {"weight": 100, "depth": 80},
                    },
                    {
                        "upc": "2",
                        "name": "Lamp",
                        "price": 50,
                        "weight": 2,
                        "size": {"weight": 2, "depth": 20},
                    },
                ],
            },
        ),
        Subgraph(
            "shipping",
            LINK
            + """
            type Size @shareable { weight: Int! depth: Int! }
            type Product @key(fields: "upc") {
              upc: ID!
              price: Int @external
              weight: Int @external
              size: Size @external
              estimate(express: Boolean = false): Int @requires(fields: "price weight")
              boxDepth: Int @requires(fields: "size { depth }")
            }
            """,
            resolvers={
                "Product.estimate": _estimate,
                "Product.boxDepth": lambda obj, args, ctx: obj["size"]["depth"] + 10,
            },
        ),
    ),
    (
        Op(
            "a requires field with arguments",
            "{ products { name estimate fast: estimate(express: true) } }",
            {
                "data": {
                    "products": [
                        {"name": "Table", "estimate": 108, "fast": 208},
                        {"name": "Lamp", "estimate": 2, "fast": 4},
                    ]
                }
            },
        ),
        Op(
            "a nested required field",
            "{ products { boxDepth } }",
            {"data": {"products": [{"boxDepth": 90}, {"boxDepth": 30}]}},
        ),
        Op(
            "a skipped requires field does not drop another one's fetch",
            "{ products { estimate @skip(if: true) boxDepth } }",
            {"data": {"products": [{"boxDepth": 90}, {"boxDepth": 30}]}},
            apollo_differs="@apollo/gateway answers null for boxDepth: skipping one field "
            "with @requires also drops the other's entity fetch",
        ),
        Op(
            "with a variable",
            "query($x: Boolean) { products { estimate(express: $x) } }",
            {"data": {"products": [{"estimate": 208}, {"estimate": 4}]}},
            {"x": True},
        ),
    ),
)

REQUIRES_ON_REQUIRES = Case(
    "requires on requires: a required field that itself requires",
    (
        Subgraph(
            "orders",
            LINK
            + """
            type Order @key(fields: "id") { id: ID! items: Int }
            type Query { orders: [Order!]! }
            """,
            {
                "Query": {"orders": [{"id": "o1"}, {"id": "o2"}]},
                "Order": [{"id": "o1", "items": 3}, {"id": "o2", "items": 1}],
            },
        ),
        Subgraph(
            "pricing",
            LINK
            + """
            type Order @key(fields: "id") {
              id: ID! items: Int @external total: Int @requires(fields: "items")
            }
            """,
            resolvers={"Order.total": lambda obj, args, ctx: obj["items"] * 10},
        ),
        Subgraph(
            "tax",
            LINK
            + """
            type Order @key(fields: "id") {
              id: ID! total: Int @external tax: Int @requires(fields: "total")
            }
            """,
            resolvers={"Order.tax": lambda obj, args, ctx: obj["total"] // 10},
        ),
    ),
    (
        Op(
            "three hops in order",
            "{ orders { id tax } }",
            {"data": {"orders": [{"id": "o1", "tax": 3}, {"id": "o2", "tax": 1}]}},
        ),
        Op(
            "the middle field asked too",
            "{ orders { tax total items } }",
            {
                "data": {
                    "orders": [
                        {"tax": 3, "total": 30, "items": 3},
                        {"tax": 1, "total": 10, "items": 1},
                    ]
                }
            },
        ),
    ),
)

REQUIRES_WITH_ARGUMENTS = Case(
    "requires a field with arguments",
    (
        Subgraph(
            "prices",
            LINK
            + """
            type Product @key(fields: "upc") { upc: ID! price(unit: String = "CNY"): Int }
            type Query { products: [Product!]! }
            """,
            {
                "Query": {"products": [{"upc": "1"}, {"upc": "2"}]},
                "Product": [{"upc": "1"}, {"upc": "2"}],
            },
            resolvers={
                "Product.price": lambda obj, args, ctx: (
                    int(obj["upc"]) * (700 if args["unit"] == "CNY" else 100)
                ),
            },
        ),
        Subgraph(
            "export",
            LINK
            + """
            type Product @key(fields: "upc") {
              upc: ID!
              price(unit: String = "CNY"): Int @external
              dutyUsd: Int @requires(fields: "price(unit: \\"USD\\")")
            }
            """,
            resolvers={"Product.dutyUsd": lambda obj, args, ctx: obj["price"] // 10},
        ),
    ),
    (
        Op(
            "the required arguments are sent",
            "{ products { dutyUsd } }",
            {"data": {"products": [{"dutyUsd": 10}, {"dutyUsd": 20}]}},
        ),
        Op(
            "the required arguments, beside the client's own",
            '{ products { price dutyUsd usd: price(unit: "USD") } }',
            {
                "data": {
                    "products": [
                        {"price": 700, "dutyUsd": 10, "usd": 100},
                        {"price": 1400, "dutyUsd": 20, "usd": 200},
                    ]
                }
            },
            apollo_differs="@apollo/gateway merges the required price(unit: USD) into the "
            "client's price (CNY) and sends that in the representation",
        ),
    ),
)

CASES = [REQUIRES, REQUIRES_ON_REQUIRES, REQUIRES_WITH_ARGUMENTS]

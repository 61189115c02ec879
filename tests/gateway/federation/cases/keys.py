"""@key: several keys, composite and nested keys, resolvable: false."""

from __future__ import annotations

from tests.gateway.federation.case import LINK, Case, Op
from tests.gateway.federation.tablegraph import Subgraph

SEVERAL_KEYS = Case(
    "several keys: each subgraph reached by the key it knows",
    (
        Subgraph(
            "catalog",
            LINK
            + """
            type Product @key(fields: "upc") @key(fields: "sku") {
              upc: ID! sku: String! name: String
            }
            type Query { products: [Product!]! }
            """,
            {
                "Query": {"products": [{"upc": "1"}, {"upc": "2"}]},
                "Product": [
                    {"upc": "1", "sku": "T-1", "name": "Table"},
                    {"upc": "2", "sku": "C-2", "name": "Couch"},
                ],
            },
        ),
        Subgraph(
            "stock",
            LINK
            + """
            type Product @key(fields: "sku") { sku: String! inStock: Boolean }
            """,
            {"Product": [{"sku": "T-1", "inStock": True}, {"sku": "C-2", "inStock": False}]},
        ),
        Subgraph(
            "ratings",
            LINK
            + """
            type Product @key(fields: "upc") { upc: ID! stars: Int }
            type Query { best: Product }
            """,
            {
                "Query": {"best": {"upc": "2"}},
                "Product": [{"upc": "1", "stars": 3}, {"upc": "2", "stars": 5}],
            },
        ),
    ),
    (
        Op(
            "two keys from one root",
            "{ products { name inStock stars } }",
            {
                "data": {
                    "products": [
                        {"name": "Table", "inStock": True, "stars": 3},
                        {"name": "Couch", "inStock": False, "stars": 5},
                    ]
                }
            },
        ),
        Op(
            "a key the root subgraph lacks is fetched first",
            "{ best { stars inStock name } }",
            {"data": {"best": {"stars": 5, "inStock": False, "name": "Couch"}}},
        ),
    ),
)


COMPOSITE_NESTED_KEYS = Case(
    "composite and nested keys",
    (
        Subgraph(
            "shops",
            LINK
            + """
            type Market @shareable { code: String! }
            type Seller @key(fields: "market { code } number") {
              market: Market! number: Int! name: String
            }
            type Branch @key(fields: "city id") { city: String! id: Int! address: String }
            type Query { sellers: [Seller!]! branches: [Branch!]! }
            """,
            {
                "Query": {
                    "sellers": [
                        {"market": {"code": "KM"}, "number": 1},
                        {"market": {"code": "DL"}, "number": 1},
                    ],
                    "branches": [{"city": "KM", "id": 7}, {"city": "DL", "id": 7}],
                },
                "Seller": [
                    {"market": {"code": "KM"}, "number": 1, "name": "Dianchi Tea"},
                    {"market": {"code": "DL"}, "number": 1, "name": "Erhai Fish"},
                ],
                "Branch": [
                    {"city": "KM", "id": 7, "address": "1 Beijing Rd"},
                    {"city": "DL", "id": 7, "address": "9 Renmin Rd"},
                ],
            },
        ),
        Subgraph(
            "scores",
            LINK
            + """
            type Market @shareable { code: String! }
            type Seller @key(fields: "market { code } number") {
              market: Market! number: Int! rating: Float
            }
            type Branch @key(fields: "city id") { city: String! id: Int! staff: Int }
            """,
            {
                "Seller": [
                    {"market": {"code": "KM"}, "number": 1, "rating": 4.5},
                    {"market": {"code": "DL"}, "number": 1, "rating": 3.0},
                ],
                "Branch": [
                    {"city": "KM", "id": 7, "staff": 12},
                    {"city": "DL", "id": 7, "staff": 3},
                ],
            },
        ),
    ),
    (
        Op(
            "nested key",
            "{ sellers { name rating market { code } } }",
            {
                "data": {
                    "sellers": [
                        {"name": "Dianchi Tea", "rating": 4.5, "market": {"code": "KM"}},
                        {"name": "Erhai Fish", "rating": 3.0, "market": {"code": "DL"}},
                    ]
                }
            },
        ),
        Op(
            "composite key: both fields tell the entities apart",
            "{ branches { address staff } }",
            {
                "data": {
                    "branches": [
                        {"address": "1 Beijing Rd", "staff": 12},
                        {"address": "9 Renmin Rd", "staff": 3},
                    ]
                }
            },
        ),
    ),
)

UNRESOLVABLE_KEYS = Case(
    "resolvable: false: a stub is never asked for entities",
    (
        Subgraph(
            "people",
            LINK
            + """
            type User @key(fields: "id") { id: ID! name: String }
            type Query { people: [User!]! }
            """,
            {
                "Query": {"people": [{"id": "1"}]},
                "User": [{"id": "1", "name": "Ada"}, {"id": "2", "name": "Grace"}],
            },
        ),
        Subgraph(
            "posts",
            LINK
            + """
            type User @key(fields: "id", resolvable: false) { id: ID! }
            type Post @key(fields: "id") { id: ID! title: String author: User }
            type Query { posts: [Post!]! }
            """,
            {
                "Query": {"posts": [{"id": "p1"}, {"id": "p2"}]},
                "Post": [
                    {"id": "p1", "title": "Engines", "author": {"id": "1"}},
                    {"id": "p2", "title": "Compilers", "author": {"id": "2"}},
                ],
            },
        ),
    ),
    (
        Op(
            "the stub's key leads to the owner",
            "{ posts { title author { id name } } }",
            {
                "data": {
                    "posts": [
                        {"title": "Engines", "author": {"id": "1", "name": "Ada"}},
                        {"title": "Compilers", "author": {"id": "2", "name": "Grace"}},
                    ]
                }
            },
        ),
        Op(
            "no path from the owner to the stub's fields is needed",
            "{ people { id name } }",
            {"data": {"people": [{"id": "1", "name": "Ada"}]}},
        ),
    ),
)

CASES = [SEVERAL_KEYS, COMPOSITE_NESTED_KEYS, UNRESOLVABLE_KEYS]

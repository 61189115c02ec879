"""Interfaces and unions across subgraphs, entity interfaces and @interfaceObject."""

from __future__ import annotations

from tests.gateway.federation.case import LINK, Case, Op
from tests.gateway.federation.tablegraph import Subgraph

_PEOPLE = Subgraph(
    "people",
    LINK
    + """
    type User @key(fields: "id") { id: ID! name: String }
    """,
    {"User": [{"id": "u1", "name": "Ada"}]},
)
_GOODS = Subgraph(
    "goods",
    LINK
    + """
    type Product @key(fields: "upc") { upc: ID! title: String price: Int }
    """,
    {"Product": [{"upc": "p1", "title": "Lamp", "price": 20}]},
)

UNION_ACROSS = Case(
    "a union whose members live in other subgraphs",
    (
        _PEOPLE,
        _GOODS,
        Subgraph(
            "search",
            LINK
            + """
            type User @key(fields: "id", resolvable: false) { id: ID! }
            type Product @key(fields: "upc", resolvable: false) { upc: ID! }
            union Hit = User | Product
            type Query { search: [Hit!]! }
            """,
            {
                "Query": {
                    "search": [
                        {"__typename": "Product", "upc": "p1"},
                        {"__typename": "User", "id": "u1"},
                    ]
                }
            },
        ),
    ),
    (
        Op(
            "each member from its owner",
            "{ search { __typename ... on User { name } ... on Product { title price } } }",
            {
                "data": {
                    "search": [
                        {"__typename": "Product", "title": "Lamp", "price": 20},
                        {"__typename": "User", "name": "Ada"},
                    ]
                }
            },
        ),
        Op(
            "a fragment on one member only",
            "{ search { ... on User { id name } } }",
            {"data": {"search": [{}, {"id": "u1", "name": "Ada"}]}},
        ),
    ),
)

INTERFACE_ACROSS = Case(
    "an interface whose implementations are resolved by other subgraphs",
    (
        _PEOPLE,
        _GOODS,
        Subgraph(
            "feed",
            LINK
            + """
            interface Node { id: ID! }
            type User implements Node @key(fields: "id") { id: ID! }
            type Product implements Node @key(fields: "upc") { id: ID! upc: ID! }
            type Query { feed: [Node!]! node(id: ID!): Node }
            """,
            {
                "Query": {
                    "feed": [
                        {"__typename": "User", "id": "u1"},
                        {"__typename": "Product", "id": "n-p1", "upc": "p1"},
                    ]
                },
            },
            resolvers={"Query.node": lambda obj, args, ctx: None},
        ),
    ),
    (
        Op(
            "interface fields and member fields",
            "{ feed { id __typename ... on User { name } ... on Product { title } } }",
            {
                "data": {
                    "feed": [
                        {"id": "u1", "__typename": "User", "name": "Ada"},
                        {"id": "n-p1", "__typename": "Product", "title": "Lamp"},
                    ]
                }
            },
        ),
        Op(
            "a null abstract root field",
            '{ node(id: "x") { id ... on User { name } } }',
            {"data": {"node": None}},
        ),
    ),
)

ENTITY_INTERFACE = Case(
    "entity interface and @interfaceObject",
    (
        Subgraph(
            "media",
            LINK
            + """
            interface Media @key(fields: "id") { id: ID! title: String }
            type Book implements Media @key(fields: "id") { id: ID! title: String author: String }
            type Film implements Media @key(fields: "id") { id: ID! title: String director: String }
            type Query { media: [Media!]! }
            """,
            {
                "Query": {
                    "media": [
                        {"__typename": "Book", "id": "b1"},
                        {"__typename": "Film", "id": "f1"},
                    ]
                },
                "Book": [{"id": "b1", "title": "Dream", "author": "Cao Xueqin"}],
                "Film": [{"id": "f1", "title": "Hero", "director": "Zhang Yimou"}],
            },
        ),
        Subgraph(
            "ratings",
            LINK
            + """
            type Media @key(fields: "id") @interfaceObject { id: ID! stars: Int }
            type Query { topRated: [Media!]! }
            """,
            {
                "Query": {"topRated": [{"id": "f1"}, {"id": "b1"}]},
                "Media": [{"id": "b1", "stars": 4}, {"id": "f1", "stars": 5}],
            },
        ),
    ),
    (
        Op(
            "interface object fields on every implementation",
            "{ media { title stars ... on Book { author } } }",
            {
                "data": {
                    "media": [
                        {"title": "Dream", "stars": 4, "author": "Cao Xueqin"},
                        {"title": "Hero", "stars": 5},
                    ]
                }
            },
        ),
        Op(
            "from the interface object, the concrete type and its fields",
            "{ topRated { __typename id stars title ... on Film { director } } }",
            {
                "data": {
                    "topRated": [
                        {
                            "__typename": "Film",
                            "id": "f1",
                            "stars": 5,
                            "title": "Hero",
                            "director": "Zhang Yimou",
                        },
                        {"__typename": "Book", "id": "b1", "stars": 4, "title": "Dream"},
                    ]
                }
            },
        ),
        Op(
            "only interface-object fields: no type needed unless asked",
            "{ topRated { id stars } }",
            {"data": {"topRated": [{"id": "f1", "stars": 5}, {"id": "b1", "stars": 4}]}},
        ),
    ),
)

CASES = [UNION_ACROSS, INTERFACE_ACROSS, ENTITY_INTERFACE]

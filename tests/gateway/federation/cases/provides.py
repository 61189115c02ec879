"""@provides: on an object field, and on interface and union fields (type-conditioned)."""

from __future__ import annotations

from tests.gateway.federation.case import LINK, Case, Op
from tests.gateway.federation.tablegraph import Subgraph

_USERS = Subgraph(
    "users",
    LINK
    + """
    type User @key(fields: "id") { id: ID! name: String @shareable email: String }
    """,
    {
        "User": [
            {"id": "1", "name": "Ada (users)", "email": "ada@example.org"},
            {"id": "2", "name": "Grace (users)", "email": "grace@example.org"},
        ]
    },
)

PROVIDES = Case(
    "provides on an object field: the provided field costs no hop",
    (
        _USERS,
        Subgraph(
            "reviews",
            LINK
            + """
            type User @key(fields: "id") { id: ID! name: String @external }
            type Review @key(fields: "id") {
              id: ID! body: String author: User @provides(fields: "name")
            }
            type Query { reviews: [Review!]! }
            """,
            {
                "Query": {"reviews": [{"id": "r1"}, {"id": "r2"}]},
                "Review": [
                    {"id": "r1", "body": "Fine", "author": {"id": "1", "name": "Ada (reviews)"}},
                    {"id": "r2", "body": "Good", "author": {"id": "2", "name": "Grace (reviews)"}},
                ],
            },
        ),
    ),
    (
        Op(
            "provided field from the providing subgraph",
            "{ reviews { body author { name } } }",
            {
                "data": {
                    "reviews": [
                        {"body": "Fine", "author": {"name": "Ada (reviews)"}},
                        {"body": "Good", "author": {"name": "Grace (reviews)"}},
                    ]
                }
            },
            fetches={"reviews": 1, "users": 0},
        ),
        Op(
            "a field not provided goes to the owner",
            "{ reviews { author { name email } } }",
            {
                "data": {
                    "reviews": [
                        {"author": {"name": "Ada (reviews)", "email": "ada@example.org"}},
                        {"author": {"name": "Grace (reviews)", "email": "grace@example.org"}},
                    ]
                }
            },
        ),
    ),
)

_MEDIA_SDL = """
type Book @key(fields: "id") { id: ID! title: String @shareable pages: Int }
type Film @key(fields: "id") { id: ID! title: String @shareable minutes: Int }
"""

PROVIDES_ABSTRACT = Case(
    "provides on interface and union fields",
    (
        Subgraph(
            "library",
            LINK + _MEDIA_SDL,
            {
                "Book": [{"id": "b1", "title": "Dream (library)", "pages": 300}],
                "Film": [{"id": "f1", "title": "Hero (library)", "minutes": 99}],
            },
        ),
        Subgraph(
            "shelf",
            LINK
            + """
            interface Item { id: ID! }
            type Book implements Item @key(fields: "id") { id: ID! title: String @external }
            type Film implements Item @key(fields: "id") { id: ID! title: String @external }
            union Pick = Book | Film
            type Query {
              items: [Item!]! @provides(fields: "... on Book { title }")
              picks: [Pick!]! @provides(fields: "... on Film { title }")
            }
            """,
            {
                "Query": {
                    "items": [
                        {"__typename": "Book", "id": "b1", "title": "Dream (shelf)"},
                        {"__typename": "Film", "id": "f1", "title": "Hero (shelf)"},
                    ],
                    "picks": [
                        {"__typename": "Book", "id": "b1", "title": "Dream (shelf)"},
                        {"__typename": "Film", "id": "f1", "title": "Hero (shelf)"},
                    ],
                }
            },
        ),
    ),
    (
        Op(
            "interface: provided for one member, fetched for the other",
            "{ items { id ... on Book { title } ... on Film { title minutes } } }",
            {
                "data": {
                    "items": [
                        {"id": "b1", "title": "Dream (shelf)"},
                        {"id": "f1", "title": "Hero (library)", "minutes": 99},
                    ]
                }
            },
        ),
        Op(
            "union: provided for one member, fetched for the other",
            "{ picks { ... on Book { title pages } ... on Film { title } } }",
            {
                "data": {
                    "picks": [
                        {"title": "Dream (library)", "pages": 300},
                        {"title": "Hero (shelf)"},
                    ]
                }
            },
        ),
    ),
)

CASES = [PROVIDES, PROVIDES_ABSTRACT]

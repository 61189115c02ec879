"""@shareable (choosing among subgraphs), shared root fields, @override, @inaccessible."""

from __future__ import annotations

from tests.gateway.federation.case import LINK, Case, Op
from tests.gateway.federation.tablegraph import Subgraph

SHAREABLE = Case(
    "shareable: the subgraph already fetching answers the shared field",
    (
        Subgraph(
            "catalog",
            LINK
            + """
            type Product @key(fields: "id") { id: ID! name: String @shareable price: Int }
            type Query { catalog: [Product!]! }
            """,
            {
                "Query": {"catalog": [{"id": "1"}]},
                "Product": [{"id": "1", "name": "Table (catalog)", "price": 10}],
            },
        ),
        Subgraph(
            "deals",
            LINK
            + """
            type Product @key(fields: "id") { id: ID! name: String @shareable discount: Int }
            type Query { deals: [Product!]! }
            """,
            {
                "Query": {"deals": [{"id": "1"}]},
                "Product": [{"id": "1", "name": "Table (deals)", "discount": 3}],
            },
        ),
    ),
    (
        Op(
            "from each root, the local copy",
            "{ catalog { name discount } deals { name price } }",
            {
                "data": {
                    "catalog": [{"name": "Table (catalog)", "discount": 3}],
                    "deals": [{"name": "Table (deals)", "price": 10}],
                }
            },
            fetches={"catalog": 2, "deals": 2},  # one root fetch and one entity fetch each
        ),
    ),
)

SHARED_ROOT = Case(
    "shared root fields: one subgraph is chosen, the one that needs no hop",
    (
        Subgraph(
            "a",
            LINK
            + """
            type Thing @key(fields: "id") { id: ID! label: String }
            type Query { thing(id: ID!): Thing @shareable version: String @shareable }
            """,
            {
                "Query": {"version": "1 (a)"},
                "Thing": [{"id": "t", "label": "from a"}],
            },
            resolvers={"Query.thing": lambda obj, args, ctx: ctx.row("Thing", id=args["id"])},
        ),
        Subgraph(
            "b",
            LINK
            + """
            type Thing @key(fields: "id") { id: ID! size: Int }
            type Query { thing(id: ID!): Thing @shareable version: String @shareable }
            """,
            {"Query": {"version": "1 (b)"}, "Thing": [{"id": "t", "size": 4}]},
            resolvers={"Query.thing": lambda obj, args, ctx: ctx.row("Thing", id=args["id"])},
        ),
    ),
    (
        Op(
            "the field only b has decides",
            '{ thing(id: "t") { size } }',
            {"data": {"thing": {"size": 4}}},
            fetches={"a": 0, "b": 1},
        ),
        Op(
            "both sides' fields",
            '{ thing(id: "t") { id label size } }',
            {"data": {"thing": {"id": "t", "label": "from a", "size": 4}}},
        ),
    ),
)

OVERRIDE = Case(
    "override: the overriding subgraph answers",
    (
        Subgraph(
            "old",
            LINK
            + """
            type Account @key(fields: "id") { id: ID! balance: Int status: String tier: String }
            type Query { accounts: [Account!]! }
            """,
            {
                "Query": {"accounts": [{"id": "1"}]},
                "Account": [{"id": "1", "balance": -1, "status": "stale", "tier": "none"}],
            },
        ),
        Subgraph(
            "new",
            LINK
            + """
            type Account @key(fields: "id") {
              id: ID!
              balance: Int @override(from: "old")
              status: String @override(from: "old", label: "percent(0)")
              tier: String @override(from: "old", label: "new-tier")
            }
            type Query { newAccounts: [Account!]! }
            """,
            {
                "Query": {"newAccounts": [{"id": "1"}]},
                "Account": [{"id": "1", "balance": 42, "status": "fresh", "tier": "gold"}],
            },
        ),
    ),
    (
        Op(
            "override without a label moves the field",
            "{ accounts { balance } }",
            {"data": {"accounts": [{"balance": 42}]}},
        ),
        Op(
            "a progressive override whose label is off stays with the old subgraph",
            "{ accounts { status } }",
            {"data": {"accounts": [{"status": "stale"}]}},
        ),
        Op(
            "... even when asked from the overriding subgraph",
            "{ newAccounts { balance status tier } }",
            {"data": {"newAccounts": [{"balance": 42, "status": "stale", "tier": "none"}]}},
        ),
    ),
)

INACCESSIBLE = Case(
    "inaccessible: hidden from clients, usable as a key",
    (
        Subgraph(
            "core",
            LINK
            + """
            type Case @key(fields: "internalId") {
              internalId: ID! @inaccessible
              title: String
              secret: String @inaccessible
            }
            type Audit @inaccessible { note: String }
            type Query { cases: [Case!]! }
            """,
            {
                "Query": {"cases": [{"internalId": "x1"}]},
                "Case": [{"internalId": "x1", "title": "Road repair", "secret": "s"}],
            },
        ),
        Subgraph(
            "notes",
            LINK
            + """
            type Case @key(fields: "internalId") {
              internalId: ID! @inaccessible
              noteCount: Int
            }
            """,
            {"Case": [{"internalId": "x1", "noteCount": 2}]},
        ),
    ),
    (
        Op(
            "the hidden key still joins the subgraphs",
            "{ cases { title noteCount } }",
            {"data": {"cases": [{"title": "Road repair", "noteCount": 2}]}},
        ),
        Op(
            "asking for a hidden field is a validation error",
            "{ cases { secret } }",
            {
                "errors": [
                    {
                        "message": "Cannot query field 'secret' on type 'Case'.",
                        "locations": [{"line": 1, "column": 11}],
                        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
                    }
                ]
            },
        ),
    ),
)

CASES = [SHAREABLE, SHARED_ROOT, OVERRIDE, INACCESSIBLE]

"""Operation features across subgraphs: __typename, fragments, @skip/@include, variables,
aliases, and mutations executed in order."""

from __future__ import annotations

from typing import Any

from tests.gateway.federation.case import LINK, Case, Op
from tests.gateway.federation.tablegraph import Ctx, Subgraph

_ANIMALS = (
    Subgraph(
        "zoo",
        LINK
        + """
        interface Animal { name: String! }
        type Cat implements Animal @key(fields: "id") { id: ID! name: String! lives: Int }
        type Dog implements Animal @key(fields: "id") { id: ID! name: String! }
        type Keeper @key(fields: "id") { id: ID! name: String animals: [Animal!]! }
        type Query { keeper: Keeper animals: [Animal!]! }
        """,
        {
            "Query": {
                "keeper": {"id": "k1"},
                "animals": [{"__typename": "Cat", "id": "c1"}, {"__typename": "Dog", "id": "d1"}],
            },
            "Keeper": [{"id": "k1", "name": "Li", "animals": [{"__typename": "Dog", "id": "d1"}]}],
            "Cat": [{"id": "c1", "name": "Mimi", "lives": 9}],
            "Dog": [{"id": "d1", "name": "Wangcai"}],
        },
    ),
    Subgraph(
        "vet",
        LINK
        + """
        type Cat @key(fields: "id") { id: ID! checkup: String }
        type Dog @key(fields: "id") { id: ID! checkup: String barks: Boolean }
        type Keeper @key(fields: "id") { id: ID! licence: String }
        """,
        {
            "Cat": [{"id": "c1", "checkup": "2026-01"}],
            "Dog": [{"id": "d1", "checkup": "2026-02", "barks": True}],
            "Keeper": [{"id": "k1", "licence": "L-7"}],
        },
    ),
)

TYPENAME = Case(
    "__typename everywhere",
    _ANIMALS,
    (
        Op(
            "at the root, on objects, on interfaces, aliased, in entity fetches",
            "{ __typename keeper { __typename licence t: __typename animals { __typename } } "
            "animals { __typename ... on Dog { __typename barks } } }",
            {
                "data": {
                    "__typename": "Query",
                    "keeper": {
                        "__typename": "Keeper",
                        "licence": "L-7",
                        "t": "Keeper",
                        "animals": [{"__typename": "Dog"}],
                    },
                    "animals": [
                        {"__typename": "Cat"},
                        {"__typename": "Dog", "barks": True},
                    ],
                }
            },
        ),
    ),
)

FRAGMENTS = Case(
    "fragments: inline and named, nested, on abstract types",
    _ANIMALS,
    (
        Op(
            "named fragments nested in inline ones, on an interface",
            """
            query { animals { ...AnimalBits } keeper { ...KeeperBits } }
            fragment AnimalBits on Animal {
              name
              ... on Cat { ...CatBits }
              ... on Dog { checkup ... on Animal { n2: name } }
            }
            fragment CatBits on Cat { lives checkup }
            fragment KeeperBits on Keeper { licence animals { ...AnimalBits } }
            """,
            {
                "data": {
                    "animals": [
                        {"name": "Mimi", "lives": 9, "checkup": "2026-01"},
                        {"name": "Wangcai", "checkup": "2026-02", "n2": "Wangcai"},
                    ],
                    "keeper": {
                        "licence": "L-7",
                        "animals": [{"name": "Wangcai", "checkup": "2026-02", "n2": "Wangcai"}],
                    },
                }
            },
        ),
        Op(
            "the same field from two fragments is merged",
            "{ animals { ... on Dog { checkup } ... on Dog { barks checkup } name } }",
            {
                "data": {
                    "animals": [
                        {"name": "Mimi"},
                        {"checkup": "2026-02", "barks": True, "name": "Wangcai"},
                    ]
                }
            },
        ),
    ),
)

CONDITIONS = Case(
    "@skip/@include, variables and aliases across subgraphs",
    _ANIMALS,
    (
        Op(
            "conditions true",
            "query($yes: Boolean!, $no: Boolean = false) { keeper { "
            "name licence @include(if: $yes) who: name @skip(if: $no) "
            "... @include(if: $yes) { animals { ... on Dog { barks } } } } }",
            {
                "data": {
                    "keeper": {
                        "name": "Li",
                        "licence": "L-7",
                        "who": "Li",
                        "animals": [{"barks": True}],
                    }
                }
            },
            {"yes": True},
        ),
        Op(
            "conditions false",
            "query($yes: Boolean!, $no: Boolean = false) { keeper { "
            "name licence @include(if: $yes) who: name @skip(if: $no) "
            "... @include(if: $yes) { animals { ... on Dog { barks } } } } }",
            {"data": {"keeper": {"name": "Li"}}},
            {"yes": False, "no": True},
        ),
        Op(
            "aliases of the same field with different sub-selections",
            "{ a: animals { name } b: animals { ... on Cat { c: checkup } } }",
            {
                "data": {
                    "a": [{"name": "Mimi"}, {"name": "Wangcai"}],
                    "b": [{"c": "2026-01"}, {}],
                }
            },
        ),
        Op(
            "an alias that takes a key field's name",
            "{ keeper { id: name licence } }",
            {"data": {"keeper": {"id": "Li", "licence": "L-7"}}},
            apollo_differs="@apollo/gateway answers the key field's value (k1) for an alias "
            "that takes the key's name, not the aliased field",
        ),
    ),
)


def _append(kind: str) -> Any:
    def resolve(obj: Any, args: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        counter = ctx.tables.setdefault("Query", {})
        counter["count"] = counter.get("count", 0) + 1
        entry = {"id": f"e{counter['count']}", "text": f"{kind}:{args['text']}"}
        ctx.rows("Entry").append(entry)
        ctx.log.append(entry["id"])
        return {"__typename": "Entry", **entry, "seen": len(ctx.rows("Entry"))}

    return resolve


def _tag(obj: Any, args: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    entry = {"id": args["id"], "tag": args["tag"]}
    ctx.rows("Entry").append(entry)
    return {"__typename": "Entry", **entry}


MUTATIONS = Case(
    "mutations run in order, each seeing its predecessors' writes",
    (
        Subgraph(
            "journal",
            LINK
            + """
            type Entry @key(fields: "id") { id: ID! text: String seen: Int }
            type Query { entries: [Entry!]! }
            type Mutation { add(text: String!): Entry! }
            """,
            {"Query": {}, "Entry": []},
            resolvers={
                "Mutation.add": _append("journal"),
                "Query.entries": lambda obj, args, ctx: list(ctx.rows("Entry")),
            },
        ),
        Subgraph(
            "tags",
            LINK
            + """
            type Entry @key(fields: "id") { id: ID! tag: String }
            type Mutation { tag(id: ID!, tag: String!): Entry }
            """,
            {"Entry": []},
            resolvers={
                "Mutation.tag": _tag,
                "Entry.__resolveReference": lambda rep, args, ctx: (
                    ctx.row("Entry", id=rep["id"]) or {"id": rep["id"], "tag": None}
                ),
            },
        ),
    ),
    (
        Op(
            "three root fields over two subgraphs, with entity fetches between",
            'mutation { first: add(text: "a") { id seen tag } '
            't: tag(id: "e1", tag: "red") { id tag text } '
            'second: add(text: "b") { id seen tag } }',
            {
                "data": {
                    "first": {"id": "e1", "seen": 1, "tag": None},
                    "t": {"id": "e1", "tag": "red", "text": "journal:a"},
                    "second": {"id": "e2", "seen": 2, "tag": None},
                }
            },
        ),
    ),
)

CASES = [TYPENAME, FRAGMENTS, CONDITIONS, MUTATIONS]

"""Null propagation and error paths, as GraphQL specifies, across entity fetches."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from tests.gateway.federation.case import LINK, Case, Op
from tests.gateway.federation.tablegraph import Ctx, Subgraph


def _failing_for(task_id: str, message: str, code: str | None = None) -> Any:
    def resolve(obj: dict[str, Any], args: dict[str, Any], ctx: Ctx) -> Any:
        if obj["id"] == task_id:
            raise GraphQLError(message, extensions={"code": code} if code else None)
        return obj.get("_value", len(obj["id"]))

    return resolve


_CORE = Subgraph(
    "core",
    LINK
    + """
    type Task @key(fields: "id") { id: ID! title: String! }
    type Query {
      tasks: [Task!]!
      maybeTasks: [Task]
      task(id: ID!): Task
      broken: String
      forbidden: Int
    }
    """,
    {
        "Query": {
            "tasks": [{"id": "t1"}, {"id": "t22"}],
            "maybeTasks": [{"id": "t1"}, {"id": "t22"}, {"id": "gone"}],
        },
        "Task": [
            {"id": "t1", "title": "Fix road"},
            {"id": "t22", "title": "Fix light"},
            {"id": "gone", "title": "Gone elsewhere"},
        ],
    },
    resolvers={
        "Query.task": lambda obj, args, ctx: ctx.row("Task", id=args["id"]),
        "Query.broken": lambda obj, args, ctx: ValueError("the root resolver failed"),
        "Query.forbidden": lambda obj, args, ctx: GraphQLError(
            "not yours", extensions={"code": "FORBIDDEN"}
        ),
    },
)

_EXTRA = Subgraph(
    "extra",
    LINK
    + """
    type Task @key(fields: "id") {
      id: ID! note: String score: Int! secret: Int checks: [Check!]
    }
    type Check { name: String ok: Boolean! }
    """,
    {
        "Task": [
            {
                "id": "t1",
                "checks": [
                    {"name": "lights", "ok": True},
                    {"name": "signs", "ok": RuntimeError("inspector missing")},
                ],
            },
            {"id": "t22", "checks": [{"name": "lights", "ok": False}]},
        ]
    },  # "gone" is unknown here: its entity is null
    resolvers={
        "Task.note": _failing_for("t22", "note unavailable"),
        "Task.score": _failing_for("t22", "score unavailable"),
        "Task.secret": _failing_for("t1", "no access", "FORBIDDEN"),
    },
)

ENTITY_ERRORS = Case(
    "errors in entity fetches: the right field is nulled, the error carries its path",
    (_CORE, _EXTRA),
    (
        Op(
            "a nullable field fails in one entity",
            "{ tasks { id note } }",
            {
                "data": {"tasks": [{"id": "t1", "note": "2"}, {"id": "t22", "note": None}]},
                "errors": [
                    {
                        "message": "note unavailable",
                        "path": ["tasks", 1, "note"],
                        "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR"},
                    }
                ],
            },
        ),
        Op(
            "a non-null field fails: its nullable parent is nulled",
            '{ task(id: "t22") { title score } other: task(id: "t1") { title score } }',
            {
                "data": {"task": None, "other": {"title": "Fix road", "score": 2}},
                "errors": [
                    {
                        "message": "score unavailable",
                        "path": ["task", "score"],
                        "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR"},
                    }
                ],
            },
        ),
        Op(
            "through non-null list items up to data",
            "{ tasks { score } }",
            {
                "data": None,
                "errors": [
                    {
                        "message": "score unavailable",
                        "path": ["tasks", 1, "score"],
                        "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR"},
                    }
                ],
            },
        ),
        Op(
            "a nullable list item is nulled, the others stay",
            "{ maybeTasks { id score } }",
            {
                "data": {"maybeTasks": [{"id": "t1", "score": 2}, None, None]},
                "errors": [
                    {
                        "message": "score unavailable",
                        "path": ["maybeTasks", 1, "score"],
                        "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR"},
                    },
                    {
                        "message": "Cannot return null for non-nullable field Task.score.",
                        "path": ["maybeTasks", 2, "score"],
                    },
                ],
            },
            apollo_differs="@apollo/gateway reports the error of a non-null field it had to "
            "null (an entity the subgraph did not find) under extensions.valueCompletion, "
            "not in errors as GraphQL requires (spec 6.4.4, Handling Field Errors)",
        ),
        Op(
            "an entity the subgraph does not know, under a non-null field",
            '{ task(id: "gone") { id title score } }',
            {
                "data": {"task": None},
                "errors": [
                    {
                        "message": "Cannot return null for non-nullable field Task.score.",
                        "path": ["task", "score"],
                    }
                ],
            },
            apollo_differs="@apollo/gateway puts this field error under "
            "extensions.valueCompletion, not in errors (spec 6.4.4)",
        ),
        Op(
            "a subgraph's error code is kept",
            "{ tasks { secret } forbidden }",
            {
                "data": {"tasks": [{"secret": None}, {"secret": 3}], "forbidden": None},
                "errors": [
                    {
                        "message": "no access",
                        "path": ["tasks", 0, "secret"],
                        "extensions": {"code": "FORBIDDEN"},
                    },
                    {
                        "message": "not yours",
                        "path": ["forbidden"],
                        "extensions": {"code": "FORBIDDEN"},
                    },
                ],
            },
        ),
        Op(
            "an error deep in an entity's list: re-pathed, propagated to the nullable list",
            "{ tasks { id checks { name ok } } }",
            {
                "data": {
                    "tasks": [
                        {"id": "t1", "checks": None},
                        {"id": "t22", "checks": [{"name": "lights", "ok": False}]},
                    ]
                },
                "errors": [
                    {
                        "message": "inspector missing",
                        "path": ["tasks", 0, "checks", 1, "ok"],
                        "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR"},
                    }
                ],
            },
        ),
        Op(
            "a root field fails, its siblings answer",
            "{ broken tasks { title } }",
            {
                "data": {"broken": None, "tasks": [{"title": "Fix road"}, {"title": "Fix light"}]},
                "errors": [
                    {
                        "message": "the root resolver failed",
                        "path": ["broken"],
                        "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR"},
                    }
                ],
            },
        ),
    ),
)

CASES = [ENTITY_ERRORS]

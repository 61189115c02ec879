"""How fetches are made: batched per subgraph, deduplicated, chained, and when a subgraph is
down (partial data, errors at the right paths)."""

from __future__ import annotations

from tests.gateway.federation.case import LINK, Case, Op
from tests.gateway.federation.tablegraph import Subgraph

BATCHING = Case(
    "entity fetches batched per subgraph, identical representations sent once",
    (
        Subgraph(
            "events",
            LINK
            + """
            type Place @key(fields: "code") { code: ID! }
            type Event @key(fields: "id") { id: ID! place: Place! }
            type Query { events: [Event!]! }
            """,
            {
                "Query": {"events": [{"id": f"e{i}"} for i in range(1, 6)]},
                "Event": [
                    {"id": f"e{i}", "place": {"code": code}}
                    for i, code in enumerate(["km", "dl", "km", "lj", "dl"], start=1)
                ],
            },
        ),
        Subgraph(
            "places",
            LINK
            + """
            type Place @key(fields: "code") { code: ID! name: String }
            """,
            {
                "Place": [
                    {"code": "km", "name": "Kunming"},
                    {"code": "dl", "name": "Dali"},
                    {"code": "lj", "name": "Lijiang"},
                ]
            },
        ),
    ),
    (
        Op(
            "five events, three places, one call",
            "{ events { id place { name } } }",
            {
                "data": {
                    "events": [
                        {"id": "e1", "place": {"name": "Kunming"}},
                        {"id": "e2", "place": {"name": "Dali"}},
                        {"id": "e3", "place": {"name": "Kunming"}},
                        {"id": "e4", "place": {"name": "Lijiang"}},
                        {"id": "e5", "place": {"name": "Dali"}},
                    ]
                }
            },
            fetches={"events": 1, "places": 1},
        ),
    ),
)

_HOP = """
type Step{n} @key(fields: "id") {{ id: ID! name{n}: String next: Step{m} }}
type Step{m} @key(fields: "id") {{ id: ID! }}
"""

CHAIN = Case(
    "a chain of entities through five subgraphs",
    (
        *(
            Subgraph(
                f"s{n}",
                LINK
                + _HOP.format(n=n, m=n + 1)
                + ("type Query { start: Step1 }" if n == 1 else ""),
                {
                    **({"Query": {"start": {"id": "a"}}} if n == 1 else {}),
                    f"Step{n}": [{"id": "a", f"name{n}": f"step {n}", "next": {"id": "a"}}],
                },
            )
            for n in range(1, 5)
        ),
        Subgraph(
            "s5",
            LINK + 'type Step5 @key(fields: "id") { id: ID! name5: String }',
            {"Step5": [{"id": "a", "name5": "step 5"}]},
        ),
    ),
    (
        Op(
            "four hops in sequence",
            "{ start { name1 next { name2 next { name3 next { name4 next { name5 } } } } } }",
            {
                "data": {
                    "start": {
                        "name1": "step 1",
                        "next": {
                            "name2": "step 2",
                            "next": {
                                "name3": "step 3",
                                "next": {"name4": "step 4", "next": {"name5": "step 5"}},
                            },
                        },
                    }
                }
            },
            fetches={"s1": 1, "s2": 1, "s3": 1, "s4": 1, "s5": 1},
        ),
    ),
)

_ARCHIVE_DOWN = "Subgraph 'archive' is unavailable: HTTP 502 without a GraphQL body"

SUBGRAPH_DOWN = Case(
    "a subgraph that is down: partial data, errors where its fields were",
    (
        Subgraph(
            "desk",
            LINK
            + """
            type Petition @key(fields: "id") { id: ID! title: String }
            type Query { petitions: [Petition!]! }
            """,
            {
                "Query": {"petitions": [{"id": "1"}, {"id": "2"}]},
                "Petition": [{"id": "1", "title": "Noise"}, {"id": "2", "title": "Water"}],
            },
        ),
        Subgraph(
            "archive",
            LINK
            + """
            type Petition @key(fields: "id") { id: ID! filed: String }
            type Query { archived: [Petition!] }
            """,
            down_with_status=502,
        ),
    ),
    (
        Op(
            "its entity fields are null, the rest answers",
            "{ petitions { title filed } }",
            {
                "data": {
                    "petitions": [
                        {"title": "Noise", "filed": None},
                        {"title": "Water", "filed": None},
                    ]
                },
                "errors": [
                    {
                        "message": _ARCHIVE_DOWN,
                        "path": ["petitions", 0],
                        "extensions": {"code": "SUBGRAPH_UNAVAILABLE", "serviceName": "archive"},
                    },
                    {
                        "message": _ARCHIVE_DOWN,
                        "path": ["petitions", 1],
                        "extensions": {"code": "SUBGRAPH_UNAVAILABLE", "serviceName": "archive"},
                    },
                ],
            },
            fetches={"desk": 1, "archive": 3},  # tried once, retried twice
        ),
        Op(
            "its root field is null",
            "{ archived { id } petitions { id } }",
            {
                "data": {"archived": None, "petitions": [{"id": "1"}, {"id": "2"}]},
                "errors": [
                    {
                        "message": _ARCHIVE_DOWN,
                        "path": ["archived"],
                        "extensions": {"code": "SUBGRAPH_UNAVAILABLE", "serviceName": "archive"},
                    }
                ],
            },
        ),
    ),
)

CASES = [BATCHING, CHAIN, SUBGRAPH_DOWN]

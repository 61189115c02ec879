"""The county subgraph: the shared case engine, served for county nodes.

The county's own roles (petition bureau intake, assignment down to townships, leader-owned
cases, joint meetings) join this schema as mixins when the four-tier work lands.
"""

from __future__ import annotations

from strawberry.federation import Schema

from shared.graphql.schema import CaseMutations, CaseQueries, build_schema


def build_county_schema() -> Schema:
    return build_schema([CaseQueries], [CaseMutations])


schema = build_county_schema()

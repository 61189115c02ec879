"""The province subgraph: the shared case engine, served for province nodes.

Every tier registers and carries petitions through the same lifecycle. The province's own roles
(final review (复核), flagged supervision (挂牌督办) and assessment rankings) join this schema as
query and mutation mixins.
"""

from __future__ import annotations

from strawberry.federation import Schema

from shared.graphql.reviews import ReviewMutations, ReviewQueries
from shared.graphql.schema import CaseMutations, CaseQueries, build_schema
from shared.graphql.supervision import (
    IssuedSupervisionMutations,
    IssuedSupervisionQueries,
    ReceivedSupervisionMutations,
    ReceivedSupervisionQueries,
)


def build_province_schema() -> Schema:
    return build_schema(
        [CaseQueries, ReviewQueries, ReceivedSupervisionQueries, IssuedSupervisionQueries],
        [CaseMutations, ReviewMutations, ReceivedSupervisionMutations, IssuedSupervisionMutations],
    )


schema = build_province_schema()

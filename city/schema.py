"""The city subgraph: the shared case engine, served for city nodes.

Every tier registers and carries petitions through the same lifecycle. The city's own roles
(review (复查) of replies given one tier down and supervision orders (督办) to lower nodes) join
this schema as query and mutation mixins.
"""

from __future__ import annotations

from strawberry.federation import Schema

from shared.graphql.hotline import HotlineMutations
from shared.graphql.reviews import ReviewMutations, ReviewQueries
from shared.graphql.schema import CaseMutations, CaseQueries, build_schema
from shared.graphql.statistics_reports import StatisticsReportMutations
from shared.graphql.supervision import (
    IssuedSupervisionMutations,
    IssuedSupervisionQueries,
    ReceivedSupervisionMutations,
    ReceivedSupervisionQueries,
)


def build_city_schema() -> Schema:
    return build_schema(
        [CaseQueries, ReviewQueries, ReceivedSupervisionQueries, IssuedSupervisionQueries],
        [
            CaseMutations,
            ReviewMutations,
            ReceivedSupervisionMutations,
            IssuedSupervisionMutations,
            StatisticsReportMutations,
            HotlineMutations,
        ],
    )


schema = build_city_schema()

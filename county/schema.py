"""The county subgraph: the shared case engine, served for county nodes.

Every tier registers and carries petitions through the same lifecycle. The county's own roles
(petition bureau intake, leader-owned cases (领导包案) and joint-meeting decisions, in
county/roles.py; transfer and assignment down to townships are the shared lifecycle mutations)
join this schema as query and mutation mixins.
"""

from __future__ import annotations

from strawberry.federation import Schema

from county.roles import CountyMutations, CountyQueries
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


def build_county_schema() -> Schema:
    return build_schema(
        [
            CaseQueries,
            ReviewQueries,
            ReceivedSupervisionQueries,
            IssuedSupervisionQueries,
            CountyQueries,
        ],
        [
            CaseMutations,
            ReviewMutations,
            ReceivedSupervisionMutations,
            IssuedSupervisionMutations,
            StatisticsReportMutations,
            CountyMutations,
            HotlineMutations,
        ],
    )


schema = build_county_schema()

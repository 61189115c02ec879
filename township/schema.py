"""The township subgraph: the shared case engine, served for township nodes.

Every tier registers and carries petitions through the same lifecycle. The township's own roles
(intake at the governance centre (综治中心), mediation outcomes, the fast track (速办) and grid
reports) join this schema as query and mutation mixins (township/roles.py).
"""

from __future__ import annotations

from strawberry.federation import Schema

from shared.graphql.hotline import HotlineMutations
from shared.graphql.schema import CaseMutations, CaseQueries, build_schema
from shared.graphql.statistics_reports import StatisticsReportMutations
from shared.graphql.supervision import ReceivedSupervisionMutations, ReceivedSupervisionQueries
from township.roles import TownshipMutations, TownshipQueries


def build_township_schema() -> Schema:
    return build_schema(
        [CaseQueries, ReceivedSupervisionQueries, TownshipQueries],
        [
            CaseMutations,
            ReceivedSupervisionMutations,
            StatisticsReportMutations,
            TownshipMutations,
            HotlineMutations,
        ],
    )


schema = build_township_schema()

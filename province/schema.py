"""The province subgraph: the shared case engine, served for province nodes.

Every tier registers and carries petitions through the same lifecycle. The province's own roles
(final review (复核) through the shared review mixin; flagged supervision (挂牌督办) and
assessment rankings in province/roles.py) join this schema as query and mutation mixins.
"""

from __future__ import annotations

from strawberry.federation import Schema

from province.roles import ProvinceMutations, ProvinceQueries
from shared.graphql.hotline import HotlineMutations
from shared.graphql.reviews import ReviewMutations, ReviewQueries
from shared.graphql.schema import CaseMutations, CaseQueries, build_schema
from shared.graphql.supervision import (
    IssuedSupervisionMutations,
    IssuedSupervisionQueries,
    ReceivedSupervisionMutations,
    ReceivedSupervisionQueries,
)
from shared.graphql.trail import TrailQueries


def build_province_schema() -> Schema:
    return build_schema(
        [
            CaseQueries,
            ReviewQueries,
            ReceivedSupervisionQueries,
            IssuedSupervisionQueries,
            ProvinceQueries,
            TrailQueries,
        ],
        [
            CaseMutations,
            ReviewMutations,
            ReceivedSupervisionMutations,
            IssuedSupervisionMutations,
            ProvinceMutations,
            HotlineMutations,
        ],
        publish_subscription=True,  # the one subgraph declaring alertRaised (docs/adr/0016)
    )


schema = build_province_schema()

"""The province's own roles in GraphQL: flagged supervision (挂牌督办) listed publicly, and
assessment rankings of cities and counties from the statistics reports they sent up (Art. 41;
docs/adr/0011). Final review (复核) is the shared review mixin."""

from __future__ import annotations

from datetime import date

import strawberry

from shared.divisions import Tier
from shared.graphql.supervision import SupervisionOrder, load_order
from shared.graphql.types import Jurisdiction, NodeInfo, Period, Stats, jurisdiction_of
from shared.messaging import supervision_flows
from shared.persistence import supervision_records
from shared.roles import statistics_reports
from shared.roles.common import name_of, page
from shared.roles.statistics_reports import RankingMetric
from shared.supervision import OrderStatus, default_levels

RankingMetricEnum = strawberry.enum(RankingMetric, name="RankingMetric")


@strawberry.type
class RankedUnit:
    rank: int
    unit: Jurisdiction
    reporters: int = strawberry.field(description="Nodes of the unit whose reports are counted.")
    stats: Stats


@strawberry.type(description="考核排名: cities or counties ranked on their reported figures.")
class AssessmentRanking:
    tier: Tier
    by: RankingMetric
    period_from: date
    period_to: date
    units: list[RankedUnit]
    not_reported: list[Jurisdiction] = strawberry.field(
        description="Units with no statistics report in the period: not ranked."
    )


@strawberry.type
class ProvinceQueries:
    @strawberry.field(
        description="挂牌督办: every flagged supervision the province placed, public, newest "
        "first, with its leader, due reply and whether it is overdue."
    )
    async def flagged_supervision(
        self, info: NodeInfo, status: OrderStatus | None = None, first: int = 50
    ) -> list[SupervisionOrder]:
        async with info.context.db.connect() as conn:
            found = await supervision_records.list_orders(
                conn, issued=True, status=status, limit=page(first), flagged=True
            )
        return [SupervisionOrder.of(r, True) for r in found]

    @strawberry.field(
        description="Rank the province's cities or counties on the figures reported for "
        "exactly this period (rates: higher first; backlog: fewer first)."
    )
    async def assessment_ranking(
        self, info: NodeInfo, tier: Tier, period: Period, by: RankingMetric
    ) -> AssessmentRanking:
        checked = period.checked()
        found = await statistics_reports.ranking(
            info.context.work, tier, by, checked.from_, checked.to
        )
        return AssessmentRanking(
            tier=found.tier,
            by=found.metric,
            period_from=found.period_from,
            period_to=found.period_to,
            units=[
                RankedUnit(
                    rank=u.rank,
                    unit=jurisdiction_of(u.code),
                    reporters=u.reporters,
                    stats=Stats.of(u.stats),
                )
                for u in found.units
            ],
            not_reported=[jurisdiction_of(code) for code in found.not_reported],
        )


@strawberry.type
class ProvinceMutations:
    @strawberry.mutation(
        description="挂牌督办 (Art. 39): place a lower node's case and its responsible leader "
        "under flagged supervision, of the highest level; a written reply is due by the date "
        "(the level's period when none is given)."
    )
    async def place_under_flagged_supervision(
        self,
        info: NodeInfo,
        case_id: strawberry.ID,
        leader: str,
        text: str,
        due: date | None = None,
    ) -> SupervisionOrder:
        order_id = await supervision_flows.issue_order(
            info.context.work,
            case_id.strip(),
            severity=default_levels().highest().code,
            due=due,
            text=text,
            flagged=True,
            actor=info.context.actor,
            leader=name_of(leader, "leader"),
        )
        order = await load_order(info, order_id, issued=True)
        assert order is not None
        return order

"""Filing this node's statistics report with the province (Art. 41): served by the tiers below
the province. The province's side (rankings) is in province/roles.py."""

from __future__ import annotations

import strawberry

from shared.graphql.types import Jurisdiction, NodeInfo, Period, jurisdiction_of
from shared.roles import statistics_reports


@strawberry.type(description="A statistics report on its way to the province.")
class StatisticsReportFiled:
    message_id: strawberry.ID
    to: Jurisdiction


@strawberry.type
class StatisticsReportMutations:
    @strawberry.mutation(
        description="Send this node's figures for the period (cases registered in it) to the "
        "province, which ranks cities and counties on them. A later report for the same "
        "period replaces the earlier one."
    )
    async def file_statistics_report(self, info: NodeInfo, period: Period) -> StatisticsReportFiled:
        checked = period.checked()
        work = info.context.work
        message_id = await statistics_reports.file_report(work, checked.from_, checked.to)
        return StatisticsReportFiled(
            message_id=strawberry.ID(message_id),
            to=jurisdiction_of(work.code[:2]),
        )

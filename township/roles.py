"""The township's own roles in GraphQL: intake at the governance centre (综治中心), mediation
outcomes and the resolution rate (化解率), the fast track (速办) and grid reports (网格员).
A thin layer: the rules and the writing are in shared/roles and the case engine."""

from __future__ import annotations

from datetime import datetime

import strawberry

from shared.graphql.schema import act_on_case, loaded_case, petition_input
from shared.graphql.types import (
    Case,
    CaseId,
    Jurisdiction,
    NodeInfo,
    Period,
    RegisterPetitionInput,
    jurisdiction_of,
    load_case,
)
from shared.lifecycle import Action
from shared.roles import fast_track, grid_reports, intake, mediation
from shared.roles.common import page, period_bounds
from shared.roles.grid_reports import GridReportInput, GridReportStatus
from shared.roles.intake import Receiver, ReceivingWindow
from shared.roles.mediation import MediationOutcome

ReceivingWindowEnum = strawberry.enum(ReceivingWindow, name="ReceivingWindow")
MediationOutcomeEnum = strawberry.enum(MediationOutcome, name="MediationOutcome")
GridReportStatusEnum = strawberry.enum(GridReportStatus, name="GridReportStatus")


def _bounds(period: Period | None) -> tuple[datetime | None, datetime | None]:
    checked = period.checked() if period else None
    return period_bounds((checked.from_, checked.to) if checked else None)


@strawberry.type(description="A petition received at the governance centre, and its window.")
class GovernanceCenterIntake:
    case_id: strawberry.ID
    window: ReceivingWindow
    received_by: str
    recorded_at: datetime

    @strawberry.field(name="case")
    async def case_(self, info: NodeInfo) -> Case | None:
        return await load_case(info, self.case_id)


@strawberry.type(description="调解: the outcome of one mediation.")
class Mediation:
    id: strawberry.ID
    case_id: strawberry.ID
    mediator: str
    outcome: MediationOutcome
    parties_consent: bool
    text: str
    recorded_at: datetime
    recorded_by: str

    @classmethod
    def of(cls, m: mediation.Mediation) -> Mediation:
        return cls(
            id=strawberry.ID(m.id),
            case_id=strawberry.ID(m.case_id),
            mediator=m.mediator,
            outcome=m.outcome,
            parties_consent=m.parties_consent,
            text=m.text,
            recorded_at=m.recorded_at,
            recorded_by=m.recorded_by,
        )

    @strawberry.field(name="case")
    async def case_(self, info: NodeInfo) -> Case | None:
        return await load_case(info, self.case_id)


@strawberry.type(description="Mediations concluded here, and the resolution rate (化解率).")
class MediationFigures:
    mediations: int
    agreements: int
    partial: int
    failed: int
    resolution_rate: float | None = strawberry.field(
        description="化解率: agreements / mediations concluded"
    )


@strawberry.type(description="One step of the fast track: meet (5 days), facts (7), reply (15).")
class FastTrackStep:
    kind: str
    limit_days: int
    cases: int
    met: int
    met_on_time: int
    overdue: int
    on_time_rate: float | None
    average_days: float | None = strawberry.field(
        description="Average days from registration to the step, over the steps met."
    )


@strawberry.input(name="GridReportInput")
class GridReportFields:
    grid_worker: str
    grid: str = strawberry.field(description="The grid's name or number.")
    locality: strawberry.ID = strawberry.field(description="Where the dispute is.")
    category: str
    summary: str
    person_count: int = 1


@strawberry.type(description="网格员: a grid worker's report of a dispute.")
class GridReport:
    id: strawberry.ID
    grid_worker: str
    grid: str
    category: str
    summary: str
    person_count: int
    reported_at: datetime
    status: GridReportStatus
    case_id: strawberry.ID | None
    registered_at: datetime | None
    _locality: strawberry.Private[str]

    @classmethod
    def of(cls, r: grid_reports.GridReport) -> GridReport:
        return cls(
            id=strawberry.ID(r.id),
            grid_worker=r.grid_worker,
            grid=r.grid,
            category=r.category,
            summary=r.summary,
            person_count=r.person_count,
            reported_at=r.reported_at,
            status=r.status,
            case_id=strawberry.ID(r.case_id) if r.case_id else None,
            registered_at=r.registered_at,
            _locality=r.locality_code,
        )

    @strawberry.field
    def locality(self) -> Jurisdiction:
        return jurisdiction_of(self._locality)

    @strawberry.field(name="case", description="The case it was registered as.")
    async def case_(self, info: NodeInfo) -> Case | None:
        return await load_case(info, self.case_id) if self.case_id else None


@strawberry.type
class TownshipQueries:
    @strawberry.field(description="Petitions received at the governance centre, newest first.")
    async def governance_center_intakes(
        self, info: NodeInfo, window: ReceivingWindow | None = None, first: int = 50
    ) -> list[GovernanceCenterIntake]:
        found = await intake.list_intakes(
            info.context.work, [Receiver.GOVERNANCE_CENTER], window, page(first)
        )
        return [
            GovernanceCenterIntake(
                case_id=strawberry.ID(r.case_id),
                window=r.receiving_window or ReceivingWindow.PETITION_RECEPTION,
                received_by=r.received_by,
                recorded_at=r.recorded_at,
            )
            for r in found
        ]

    @strawberry.field(description="Mediation outcomes, newest first; of one case when given.")
    async def mediations(
        self, info: NodeInfo, case_id: strawberry.ID | None = None, first: int = 50
    ) -> list[Mediation]:
        found = await mediation.mediations(
            info.context.work, case_id.strip() if case_id else None, page(first)
        )
        return [Mediation.of(m) for m in found]

    @strawberry.field(description="Mediations concluded in the period (all when none is given).")
    async def mediation_figures(
        self, info: NodeInfo, period: Period | None = None
    ) -> MediationFigures:
        f = await mediation.figures(info.context.work, *_bounds(period))
        return MediationFigures(
            mediations=f.mediations,
            agreements=f.agreements,
            partial=f.partial,
            failed=f.failed,
            resolution_rate=f.resolution_rate,
        )

    @strawberry.field(
        description="速办: days to meet / establish facts / reply, over fast-track cases "
        "registered in the period."
    )
    async def fast_track_figures(
        self, info: NodeInfo, period: Period | None = None
    ) -> list[FastTrackStep]:
        found = await fast_track.figures(info.context.work, *_bounds(period))
        return [
            FastTrackStep(
                kind=s.kind.value,
                limit_days=s.limit_days,
                cases=s.cases,
                met=s.met,
                met_on_time=s.met_on_time,
                overdue=s.overdue,
                on_time_rate=s.on_time_rate,
                average_days=s.average_days,
            )
            for s in found
        ]

    @strawberry.field(description="Grid reports, newest first.")
    async def grid_reports(
        self, info: NodeInfo, status: GridReportStatus | None = None, first: int = 50
    ) -> list[GridReport]:
        found = await grid_reports.list_reports(info.context.work, status, page(first))
        return [GridReport.of(r) for r in found]

    @strawberry.field
    async def grid_report(self, info: NodeInfo, id: strawberry.ID) -> GridReport | None:
        found = await grid_reports.report_by_id(info.context.work, id)
        return GridReport.of(found) if found else None


@strawberry.type
class TownshipMutations:
    @strawberry.mutation(
        description="登记 at the governance centre (综治中心), recording the window that "
        "received the petitioner. Retrying with the same idempotency key writes nothing."
    )
    async def register_at_governance_center(
        self,
        info: NodeInfo,
        input: RegisterPetitionInput,
        window: ReceivingWindow,
        idempotency_key: str,
    ) -> Case:
        case_id = await intake.register_at_desk(
            info.context.work,
            petition_input(input),
            receiver=Receiver.GOVERNANCE_CENTER,
            window=window,
            idempotency_key=idempotency_key,
            actor=info.context.actor,
        )
        return await loaded_case(info, case_id)

    @strawberry.mutation(
        description="Conclude a case's mediation: an agreement is the reply; a partial "
        "agreement or a failure sends it on to formal handling. Agreements need the "
        "parties' consent."
    )
    async def record_mediation_outcome(
        self,
        info: NodeInfo,
        id: CaseId,
        outcome: MediationOutcome,
        mediator: str,
        parties_consent: bool,
        text: str,
    ) -> Mediation:
        work = info.context.work
        mediation_id = await mediation.record_outcome(
            work,
            id,
            outcome=outcome,
            mediator=mediator,
            parties_consent=parties_consent,
            text=text,
            actor=info.context.actor,
        )
        found = await mediation.mediation_by_id(work, mediation_id)
        assert found is not None  # just written
        return Mediation.of(found)

    @strawberry.mutation(
        description="速办: put a case on the fast track: meet the petitioner within 5 days, "
        "establish the facts within 7, reply within 15, counted from registration."
    )
    async def take_fast_track(self, info: NodeInfo, id: CaseId) -> Case:
        return await act_on_case(info, id, Action.FAST_TRACK)

    @strawberry.mutation(description="Fast track: the petitioner was met (notes of the meeting).")
    async def record_fast_track_meeting(self, info: NodeInfo, id: CaseId, text: str) -> Case:
        return await act_on_case(info, id, Action.RECORD_MEETING, text=text)

    @strawberry.mutation(description="Fast track: the facts are established.")
    async def record_fast_track_facts(self, info: NodeInfo, id: CaseId, text: str) -> Case:
        return await act_on_case(info, id, Action.RECORD_FACTS, text=text)

    @strawberry.mutation(description="网格员: report a dispute in a grid of this township.")
    async def report_grid_dispute(self, info: NodeInfo, input: GridReportFields) -> GridReport:
        work = info.context.work
        report_id = await grid_reports.report_dispute(
            work,
            GridReportInput(
                grid_worker=input.grid_worker,
                grid=input.grid,
                locality_code=input.locality,
                category=input.category,
                summary=input.summary,
                person_count=input.person_count,
            ),
            info.context.actor,
        )
        found = await grid_reports.report_by_id(work, report_id)
        assert found is not None
        return GridReport.of(found)

    @strawberry.mutation(
        description="Register a grid report as a petition (channel GRID_REPORT); the report "
        "then points at the case. A report is registered once."
    )
    async def register_grid_report(
        self,
        info: NodeInfo,
        id: strawberry.ID,
        petitioner_name: str,
        idempotency_key: str,
        petitioner_id_number: str | None = None,
        petitioner_phone: str | None = None,
    ) -> Case:
        case_id = await grid_reports.register_report(
            info.context.work,
            id,
            petitioner_name=petitioner_name,
            petitioner_id_number=petitioner_id_number,
            petitioner_phone=petitioner_phone,
            idempotency_key=idempotency_key,
            actor=info.context.actor,
        )
        return await loaded_case(info, case_id)

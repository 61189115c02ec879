"""The county's own roles in GraphQL: petition bureau intake (信访部门, or joint reception
联合接访), leader-owned cases (领导包案) and joint-meeting decisions on disputed competence
(Art. 24). Transfer and assignment down to townships are the shared lifecycle mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

from shared.graphql.schema import loaded_case, petition_input
from shared.graphql.types import (
    Case,
    CaseId,
    Jurisdiction,
    NodeInfo,
    RegisterPetitionInput,
    jurisdiction_of,
    load_case,
)
from shared.roles import intake, joint_meetings, leader_cases
from shared.roles.common import page
from shared.roles.intake import Receiver
from shared.roles.joint_meetings import DisputeStatus

DisputeStatusEnum = strawberry.enum(DisputeStatus, name="CompetenceDisputeStatus")


@strawberry.type(description="A petition received at the petition bureau's desk.")
class PetitionBureauIntake:
    case_id: strawberry.ID
    joint_reception: bool = strawberry.field(description="联合接访: received at joint reception")
    received_by: str
    recorded_at: datetime

    @strawberry.field(name="case")
    async def case_(self, info: NodeInfo) -> Case | None:
        return await load_case(info, self.case_id)


@strawberry.type(description="领导包案: a leader who owns (or owned) a hard case.")
class LeaderOwnership:
    case_id: strawberry.ID
    leader: str
    title: str
    since: datetime
    until: datetime | None = strawberry.field(description="Set when the case was handed over.")
    assigned_by: str
    note: str = strawberry.field(description="Why assigned, or why handed over.")

    @classmethod
    def of(cls, o: leader_cases.LeaderOwnership) -> LeaderOwnership:
        return cls(
            case_id=strawberry.ID(o.case_id),
            leader=o.leader,
            title=o.title,
            since=o.since,
            until=o.until,
            assigned_by=o.assigned_by,
            note=o.note,
        )

    @strawberry.field(name="case")
    async def case_(self, info: NodeInfo) -> Case | None:
        return await load_case(info, self.case_id)


@strawberry.type(description="Bodies disputing competence for a matter; the joint meeting decides.")
class CompetenceDispute:
    id: strawberry.ID
    case_id: strawberry.ID
    text: str
    raised_at: datetime
    raised_by: str
    status: DisputeStatus
    decision_text: str | None
    decided_at: datetime | None
    decided_by: str | None
    _bodies: strawberry.Private[tuple[str, ...]]
    _competent: strawberry.Private[str | None]

    @classmethod
    def of(cls, d: joint_meetings.CompetenceDispute) -> CompetenceDispute:
        return cls(
            id=strawberry.ID(d.id),
            case_id=strawberry.ID(d.case_id),
            text=d.text,
            raised_at=d.raised_at,
            raised_by=d.raised_by,
            status=d.status,
            decision_text=d.decision_text,
            decided_at=d.decided_at,
            decided_by=d.decided_by,
            _bodies=d.bodies,
            _competent=d.competent_body,
        )

    @strawberry.field(description="The bodies that each say the matter is not theirs.")
    def bodies(self) -> list[Jurisdiction]:
        return [jurisdiction_of(code) for code in self._bodies]

    @strawberry.field(description="The body the joint meeting found competent.")
    def competent_body(self) -> Jurisdiction | None:
        return jurisdiction_of(self._competent) if self._competent else None

    @strawberry.field(name="case")
    async def case_(self, info: NodeInfo) -> Case | None:
        return await load_case(info, self.case_id)


async def _dispute(info: NodeInfo, dispute_id: str) -> CompetenceDispute:
    [found] = await joint_meetings.disputes(info.context.work, None, 1, [dispute_id])
    return CompetenceDispute.of(found)


@strawberry.type
class CountyQueries:
    @strawberry.field(description="Petitions received at the petition bureau, newest first.")
    async def petition_bureau_intakes(
        self, info: NodeInfo, first: int = 50
    ) -> list[PetitionBureauIntake]:
        found = await intake.list_intakes(
            info.context.work,
            [Receiver.PETITION_BUREAU, Receiver.JOINT_RECEPTION],
            None,
            page(first),
        )
        return [
            PetitionBureauIntake(
                case_id=strawberry.ID(r.case_id),
                joint_reception=r.receiver is Receiver.JOINT_RECEPTION,
                received_by=r.received_by,
                recorded_at=r.recorded_at,
            )
            for r in found
        ]

    @strawberry.field(description="领导包案: cases leaders own now; of one leader when named.")
    async def leader_owned_cases(
        self, info: NodeInfo, leader: str | None = None, first: int = 50
    ) -> list[LeaderOwnership]:
        found = await leader_cases.leader_cases(info.context.work, leader, page(first))
        return [LeaderOwnership.of(o) for o in found]

    @strawberry.field(description="Every leader who owned the case, the current one last.")
    async def case_leaders(self, info: NodeInfo, id: CaseId) -> list[LeaderOwnership]:
        found = await leader_cases.ownership_history(info.context.work, id)
        return [LeaderOwnership.of(o) for o in found]

    @strawberry.field(description="Competence disputes before the joint meeting, newest first.")
    async def competence_disputes(
        self, info: NodeInfo, status: DisputeStatus | None = None, first: int = 50
    ) -> list[CompetenceDispute]:
        found = await joint_meetings.disputes(info.context.work, status, page(first))
        return [CompetenceDispute.of(d) for d in found]


@strawberry.type
class CountyMutations:
    @strawberry.mutation(
        description="登记 at the petition bureau (信访部门, Art. 14), or at joint reception "
        "(联合接访, Art. 18); the desk is recorded with the case."
    )
    async def register_at_petition_bureau(
        self,
        info: NodeInfo,
        input: RegisterPetitionInput,
        idempotency_key: str,
        joint_reception: bool = False,
    ) -> Case:
        case_id = await intake.register_at_desk(
            info.context.work,
            petition_input(input),
            receiver=Receiver.JOINT_RECEPTION if joint_reception else Receiver.PETITION_BUREAU,
            window=None,
            idempotency_key=idempotency_key,
            actor=info.context.actor,
        )
        return await loaded_case(info, case_id)

    @strawberry.mutation(description="领导包案: a named leader takes personal charge of a case.")
    async def assign_case_leader(
        self, info: NodeInfo, id: CaseId, leader: str, title: str, note: str
    ) -> LeaderOwnership:
        work = info.context.work
        await leader_cases.assign_leader(
            work, id, leader=leader, title=title, note=note, actor=info.context.actor
        )
        return LeaderOwnership.of((await leader_cases.ownership_history(work, id))[-1])

    @strawberry.mutation(description="Hand a leader-owned case over to another leader, with why.")
    async def hand_over_leader_case(
        self, info: NodeInfo, id: CaseId, leader: str, title: str, reason: str
    ) -> LeaderOwnership:
        work = info.context.work
        await leader_cases.hand_over(
            work, id, leader=leader, title=title, reason=reason, actor=info.context.actor
        )
        return LeaderOwnership.of((await leader_cases.ownership_history(work, id))[-1])

    @strawberry.mutation(
        description="Record that bodies below this county dispute competence for a "
        "registered matter (Art. 24); the joint meeting will decide."
    )
    async def record_competence_dispute(
        self, info: NodeInfo, case_id: strawberry.ID, bodies: list[strawberry.ID], text: str
    ) -> CompetenceDispute:
        dispute_id = await joint_meetings.record_dispute(
            info.context.work, case_id, bodies=list(bodies), text=text, actor=info.context.actor
        )
        return await _dispute(info, dispute_id)

    @strawberry.mutation(
        description="The joint meeting's decision: the competent body, to which the case is "
        "transferred (转送) in the same act."
    )
    async def decide_competence_dispute(
        self, info: NodeInfo, id: strawberry.ID, competent_body: strawberry.ID, text: str
    ) -> CompetenceDispute:
        await joint_meetings.decide_dispute(
            info.context.work,
            id,
            competent_body=competent_body,
            text=text,
            actor=info.context.actor,
        )
        return await _dispute(info, id.strip())

"""Reviews held by a node: the GraphQL face of ``shared.messaging.review_flows``."""

from __future__ import annotations

from datetime import datetime

import strawberry

from shared.errors import bad_input
from shared.graphql.node_owned import NodeOwned
from shared.graphql.types import Jurisdiction, NodeInfo, jurisdiction_of
from shared.lifecycle import ReviewOutcome
from shared.messaging import review_flows
from shared.persistence import review_records as records
from shared.persistence.review_records import ReviewRecord
from shared.reviews import ReviewLevel, ReviewStatus

ReviewLevelEnum = strawberry.enum(ReviewLevel, name="ReviewLevel")
ReviewStatusEnum = strawberry.enum(ReviewStatus, name="ReviewStatus")


@strawberry.federation.type(
    keys=["id"],
    description="A review (复查) or final review (复核).",
    directives=[NodeOwned()],  # held by the reviewing node, whose code starts the id
)
class Review:
    id: strawberry.ID
    level: ReviewLevel
    status: ReviewStatus
    case_id: strawberry.ID = strawberry.field(description="The petition, at its owner node.")
    reason: str
    requested_at: datetime
    due: datetime | None = strawberry.field(description="The decision's deadline (30 days).")
    hearing_days: int
    decided_at: datetime | None
    outcome: ReviewOutcome | None
    decision_text: str | None
    refusal: str | None = strawberry.field(description="Why the owner could not open it.")
    _record: strawberry.Private[ReviewRecord]

    @classmethod
    def of(cls, record: ReviewRecord) -> Review:
        return cls(
            id=strawberry.ID(record.id),
            level=record.level,
            status=record.status,
            case_id=strawberry.ID(record.case_id),
            reason=record.reason,
            requested_at=record.requested_at,
            due=record.due,
            hearing_days=record.hearing_days,
            decided_at=record.decided_at,
            outcome=ReviewOutcome(record.outcome) if record.outcome else None,
            decision_text=record.decision_text,
            refusal=record.refusal,
            _record=record,
        )

    @classmethod
    async def resolve_reference(cls, info: NodeInfo, id: strawberry.ID) -> Review | None:
        if not isinstance(id, str):
            raise bad_input("a Review representation's id is a string", "representations")
        return await load_review(info, id)

    @strawberry.field(description="The node whose reply is reviewed.")
    def case_owner(self) -> Jurisdiction:
        return jurisdiction_of(self._record.case_node)

    @strawberry.field
    def overdue(self, info: NodeInfo) -> bool:
        due = self._record.due
        open_ = self._record.status in (ReviewStatus.REQUESTED, ReviewStatus.OPEN)
        return open_ and due is not None and info.context.work.clock.now() >= due


async def load_review(info: NodeInfo, review_id: str) -> Review | None:
    async with info.context.db.connect() as conn:
        found = await records.load_reviews(conn, [review_id])
    record = found.get(review_id)
    return Review.of(record) if record else None


async def _reloaded(info: NodeInfo, review_id: str) -> Review:
    review = await load_review(info, review_id)
    assert review is not None
    return review


@strawberry.type
class ReviewQueries:
    @strawberry.field(description="Reviews and final reviews held here, newest first.")
    async def reviews(
        self, info: NodeInfo, status: ReviewStatus | None = None, first: int = 50
    ) -> list[Review]:
        if not 1 <= first <= 500:
            raise bad_input("first is 1 to 500", "first")
        async with info.context.db.connect() as conn:
            found = await records.list_reviews(conn, status=status, limit=first)
        return [Review.of(r) for r in found]

    @strawberry.field
    async def review(self, info: NodeInfo, id: strawberry.ID) -> Review | None:
        return await load_review(info, id.strip())


@strawberry.type
class ReviewMutations:
    @strawberry.mutation(
        description="复查: the petitioner asks this node, one tier above the "
        "handler, to review a reply. The owner confirms it is in time."
    )
    async def open_review(self, info: NodeInfo, case_id: strawberry.ID, reason: str) -> Review:
        review_id = await review_flows.open_review(
            info.context.work, case_id.strip(), reason, ReviewLevel.REVIEW, info.context.actor
        )
        return await _reloaded(info, review_id)

    @strawberry.mutation(
        description="复核: the petitioner asks this node, one tier above the "
        "reviewer, for a final review."
    )
    async def open_final_review(
        self, info: NodeInfo, case_id: strawberry.ID, reason: str
    ) -> Review:
        review_id = await review_flows.open_review(
            info.context.work,
            case_id.strip(),
            reason,
            ReviewLevel.FINAL_REVIEW,
            info.context.actor,
        )
        return await _reloaded(info, review_id)

    @strawberry.mutation(description="The review's decision, sent to the case's owner.")
    async def decide_review(
        self, info: NodeInfo, id: strawberry.ID, outcome: ReviewOutcome, text: str
    ) -> Review:
        await review_flows.decide_review(
            info.context.work, id.strip(), outcome, text, info.context.actor
        )
        return await _reloaded(info, id.strip())

    @strawberry.mutation(description="Days of a final review's hearing, not counted in its 30.")
    async def record_review_hearing(self, info: NodeInfo, id: strawberry.ID, days: int) -> Review:
        await review_flows.record_review_hearing(info.context.work, id.strip(), days)
        return await _reloaded(info, id.strip())

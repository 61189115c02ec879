"""Queries and lifecycle mutations every tier serves, and the schema factory for a tier."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.federation import Schema
from strawberry.federation.schema_directives import Shareable
from strawberry.types import ExecutionContext
from strawberry.types.base import StrawberryObjectDefinition

from shared.casework import PetitionInput, Representative, parse_case_id
from shared.errors import DomainError, bad_input
from shared.graphql.alerts import AlertMutations, AlertSubscriptions
from shared.graphql.types import (
    Case,
    CaseConnection,
    CaseFilter,
    CaseId,
    Jurisdiction,
    NodeInfo,
    Period,
    RegisterPetitionInput,
    Stats,
    load_case,
)
from shared.lifecycle import (
    Action,
    LegalChannel,
    ReplyOutcome,
    ReviewOutcome,
    Satisfaction,
)


@strawberry.type
class CaseQueries:
    @strawberry.field(description="This node's jurisdiction.")
    def node(self, info: NodeInfo) -> Jurisdiction:
        return Jurisdiction.of(info.context.node)

    @strawberry.field
    def jurisdiction(self, code: strawberry.ID) -> Jurisdiction | None:
        return Jurisdiction.find(code)

    @strawberry.field(name="case")
    async def case_(self, info: NodeInfo, id: CaseId) -> Case | None:
        parse_case_id(id)
        return await load_case(info, id.strip())

    @strawberry.field(description="This node's cases, newest first.")
    async def cases(
        self,
        info: NodeInfo,
        filter: CaseFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> CaseConnection:
        node = Jurisdiction.of(info.context.node)
        page = await node.cases(info, filter=filter, first=first, after=after)
        assert page is not None  # a node always answers for itself
        return page

    @strawberry.field(description="This node's own figures.")
    async def stats(self, info: NodeInfo, period: Period | None = None) -> Stats:
        stats = await Jurisdiction.of(info.context.node).stats(info, period=period)
        assert stats is not None
        return stats


# The engine names command fields in Python; callers know the GraphQL argument names.
ARGUMENT_NAMES = {
    "due_date": "due",
    "target": "to",
    "legal_channel": "legalChannel",
    "review_outcome": "outcome",
    "notified_on_spot": "notifiedOnSpot",
    "delivered_at": "deliveredAt",
}


def petition_input(input: RegisterPetitionInput) -> PetitionInput:
    return PetitionInput(
        channel=input.channel,
        category=input.category,
        summary=input.summary,
        issue_locality_code=input.issue_locality,
        petitioner_name=input.petitioner_name,
        petitioner_id_number=input.petitioner_id_number,
        petitioner_phone=input.petitioner_phone,
        petitioner_address=input.petitioner_address,
        person_count=input.person_count,
        received_from=input.received_from,
        received_at=input.received_at,
        foreign_id=input.petitioner_id_is_foreign,
        accused_unit=str(input.accused_unit) if input.accused_unit is not None else None,
        representatives=tuple(
            Representative(name=r.name, id_number=r.id_number, phone=r.phone)
            for r in input.representatives or []
        ),
    )


async def loaded_case(info: NodeInfo, case_id: str) -> Case:
    """A case just written, read back fresh for the mutation's answer."""
    info.context.loaders.case.clear(case_id)
    info.context.loaders.deadlines.clear(case_id)
    info.context.loaders.events.clear(case_id)
    case = await load_case(info, case_id)
    assert case is not None
    return case


async def act_on_case(info: NodeInfo, case_id: str, action: Action, **fields: object) -> Case:
    """One lifecycle act through a tier's own mutation (the fast track, say)."""
    return await _act(info, case_id, action, **fields)


async def _act(info: NodeInfo, case_id: str, action: Action, **fields: object) -> Case:
    work = info.context.work
    try:
        await work.act(case_id.strip(), work.command(action, info.context.actor, **fields))
    except DomainError as error:
        if error.field in ARGUMENT_NAMES:
            error.field = ARGUMENT_NAMES[error.field]
        raise
    info.context.loaders.case.clear(case_id.strip())
    case = await load_case(info, case_id.strip())
    assert case is not None  # it was just written
    return case


@strawberry.type
class CaseMutations:
    @strawberry.mutation(
        description="登记: register a petition on receipt. Retrying with the same "
        "idempotency key returns the same case and writes nothing."
    )
    async def register_petition(
        self, info: NodeInfo, input: RegisterPetitionInput, idempotency_key: str
    ) -> Case:
        work = info.context.work
        case_id = await work.register_petition(
            petition_input(input), idempotency_key=idempotency_key, actor=info.context.actor
        )
        return await loaded_case(info, case_id)

    @strawberry.mutation(description="转送 to the competent node, with the reason.")
    async def transfer_case(
        self, info: NodeInfo, id: CaseId, to: strawberry.ID, reason: str
    ) -> Case:
        return await _act(info, id, Action.TRANSFER, target=to, reason=reason)

    @strawberry.mutation(description="交办 with a due date for the completion report.")
    async def assign_case(
        self, info: NodeInfo, id: CaseId, to: strawberry.ID, due: date, note: str | None = None
    ) -> Case:
        return await _act(info, id, Action.ASSIGN, target=to, due_date=due, reason=note)

    @strawberry.mutation(description="Point the petitioner to the legal channel for the matter.")
    async def redirect_case(
        self, info: NodeInfo, id: CaseId, legal_channel: LegalChannel, reason: str
    ) -> Case:
        return await _act(info, id, Action.REDIRECT, legal_channel=legal_channel, reason=reason)

    @strawberry.mutation(description="不予受理, with the written reason.")
    async def not_accept_case(self, info: NodeInfo, id: CaseId, reason: str) -> Case:
        return await _act(info, id, Action.NOT_ACCEPT, reason=reason)

    @strawberry.mutation(
        description="Object, within 5 working days, that a matter transferred "
        "here is outside this body's remit."
    )
    async def raise_competence_objection(self, info: NodeInfo, id: CaseId, reason: str) -> Case:
        return await _act(info, id, Action.RAISE_OBJECTION, reason=reason)

    @strawberry.mutation(description="受理: accept and send the written notice.")
    async def accept_case(self, info: NodeInfo, id: CaseId, notified_on_spot: bool = False) -> Case:
        return await _act(info, id, Action.ACCEPT, notified_on_spot=notified_on_spot)

    @strawberry.mutation(description="The assignee's completion report closes an assigned case.")
    async def record_completion_report(self, info: NodeInfo, id: CaseId, text: str) -> Case:
        return await _act(info, id, Action.RECORD_COMPLETION_REPORT, text=text)

    @strawberry.mutation
    async def start_mediation(self, info: NodeInfo, id: CaseId) -> Case:
        return await _act(info, id, Action.START_MEDIATION)

    @strawberry.mutation(description="A mediation agreement, given as the reply.")
    async def settle_by_mediation(self, info: NodeInfo, id: CaseId, text: str) -> Case:
        return await _act(info, id, Action.SETTLE_BY_MEDIATION, text=text)

    @strawberry.mutation(description="Mediation failed; formal handling goes on.")
    async def end_mediation(self, info: NodeInfo, id: CaseId, reason: str) -> Case:
        return await _act(info, id, Action.END_MEDIATION, reason=reason)

    @strawberry.mutation
    async def begin_handling(self, info: NodeInfo, id: CaseId) -> Case:
        return await _act(info, id, Action.BEGIN_HANDLING)

    @strawberry.mutation(
        description="One extension of the 60-day handling period, at most 30 "
        "days, approved, with the reasons told to the petitioner."
    )
    async def extend_handling(self, info: NodeInfo, id: CaseId, days: int, reason: str) -> Case:
        return await _act(info, id, Action.EXTEND_HANDLING, days=days, reason=reason)

    @strawberry.mutation(description="答复 in writing; the review window runs from delivery.")
    async def reply_case(
        self, info: NodeInfo, id: CaseId, outcome: ReplyOutcome, text: str
    ) -> Case:
        return await _act(info, id, Action.REPLY, outcome=outcome, text=text)

    @strawberry.mutation(
        description="When the petitioner received the written reply or review decision: their "
        "window to ask for the next review runs from then (Art. 35)."
    )
    async def record_delivery(self, info: NodeInfo, id: CaseId, delivered_at: datetime) -> Case:
        return await _act(info, id, Action.RECORD_DELIVERY, delivered_at=delivered_at)

    @strawberry.mutation
    async def rate_satisfaction(self, info: NodeInfo, id: CaseId, rating: Satisfaction) -> Case:
        return await _act(info, id, Action.RATE_SATISFACTION, rating=rating)

    @strawberry.mutation(description="复查 requested within 30 days of the reply.")
    async def request_review(self, info: NodeInfo, id: CaseId, reason: str) -> Case:
        return await _act(info, id, Action.REQUEST_REVIEW, reason=reason)

    @strawberry.mutation(description="The reviewing body's decision.")
    async def record_review_decision(
        self, info: NodeInfo, id: CaseId, outcome: ReviewOutcome, text: str
    ) -> Case:
        return await _act(
            info, id, Action.RECORD_REVIEW_DECISION, review_outcome=outcome, text=text
        )

    @strawberry.mutation(description="复核 requested within 30 days of the review decision.")
    async def request_final_review(self, info: NodeInfo, id: CaseId, reason: str) -> Case:
        return await _act(info, id, Action.REQUEST_FINAL_REVIEW, reason=reason)

    @strawberry.mutation(description="Days spent in a hearing, not counted in the final review.")
    async def record_hearing(self, info: NodeInfo, id: CaseId, days: int) -> Case:
        return await _act(info, id, Action.RECORD_HEARING, days=days)

    @strawberry.mutation(description="The final review decision: three-tier finality.")
    async def record_final_review_decision(
        self, info: NodeInfo, id: CaseId, outcome: ReviewOutcome, text: str
    ) -> Case:
        return await _act(
            info, id, Action.RECORD_FINAL_REVIEW_DECISION, review_outcome=outcome, text=text
        )

    @strawberry.mutation(
        description="办结: close a replied case once the petitioner is satisfied "
        "or the review window has lapsed."
    )
    async def close_case(self, info: NodeInfo, id: CaseId, counselling: str | None = None) -> Case:
        return await _act(info, id, Action.CLOSE, counselling=counselling)


class NodeSchema(Schema):
    """A tier schema. Errors are reported (and unexpected ones logged, without the request's
    values) by the HTTP view, not by strawberry's logger, which would log personal data."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


def build_schema(
    queries: Iterable[type],
    mutations: Iterable[type],
    extra_types: Iterable[type] = (),
    subscriptions: Iterable[type] = (AlertSubscriptions,),
    *,
    publish_subscription: bool = False,
) -> Schema:
    """A tier's Federation v2 schema from its query, mutation and subscription mixins. Every
    tier manages its own alerts (``AlertMutations``) and streams them (``alertRaised``).

    Federation composes a root ``Subscription`` field from one subgraph only (it cannot be
    ``@shareable``), so only the tier with ``publish_subscription`` prints it in its SDL; the
    others serve it all the same (the gateway relays a subscription to the node holding the
    jurisdiction, whatever its tier: docs/adr/0016)."""
    query = strawberry.type(type("Query", tuple(queries), {}))
    mutation = strawberry.type(type("Mutation", (*mutations, AlertMutations), {}))
    chosen = tuple(subscriptions)
    subscription = strawberry.type(type("Subscription", chosen, {})) if chosen else None
    schema = NodeSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=[Case, Jurisdiction, *extra_types],
        extensions=[ParserCache, ValidationCache],
        # The newest version the ecosystem's composer and @apollo/gateway both read.
        federation_version="2.9",
    )
    share_every_object_type(schema)
    if subscription is not None and not publish_subscription:
        hide_subscription(schema)
    return schema


def hide_subscription(schema: Schema) -> None:
    """Leave ``Subscription`` out of the SDL the schema prints (``_service { sdl }`` and
    ``as_str``), keeping it in the executable schema."""
    sdl = without_subscription(Schema.as_str(schema))
    service = schema._schema.type_map["_Service"]
    service.fields["sdl"].resolve = lambda *_: sdl  # type: ignore[attr-defined]
    schema.as_str = lambda: sdl  # type: ignore[method-assign]


def without_subscription(sdl: str) -> str:
    blocks = sdl.split("\n\n")
    kept = [b for b in blocks if not _subscription_block(b)]
    return "\n\n".join(kept).replace("  subscription: Subscription\n", "")


def _subscription_block(block: str) -> bool:
    lines = [ln for ln in block.splitlines() if not ln.startswith(("  ", '"""')) and ln.strip()]
    return any(ln.startswith("type Subscription") for ln in lines)


def share_every_object_type(schema: Schema) -> None:
    """Mark every object type ``@shareable``, the root types too.

    All four tiers serve the same case engine, so the same types and root fields stand in
    every tier's subgraph and any of them can resolve them; which *node* answers is the key
    router's business (docs/adr/0005-one-engine-four-subgraphs.md). The mark is added to the
    definitions strawberry prints from, so ``_service { sdl }`` carries it too.
    """
    for graphql_type in schema.schema_converter.type_map.values():
        definition = graphql_type.definition
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        if definition.is_input or definition.is_interface:
            continue
        if definition.name == "Subscription":  # a root subscription field cannot be shared
            continue
        directives = list(definition.directives or ())
        if not any(isinstance(d, Shareable) for d in directives):
            definition.directives = [*directives, Shareable()]


__all__ = [
    "CaseMutations",
    "CaseQueries",
    "act_on_case",
    "bad_input",
    "build_schema",
    "loaded_case",
    "petition_input",
]

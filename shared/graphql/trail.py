"""The escalation trail in GraphQL (docs/adr/0014): served by the province node from its trail
index; the gateway resolves each step's case, review and order at the node holding it."""

from __future__ import annotations

import strawberry

from shared.casework import parse_case_id
from shared.errors import DomainError, ErrorCode
from shared.graphql.types import NodeInfo, TrailStep
from shared.matters import province_of
from shared.persistence import trail_records


@strawberry.type
class TrailQueries:
    @strawberry.field(
        description="One petition's whole path across nodes, in time order: where it entered, "
        "every transfer, assignment, reply, review, final review, supervision order and "
        "closure, at which node, by which role, when, and whether each deadline held. Any "
        "case id of the petition's chain gives the same trail. Steps are noted to the "
        "province by message: a step whose notice is still on its way is not shown yet (the "
        "trail shows the steps known so far). CASE_NOT_FOUND: the index never heard of the "
        "case."
    )
    async def escalation_trail(self, info: NodeInfo, case_id: strawberry.ID) -> list[TrailStep]:
        case_id = strawberry.ID(case_id.strip())
        owner, _, _ = parse_case_id(case_id)
        here = info.context.node.code
        if province_of(owner) != here:
            raise DomainError(
                ErrorCode.WRONG_NODE,
                f"the trail of case {case_id} is kept by province {province_of(owner)}, "
                f"not by node {here}",
                field="caseId",
            )
        async with info.context.db.connect() as conn:
            root = await trail_records.chain_root(conn, case_id)
            if root is None:
                raise DomainError(
                    ErrorCode.CASE_NOT_FOUND,
                    f"the trail index has no step of case {case_id}: no such case, or its "
                    "first notice has not arrived yet",
                    field="caseId",
                )
            steps = await trail_records.chain_steps(conn, root, also=[case_id])
        return [TrailStep.of_step(step) for step in steps]

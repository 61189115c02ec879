"""The escalation trail (docs/adr/0014): the steps of one petition across nodes, as the
province's trail index keeps them.

A petition that moves between nodes becomes several cases (a transfer or an assignment
registers a case at the recipient; a skip-level visit is sent down as one). They form a
*chain*, named by its *root*: the id of the case where the petition first entered. Each node
notes every trail-relevant step it takes to the province (``TRAIL_NOTICE``); a step names the
case it concerns and, where the noting node knows it, the chain's root.

A step carries no personal data and no petition content: case id, action, node, the role that
acted, times, the deadline it met, and a note made of codes and division names only.
Pure: what a lifecycle act, a review or a supervision order makes a step; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.deadlines import LIMITS, Bound, DeadlineKind
from shared.divisions import division_tree
from shared.lifecycle import TRANSITIONS, Action, CaseState, Channel, Deadline, Event
from shared.reviews import ReviewLevel


class TrailAction(StrEnum):
    REGISTERED = "REGISTERED"  # 登记: where it entered (or arrived, when routed here)
    ACCEPTED = "ACCEPTED"  # 受理
    NOT_ACCEPTED = "NOT_ACCEPTED"  # 不予受理 / 不再受理, or a competence objection
    REDIRECTED = "REDIRECTED"  # pointed to the legal channel
    TRANSFERRED = "TRANSFERRED"  # 转送
    ASSIGNED = "ASSIGNED"  # 交办
    COMPLETION_REPORTED = "COMPLETION_REPORTED"  # the assignee's report, recorded by the assigner
    REPLIED = "REPLIED"  # 答复 (a mediation agreement too)
    REVIEW_REQUESTED = "REVIEW_REQUESTED"  # 复查, opened at the reviewing node
    REVIEW_DECIDED = "REVIEW_DECIDED"
    FINAL_REVIEW_REQUESTED = "FINAL_REVIEW_REQUESTED"  # 复核
    FINAL_REVIEW_DECIDED = "FINAL_REVIEW_DECIDED"
    SUPERVISION_ORDERED = "SUPERVISION_ORDERED"  # 督办, issued above
    SUPERVISION_REPLIED = "SUPERVISION_REPLIED"  # the owner's written reply
    CLOSED = "CLOSED"  # 办结


class TrailRole(StrEnum):
    """The tier role that acted (shared/roles/ names the desks; these are their functions)."""

    INTAKE = "INTAKE"  # the receiving desk: governance centre, petition bureau, joint reception
    GRID_WORKER = "GRID_WORKER"  # a grid report registered (网格员)
    PETITION_OFFICE = "PETITION_OFFICE"  # 信访工作机构: accepts, refuses, routes, closes
    HANDLER = "HANDLER"  # 办理机关: replies, answers a supervision order
    MEDIATOR = "MEDIATOR"  # 调解: an agreement given as the reply
    REVIEWER = "REVIEWER"  # 复查机关
    FINAL_REVIEWER = "FINAL_REVIEWER"  # 复核机关
    SUPERVISOR = "SUPERVISOR"  # 督办机关


SUPERVISION_REPLY = "SUPERVISION_REPLY"  # the deadline kind of a supervision order's reply

# The owner's lifecycle acts that are steps. Review requests and decisions on the owner's case
# are echoes of the reviewing node's acts, which that node notes itself.
ACT_STEPS: dict[Action, tuple[TrailAction, TrailRole]] = {
    Action.REGISTER: (TrailAction.REGISTERED, TrailRole.INTAKE),
    Action.ACCEPT: (TrailAction.ACCEPTED, TrailRole.PETITION_OFFICE),
    Action.NOT_ACCEPT: (TrailAction.NOT_ACCEPTED, TrailRole.PETITION_OFFICE),
    Action.RAISE_OBJECTION: (TrailAction.NOT_ACCEPTED, TrailRole.PETITION_OFFICE),
    Action.REDIRECT: (TrailAction.REDIRECTED, TrailRole.PETITION_OFFICE),
    Action.TRANSFER: (TrailAction.TRANSFERRED, TrailRole.PETITION_OFFICE),
    Action.ASSIGN: (TrailAction.ASSIGNED, TrailRole.PETITION_OFFICE),
    Action.RECORD_COMPLETION_REPORT: (TrailAction.COMPLETION_REPORTED, TrailRole.PETITION_OFFICE),
    Action.REPLY: (TrailAction.REPLIED, TrailRole.HANDLER),
    Action.SETTLE_BY_MEDIATION: (TrailAction.REPLIED, TrailRole.MEDIATOR),
    Action.CLOSE: (TrailAction.CLOSED, TrailRole.PETITION_OFFICE),
}
REVIEW_STEPS = {
    ReviewLevel.REVIEW: (
        TrailAction.REVIEW_REQUESTED,
        TrailAction.REVIEW_DECIDED,
        TrailRole.REVIEWER,
    ),
    ReviewLevel.FINAL_REVIEW: (
        TrailAction.FINAL_REVIEW_REQUESTED,
        TrailAction.FINAL_REVIEW_DECIDED,
        TrailRole.FINAL_REVIEWER,
    ),
}
REVIEW_DEADLINE = {
    ReviewLevel.REVIEW: DeadlineKind.REVIEW_DECISION,
    ReviewLevel.FINAL_REVIEW: DeadlineKind.FINAL_REVIEW_DECISION,
}


@dataclass(frozen=True)
class MetDeadline:
    """A deadline a step met: held when met strictly before it was due."""

    kind: str  # a DeadlineKind, or SUPERVISION_REPLY
    due: datetime
    met_at: datetime

    @property
    def held(self) -> bool:
        return self.met_at < self.due


@dataclass(frozen=True)
class Step:
    key: str  # unique per step: a notice delivered twice, or written twice, is one step
    case_id: str  # the case the step concerns (at its owner)
    root: str | None  # the chain's root, when the noting node knows it
    node: str  # where the step happened
    action: TrailAction
    role: TrailRole
    at: datetime
    review_id: str | None = None
    order_id: str | None = None
    deadline: MetDeadline | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = self.deadline
        return {
            "key": self.key,
            "caseId": self.case_id,
            "root": self.root,
            "node": self.node,
            "action": self.action.value,
            "role": self.role.value,
            "at": self.at.isoformat(),
            "reviewId": self.review_id,
            "orderId": self.order_id,
            "deadline": None
            if d is None
            else {"kind": d.kind, "due": d.due.isoformat(), "metAt": d.met_at.isoformat()},
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        d = data.get("deadline")
        return cls(
            key=str(data["key"]),
            case_id=str(data["caseId"]),
            root=str(data["root"]) if data.get("root") else None,
            node=str(data["node"]),
            action=TrailAction(str(data["action"])),
            role=TrailRole(str(data["role"])),
            at=datetime.fromisoformat(str(data["at"])),
            review_id=str(data["reviewId"]) if data.get("reviewId") else None,
            order_id=str(data["orderId"]) if data.get("orderId") else None,
            deadline=None
            if not d
            else MetDeadline(
                str(d["kind"]),
                datetime.fromisoformat(str(d["due"])),
                datetime.fromisoformat(str(d["metAt"])),
            ),
            note=str(data["note"]) if data.get("note") else None,
        )


def _named(code: str) -> str:
    tree = division_tree()
    return f"{tree.name(code)} ({code})" if tree.exists(code) else code


def met_deadline(before: CaseState | None, after: CaseState) -> MetDeadline | None:
    """The deadline an act met: one of the handling body's first (ACCEPTANCE before the
    OBJECTION option it also closes), else a petitioner's window."""
    met = []
    for kind, deadline in after.deadlines.items():
        earlier = before.deadlines.get(kind) if before is not None else None
        if deadline.met_at is not None and (earlier is None or earlier.met_at is None):
            met.append(deadline)
    return _chosen(met)


def met_by(event: Event, deadlines: Iterable[Deadline]) -> MetDeadline | None:
    """``met_deadline`` read from a case's deadline rows as its last act left them (one per
    kind): those the act's transition meets, met at the act's time (the bulk path)."""
    meets = TRANSITIONS[event.command.action].meets
    at = event.command.at
    return _chosen([d for d in deadlines if d.kind in meets and d.met_at == at])


def _chosen(met: list[Deadline]) -> MetDeadline | None:
    if not met:
        return None

    def rank(kind: DeadlineKind) -> int:
        bound = LIMITS[kind].bound if kind in LIMITS else Bound.BODY
        return 0 if bound is Bound.BODY else 1

    chosen = min(met, key=lambda d: rank(d.kind))
    assert chosen.met_at is not None
    return MetDeadline(chosen.kind.value, chosen.due, chosen.met_at)


def act_step(
    node: str,
    case_id: str,
    root: str,
    event: Event,
    met: MetDeadline | None,
    *,
    note: str | None = None,
) -> Step | None:
    """The step a lifecycle act on ``case_id`` is, or None when it is not one."""
    command = event.command
    found = ACT_STEPS.get(command.action)
    if found is None:
        return None
    action, role = found
    if command.action is Action.REGISTER and command.channel is Channel.GRID_REPORT:
        role = TrailRole.GRID_WORKER
    if note is None:
        note = _act_note(event)
    return Step(
        key=f"{case_id}/{event.seq}",
        case_id=case_id,
        root=root,
        node=node,
        action=action,
        role=role,
        at=command.at,
        deadline=met,
        note=note,
    )


def _act_note(event: Event) -> str | None:
    command = event.command
    action = command.action
    if action is Action.REGISTER:
        came = f", received from {_named(command.received_from)}" if command.received_from else ""
        return f"{command.channel.value if command.channel else ''}{came}"
    if action is Action.TRANSFER and command.target:
        return f"to {_named(command.target)}"
    if action is Action.ASSIGN and command.target:
        due = f", report due {command.due_date.isoformat()}" if command.due_date else ""
        return f"to {_named(command.target)}{due}"
    if action is Action.REDIRECT and command.legal_channel:
        return command.legal_channel.value
    if action is Action.REPLY and command.outcome:
        return command.outcome.value
    if action is Action.SETTLE_BY_MEDIATION:
        return "mediation agreement"
    if action is Action.RAISE_OBJECTION:
        return "competence objection"
    return None


def review_requested(
    node: str, review_id: str, level: ReviewLevel, case_id: str, at: datetime, root: str | None
) -> Step:
    action, _, role = REVIEW_STEPS[level]
    return Step(
        key=f"{review_id}/requested",
        case_id=case_id,
        root=root,
        node=node,
        action=action,
        role=role,
        at=at,
        review_id=review_id,
    )


def review_decided(
    node: str,
    review_id: str,
    level: ReviewLevel,
    case_id: str,
    at: datetime,
    due: datetime | None,
    outcome: str,
    root: str | None,
) -> Step:
    _, action, role = REVIEW_STEPS[level]
    return Step(
        key=f"{review_id}/decided",
        case_id=case_id,
        root=root,
        node=node,
        action=action,
        role=role,
        at=at,
        review_id=review_id,
        deadline=MetDeadline(REVIEW_DEADLINE[level].value, due, at) if due else None,
        note=outcome,
    )


def order_issued(
    node: str, order_id: str, case_id: str, at: datetime, severity: str, flagged: bool
) -> Step:
    return Step(
        key=f"{order_id}/issued",
        case_id=case_id,
        root=None,  # the issuer does not know the chain: the province places it by the case
        node=node,
        action=TrailAction.SUPERVISION_ORDERED,
        role=TrailRole.SUPERVISOR,
        at=at,
        order_id=order_id,
        note=f"{severity}{', flagged (挂牌督办)' if flagged else ''}",
    )


def order_replied(
    node: str, order_id: str, case_id: str, at: datetime, due: datetime, root: str | None
) -> Step:
    return Step(
        key=f"{order_id}/replied",
        case_id=case_id,
        root=root,
        node=node,
        action=TrailAction.SUPERVISION_REPLIED,
        role=TrailRole.HANDLER,
        at=at,
        order_id=order_id,
        deadline=MetDeadline(SUPERVISION_REPLY, due, at),
    )

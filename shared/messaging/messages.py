"""What nodes say to each other. A message is written with the act that causes it, in one
transaction (the outbox); its id, chosen by the sender, makes applying it idempotent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class MessageKind(StrEnum):
    TRANSFER = "TRANSFER"  # 转送: the matter now belongs to the recipient
    ASSIGNMENT = "ASSIGNMENT"  # 交办: handle it and report back by a date
    COMPLETION_REPORT = "COMPLETION_REPORT"  # the assignee's report to the assigner
    RECORD_CREATED = "RECORD_CREATED"  # the recipient's id for the record a message created
    REVIEW_REQUEST = "REVIEW_REQUEST"  # reviewer → owner: the petitioner asked for a review
    REVIEW_OPENED = "REVIEW_OPENED"  # owner → reviewer: in time; here is the matter
    REVIEW_REFUSED = "REVIEW_REFUSED"  # owner → reviewer: the record does not allow it
    REVIEW_DECISION = "REVIEW_DECISION"  # reviewer → owner
    HEARING_RECORDED = "HEARING_RECORDED"  # final reviewer → owner: days not counted
    SUPERVISION_ORDER = "SUPERVISION_ORDER"  # 督办: a higher node → the case's owner
    SUPERVISION_REPLY = "SUPERVISION_REPLY"  # the owner's written reply
    MATTER_NOTICE = "MATTER_NOTICE"  # any node → province: where a matter is, how far it got
    MATTER_CHECKED = "MATTER_CHECKED"  # province → node: the index's late answer for a case
    SKIP_LEVEL_VISIT = "SKIP_LEVEL_VISIT"  # higher node → competent node: counted, sent down
    STATISTICS_REPORT = "STATISTICS_REPORT"  # a node's figures for a period → the province
    TRAIL_NOTICE = "TRAIL_NOTICE"  # any node → province: one step of a petition's trail
    SUBTREE_FIGURES = "SUBTREE_FIGURES"  # a node's subtree figures per day → its parent
    ALERT = "ALERT"  # an alert raised or changed at a node → every ancestor (newest wins)


@dataclass(frozen=True)
class Message:
    id: str
    sender: str
    recipient: str
    kind: MessageKind
    payload: dict[str, Any]
    created_at: datetime
    trace_context: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sender": self.sender,
            "recipient": self.recipient,
            "kind": self.kind.value,
            "payload": self.payload,
            "createdAt": self.created_at.isoformat(),
            "traceContext": self.trace_context,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        return cls(
            id=str(data["id"]),
            sender=str(data["sender"]),
            recipient=str(data["recipient"]),
            kind=MessageKind(data["kind"]),
            payload=dict(data["payload"]),
            created_at=datetime.fromisoformat(data["createdAt"]),
            trace_context={str(k): str(v) for k, v in dict(data.get("traceContext", {})).items()},
        )


def new_message_id(sender: str) -> str:
    return f"{sender}-M-{uuid.uuid4().hex}"

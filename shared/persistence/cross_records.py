"""The records a seeded case leaves at other nodes, as the message flows would leave them.

Every case with a matter key is announced to its province's matter index (docs/adr/0009):
one ``MATTER_NOTICE`` at registration and one per change of status or finality, delivered and
applied, and the index row the last one leaves (the province's own cases are written to the
index directly, as the act does). A review is held by the node one tier up and a supervision
order is issued by the owner's city (or the province). At the owner: the case's acts (brought
by the relay, planned in shared.seed), the case link to the remote record, the messages it
received (inbox) and sent (outbox, delivered). At the other node: the review or order with the
same ids, its messages and its counters. Remote ids are numbered in loading order, not strictly
by date across owners.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.deadlines import DeadlineKind, local_date
from shared.divisions import Tier, tier_of
from shared.errors import DomainError
from shared.holidays import HolidayCalendar
from shared.lifecycle import Action, CaseStatus, Event
from shared.matters import MatterEntry, province_of
from shared.messaging.inbox import APPLIED
from shared.messaging.messages import MessageKind, new_message_id
from shared.persistence.bulk import Lived, Rows
from shared.persistence.links import LinkKind
from shared.persistence.trail_records import CHAIN_COLUMNS, STEP_COLUMNS, step_row
from shared.reviews import ID_MARK, ReviewLevel, ReviewStatus, decision_due, reviewer_for
from shared.supervision import OrderStatus, check_issuer, default_levels, reply_due
from shared.trail import (
    Step,
    act_step,
    met_by,
    order_issued,
    order_replied,
    review_decided,
    review_requested,
)

OUTBOX = (
    "id",
    "recipient",
    "kind",
    "payload",
    "trace_context",
    "created_at",
    "next_attempt_at",
    "attempts",
    "delivered_at",
    "last_error",
)
INBOX = ("message_id", "sender", "kind", "received_at", "outcome", "detail")
LINKS = ("case_id", "seq", "kind", "remote_node", "remote_id", "at", "message_id")
REVIEWS = (
    "id",
    "level",
    "case_id",
    "case_node",
    "status",
    "reason",
    "requested_at",
    "requested_by",
    "opened_at",
    "due",
    "hearing_days",
    "decided_at",
    "outcome",
    "decision_text",
    "refusal",
    "case_snapshot",
    "request_message_id",
    "version",
)
ORDER = (
    "id",
    "case_id",
    "severity",
    "flagged",
    "text",
    "issued_at",
    "due",
    "status",
    "reply_text",
    "replied_at",
    "version",
)
COUNTER = ("year", "last_seq")
MATTER_INDEX = (
    "case_id",
    "matter_key",
    "node",
    "status",
    "final",
    "registered_at",
    "final_at",
    "version",
    "updated_at",
)

SUPERVISED = 0.01  # of accepted cases: a supervision order from above
SUPERVISED_BACKLOG = 0.8  # of cases past their handling deadline without a reply
REPLIED_ORDER = 0.9
ACTOR = "seed"
REQUEST = {Action.REQUEST_REVIEW: ReviewLevel.REVIEW}
REQUEST[Action.REQUEST_FINAL_REVIEW] = ReviewLevel.FINAL_REVIEW
DECISION = {
    Action.RECORD_REVIEW_DECISION: ReviewLevel.REVIEW,
    Action.RECORD_FINAL_REVIEW_DECISION: ReviewLevel.FINAL_REVIEW,
}
LINK_OF = {
    ReviewLevel.REVIEW: LinkKind.REVIEWED_AT,
    ReviewLevel.FINAL_REVIEW: LinkKind.FINAL_REVIEWED_AT,
}


@dataclass
class _Link:
    at: datetime
    kind: LinkKind
    remote_node: str
    remote_id: str
    message_id: str


def _review_outcome_before(events: tuple[Event, ...], request: Event) -> str | None:
    """The review's outcome the case had when ``request`` was made (a final review's)."""
    outcome = None
    for event in events:
        if event is request:
            break
        if event.command.review_outcome is not None:
            outcome = event.command.review_outcome.value
    return outcome


class SeededTrails:
    """The trail index rows seeded cases leave at their province (docs/adr/0014): each step
    its notice would have written, straight into the index (bulk: no message rows)."""

    def __init__(self, indexes: set[str], pending: dict[str, Rows] | None = None) -> None:
        self.indexes = indexes
        self.pending: dict[str, Rows] = pending if pending is not None else defaultdict(Rows)
        self.steps = 0

    def on_case(self, owner: str, case_id: str, case: Lived, rows: Rows) -> None:
        """The case's own acts (bulk.CrossNode); its root is itself (seeds route nothing)."""
        province = province_of(owner)
        if province not in self.indexes:
            return
        self.pending[province].add("trail_chains", CHAIN_COLUMNS, (case_id, case_id))
        for event in case.events:
            step = act_step(owner, case_id, case_id, event, met_by(event, case.deadlines))
            if step is not None:
                self.add(step)

    def add(self, step: Step) -> None:
        province = province_of(step.case_id.split("-", 1)[0])
        if province in self.indexes:
            row = step_row(step, message_id=None, now=step.at)
            self.pending[province].add("trail_steps", STEP_COLUMNS, row)
            self.steps += 1

    def finish(self) -> dict[str, Rows]:
        pending, self.pending = dict(self.pending), defaultdict(Rows)
        return pending


class CrossRecords:
    """Collects, case by case, the rows a case leaves at other nodes (kept until ``finish``)
    and adds the owner's side to the owner's rows (bulk.CrossNode)."""

    def __init__(
        self,
        peers: set[str],
        *,
        now: datetime,
        calendar: HolidayCalendar,
        seed: int,
        indexes: set[str] | None = None,
    ):
        self.peers = peers
        self.indexes = indexes if indexes is not None else {p for p in peers if province_of(p) == p}
        self.now = now
        self.calendar = calendar
        self.rng = random.Random(f"{seed}:cross-node")
        self.pending: dict[str, Rows] = defaultdict(Rows)
        self.counters: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
        self.levels = default_levels()
        self.reviews = 0
        self.orders = 0
        self.notices = 0
        self.trails = SeededTrails(self.indexes, self.pending)

    # -- numbering and messages ---------------------------------------------------------------

    def _next(self, node: str, table: str, at: datetime) -> tuple[int, int]:
        year = local_date(at).year
        counter = self.counters[(node, table)]
        seq = counter[year] = counter.get(year, 0) + 1
        return year, seq

    def _message(
        self,
        sender: str,
        recipient: str,
        kind: MessageKind,
        payload: dict[str, Any],
        at: datetime,
        sender_rows: Rows,
        recipient_rows: Rows,
    ) -> str:
        """A message as relay and inbox leave it: delivered once, applied once."""
        message_id = new_message_id(sender)
        body = json.dumps(payload, ensure_ascii=False)
        sender_rows.add(
            "outbox",
            OUTBOX,
            (message_id, recipient, kind.value, body, "{}", at, at, 1, at, None),
        )
        recipient_rows.add("inbox", INBOX, (message_id, sender, kind.value, at, APPLIED, None))
        return message_id

    # -- per case -----------------------------------------------------------------------------

    def on_case(self, owner: str, case_id: str, case: Lived, rows: Rows) -> None:
        self._announce(owner, case_id, case, rows)
        self.trails.on_case(owner, case_id, case, rows)
        links: list[_Link] = []
        self._reviews(owner, case_id, case, rows, links)
        self._supervision(owner, case_id, case, rows, links)
        for seq, link in enumerate(sorted(links, key=lambda k: k.at), start=1):
            rows.add(
                "case_links",
                LINKS,
                (
                    case_id,
                    seq,
                    link.kind.value,
                    link.remote_node,
                    link.remote_id,
                    link.at,
                    link.message_id,
                ),
            )

    def _announce(self, owner: str, case_id: str, case: Lived, rows: Rows) -> None:
        """The notices ``matter_flows`` sends for the case, and the index row they leave."""
        matter_key = case.matter_key
        province = province_of(owner)
        if matter_key is None or province not in self.indexes:
            return
        theirs = self.pending[province]
        registered_at = case.state.registered_at
        final = False
        final_at: datetime | None = None
        status: CaseStatus | None = None
        last = (0, registered_at)
        for event in case.events:
            became_final = event.command.action is Action.RECORD_FINAL_REVIEW_DECISION
            if event.to_status is status and not became_final:
                continue
            status = event.to_status
            at = event.command.at
            final = final or became_final
            if became_final:
                final_at = at
            entry = MatterEntry(
                case_id, owner, status, final, registered_at, at if became_final else None
            )
            if owner != province:
                payload = {
                    "matterKey": matter_key,
                    "entry": entry.to_json(),
                    "version": event.seq,
                    "check": False,
                    "origin": None,
                }
                self._message(owner, province, MessageKind.MATTER_NOTICE, payload, at, rows, theirs)
                self.notices += 1
            last = (event.seq, at)
        version, updated_at = last
        theirs.add(
            "matter_index",
            MATTER_INDEX,
            (
                case_id,
                matter_key,
                owner,
                case.state.status.value,  # the last notice's
                final,
                registered_at,
                final_at,
                version,
                updated_at,
            ),
        )

    def _reviews(
        self, owner: str, case_id: str, case: Lived, rows: Rows, links: list[_Link]
    ) -> None:
        events = case.events
        for i, event in enumerate(events):
            level = REQUEST.get(event.command.action)
            if level is None:
                continue
            reviewer = reviewer_for(owner, level)
            if reviewer is None or reviewer not in self.peers:
                continue
            decision = next(
                (e for e in events[i + 1 :] if DECISION.get(e.command.action) is level), None
            )
            links.append(self._review(owner, case_id, case, level, reviewer, event, decision, rows))

    def _review(
        self,
        owner: str,
        case_id: str,
        case: Lived,
        level: ReviewLevel,
        reviewer: str,
        request: Event,
        decision: Event | None,
        rows: Rows,
    ) -> _Link:
        at = request.command.at
        year, seq = self._next(reviewer, "review_counters", at)
        review_id = f"{reviewer}-{ID_MARK[level]}-{year}-{seq:06d}"
        theirs = self.pending[reviewer]
        reason = request.command.reason or ""
        asked = self._message(
            reviewer,
            owner,
            MessageKind.REVIEW_REQUEST,
            {
                "caseId": case_id,
                "reviewId": review_id,
                "level": level.value,
                "reason": reason,
                "requestedAt": at.isoformat(),
            },
            at,
            theirs,
            rows,
        )
        p = case.petition
        snapshot = {
            "caseId": case_id,
            "channel": p.channel.value,
            "category": p.category,
            "summary": p.summary,
            "issueLocality": p.issue_locality_code,
            "personCount": p.person_count,
            "registeredAt": case.state.registered_at.isoformat(),
            "petitioner": None,
            "status": request.to_status.value,
            "outcome": case.state.outcome.value if case.state.outcome else None,
            "reviewOutcome": _review_outcome_before(case.events, request),
        }
        self._message(
            owner,
            reviewer,
            MessageKind.REVIEW_OPENED,
            {"reviewId": review_id, "openedAt": at.isoformat(), "case": snapshot},
            at,
            rows,
            theirs,
        )
        status, decided_at, outcome, decision_text, version = ReviewStatus.OPEN, None, None, None, 2
        if decision is not None:
            command = decision.command
            decided_at, decision_text = command.at, command.text
            outcome = command.review_outcome.value if command.review_outcome else None
            status, version = ReviewStatus.DECIDED, 3
            self._message(
                reviewer,
                owner,
                MessageKind.REVIEW_DECISION,
                {
                    "caseId": case_id,
                    "reviewId": review_id,
                    "level": level.value,
                    "outcome": outcome,
                    "text": decision_text,
                    "decidedBy": ACTOR,
                },
                command.at,
                theirs,
                rows,
            )
        theirs.add(
            "reviews",
            REVIEWS,
            (
                review_id,
                level.value,
                case_id,
                owner,
                status.value,
                reason,
                at,
                ACTOR,
                at,
                decision_due(level, at, 0, self.calendar),
                0,
                decided_at,
                outcome,
                decision_text,
                None,
                json.dumps(snapshot, ensure_ascii=False),
                asked,
                version,
            ),
        )
        self.reviews += 1
        self.trails.add(review_requested(reviewer, review_id, level, case_id, at, case_id))
        if decision is not None and outcome is not None:
            self.trails.add(
                review_decided(
                    reviewer,
                    review_id,
                    level,
                    case_id,
                    decision.command.at,
                    decision_due(level, at, 0, self.calendar),
                    outcome,
                    case_id,
                )
            )
        return _Link(at, LINK_OF[level], reviewer, review_id, asked)

    def _issuer(self, owner: str) -> str | None:
        tier = tier_of(owner)
        for candidate in (
            (owner[:4], owner[:2]) if tier in (Tier.COUNTY, Tier.TOWNSHIP) else (owner[:2],)
        ):
            if candidate in self.peers and candidate != owner:
                try:
                    check_issuer(candidate, owner)
                except DomainError:
                    continue
                return candidate
        return None

    def _supervision(
        self, owner: str, case_id: str, case: Lived, rows: Rows, links: list[_Link]
    ) -> None:
        accepted = next((e for e in case.events if e.command.action is Action.ACCEPT), None)
        if accepted is None or tier_of(owner) is Tier.PROVINCE:
            return
        handling = next((d for d in case.deadlines if d.kind is DeadlineKind.HANDLING), None)
        backlog = handling is not None and handling.met_at is None and handling.due <= self.now
        rng = self.rng
        if backlog and rng.random() < SUPERVISED_BACKLOG:
            assert handling is not None
            issued = handling.due + timedelta(days=rng.randint(1, 10), hours=2)
        elif rng.random() < SUPERVISED:
            issued = accepted.command.at + timedelta(days=rng.randint(5, 25), hours=3)
        else:
            return
        issuer = self._issuer(owner)
        if issuer is None or issued >= self.now:
            return
        level = self.levels.get(rng.choices(["BLUE", "YELLOW", "RED"], [6, 3, 1])[0])
        due = reply_due(level, issued, None, self.calendar)
        year, seq = self._next(issuer, "supervision_counters", issued)
        order_id = f"{issuer}-SO-{year}-{seq:06d}"
        flagged = rng.random() < 0.1
        order_text = "请于期限内书面报告办理情况"
        theirs = self.pending[issuer]
        sent = self._message(
            issuer,
            owner,
            MessageKind.SUPERVISION_ORDER,
            {
                "orderId": order_id,
                "caseId": case_id,
                "severity": level.code,
                "flagged": flagged,
                "text": order_text,
                "issuedAt": issued.isoformat(),
                "due": due.isoformat(),
            },
            issued,
            theirs,
            rows,
        )
        replied = issued + timedelta(days=rng.randint(1, level.reply_days), hours=1)
        answer: tuple[Any, ...] = (OrderStatus.ISSUED.value, None, None, 1)
        self.trails.add(order_issued(issuer, order_id, case_id, issued, level.code, flagged))
        if replied < self.now and rng.random() < REPLIED_ORDER:
            self.trails.add(order_replied(owner, order_id, case_id, replied, due, case_id))
            reply_text = "已组织核查，现将办理情况报告如下"
            answer = (OrderStatus.REPLIED.value, reply_text, replied, 2)
            self._message(
                owner,
                issuer,
                MessageKind.SUPERVISION_REPLY,
                {"orderId": order_id, "text": reply_text, "repliedAt": replied.isoformat()},
                replied,
                rows,
                theirs,
            )
        common = (order_id, case_id, level.code, flagged, order_text, issued, due)
        theirs.add(
            "supervision_orders",
            (*ORDER, "case_node", "issued_by"),
            (*common, answer[0], answer[1], answer[2], answer[3], owner, ACTOR),
        )
        rows.add(
            "supervision_received",
            (*ORDER, "issuer"),
            (*common, answer[0], answer[1], answer[2], answer[3], issuer),
        )
        links.append(_Link(issued, LinkKind.SUPERVISED_BY, issuer, order_id, sent))
        self.orders += 1

    def finish(self) -> dict[str, Rows]:
        """The rows still to write, by node, counters included."""
        for (node, table), years in self.counters.items():
            for year, seq in sorted(years.items()):
                self.pending[node].add(table, COUNTER, (year, seq))
        pending, self.pending = dict(self.pending), defaultdict(Rows)
        return pending

"""Between the engine's values and their stored form (rows, JSON payloads of events)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from shared.deadlines import DeadlineKind
from shared.lifecycle import (
    Action,
    CaseState,
    CaseStatus,
    Channel,
    Command,
    Deadline,
    Event,
    LegalChannel,
    ReplyOutcome,
    ReviewOutcome,
    Satisfaction,
)

_ENUMS: dict[str, type[StrEnum]] = {
    "channel": Channel,
    "legal_channel": LegalChannel,
    "outcome": ReplyOutcome,
    "review_outcome": ReviewOutcome,
    "rating": Satisfaction,
}
_DATETIMES = {"delivered_at"}
_DATES = {"due_date"}
_HEAD = {"action", "at", "actor"}


def command_payload(command: Command) -> dict[str, Any]:
    """The fields of a command beyond action/at/actor, as JSON (defaults left out)."""
    payload: dict[str, Any] = {}
    for f in fields(Command):
        if f.name in _HEAD:
            continue
        value = getattr(command, f.name)
        if value is None or value is False:
            continue
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        payload[f.name] = value
    return payload


def command_from_row(action: str, at: datetime, actor: str, payload: Mapping[str, Any]) -> Command:
    values: dict[str, Any] = {}
    for name, value in payload.items():
        if name in _ENUMS:
            values[name] = _ENUMS[name](value)
        elif name in _DATETIMES:
            values[name] = datetime.fromisoformat(value)
        elif name in _DATES:
            values[name] = date.fromisoformat(value)
        else:
            values[name] = value
    return Command(action=Action(action), at=at, actor=actor, **values)


def event_from_row(row: Mapping[Any, Any]) -> Event:
    command = command_from_row(row["action"], row["at"], row["actor"], row["payload"])
    from_status = CaseStatus(row["from_status"]) if row["from_status"] else None
    return Event(row["seq"], command, from_status, CaseStatus(row["to_status"]))


def event_row(case_id: str, event: Event) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "seq": event.seq,
        "at": event.command.at,
        "actor": event.command.actor,
        "action": event.command.action.value,
        "from_status": event.from_status.value if event.from_status else None,
        "to_status": event.to_status.value,
        "payload": command_payload(event.command),
    }


def deadline_from_row(row: Mapping[Any, Any]) -> Deadline:
    return Deadline(
        kind=DeadlineKind(row["kind"]),
        started_at=row["started_at"],
        due=row["due"],
        met_at=row["met_at"],
        extra_days=row["extra_days"],
    )


def deadline_row(case_id: str, deadline: Deadline) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "kind": deadline.kind.value,
        "started_at": deadline.started_at,
        "due": deadline.due,
        "met_at": deadline.met_at,
        "extra_days": deadline.extra_days,
    }


def _opt(enum: type[StrEnum], value: str | None) -> Any:
    return enum(value) if value is not None else None


def state_from_row(row: Mapping[Any, Any], deadlines: Iterable[Deadline]) -> CaseState:
    return CaseState(
        status=CaseStatus(row["status"]),
        registered_at=row["registered_at"],
        channel=Channel(row["channel"]),
        last_at=row["last_at"],
        version=row["version"],
        deadlines={d.kind: d for d in deadlines},
        routed_to=row["routed_to"],
        received_from=row["received_from"],
        handling_extended=row["handling_extended"],
        outcome=_opt(ReplyOutcome, row["outcome"]),
        rating=_opt(Satisfaction, row["rating"]),
        review_outcome=_opt(ReviewOutcome, row["review_outcome"]),
        final=row["final"],
        notified_on_spot=row["notified_on_spot"],
        counselled=row["counselled"],
    )


def state_columns(state: CaseState) -> dict[str, Any]:
    """The columns of ``cases`` that cache the engine's state."""
    return {
        "status": state.status.value,
        "last_at": state.last_at,
        "version": state.version,
        "routed_to": state.routed_to,
        "received_from": state.received_from,
        "handling_extended": state.handling_extended,
        "outcome": state.outcome.value if state.outcome else None,
        "rating": state.rating.value if state.rating else None,
        "review_outcome": state.review_outcome.value if state.review_outcome else None,
        "final": state.final,
        "notified_on_spot": state.notified_on_spot,
        "counselled": state.counselled,
    }

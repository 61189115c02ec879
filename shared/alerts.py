"""Early warning (预警研判): the alerts a node raises over its own data. Pure rules, no I/O.

Each rule looks at facts the node holds and returns alerts; an alert's ``key`` names what it is
about (the case and deadline, the category and day), so evaluating again gives the same keys
and the caller can store alerts idempotently and resolve those that no longer fire.

Kinds:
- ``DEADLINE_APPROACHING``: an obligation of the body (acceptance, handling, review decision,
  supervision reply, …) falls due within its lead time;
- ``OVERDUE``: such an obligation has passed unmet;
- ``SURGE``: today's count in one category or one place is a surge against the node's own
  history (``shared.surge``);
- ``COLLECTIVE_VISIT``: a collective visit (集体访) was registered;
- ``REPEAT_PETITIONER``: a petitioner raised the same matter again (重复访);
- ``SECOND_REVIEW``: a matter reached its final review (复核), the last step before finality.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.surge import SurgeFinding, SurgeTest, detect_surge

__all__ = [
    "Alert",
    "AlertKind",
    "AlertSettings",
    "AlertState",
    "CaseFacts",
    "DueItem",
    "Severity",
    "case_alerts",
    "due_item_alerts",
    "reconcile",
    "surge_alerts",
]

COLLECTIVE_MIN_PERSONS = 5  # 集体访: five or more people on one matter


class AlertKind(StrEnum):
    DEADLINE_APPROACHING = "DEADLINE_APPROACHING"
    OVERDUE = "OVERDUE"
    SURGE = "SURGE"
    COLLECTIVE_VISIT = "COLLECTIVE_VISIT"
    REPEAT_PETITIONER = "REPEAT_PETITIONER"
    SECOND_REVIEW = "SECOND_REVIEW"


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    SEVERE = "SEVERE"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class AlertState(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"  # a person has seen it and owns it
    RESOLVED = "RESOLVED"  # the condition cleared, or a person closed it


@dataclass(frozen=True)
class Alert:
    key: str
    kind: AlertKind
    severity: Severity
    node: str
    raised_at: datetime
    summary: str
    case_id: str | None = None
    category: str | None = None
    locality: str | None = None
    due: datetime | None = None


@dataclass(frozen=True)
class DueItem:
    """An obligation of this node with a due instant: a case deadline, a supervision reply."""

    kind: str  # e.g. "ACCEPTANCE", "HANDLING", "SUPERVISION_REPLY"
    subject: str  # the record it belongs to (a case id, a supervision order id)
    due: datetime
    case_id: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class CaseFacts:
    id: str
    node: str
    category: str
    issue_locality: str
    channel: str
    person_count: int
    registered_at: datetime
    repeat_of: str | None = None
    final_review_requested_at: datetime | None = None


@dataclass(frozen=True)
class AlertSettings:
    """What to warn about and how loudly. Lead times per kind; ``default_lead`` otherwise."""

    default_lead: timedelta = timedelta(days=3)
    lead: Mapping[str, timedelta] = field(
        default_factory=lambda: {
            "ACCEPTANCE": timedelta(days=3),
            "HANDLING": timedelta(days=7),
            "ASSIGNMENT": timedelta(days=3),
            "REVIEW_DECISION": timedelta(days=5),
            "FINAL_REVIEW_DECISION": timedelta(days=5),
            "SUPERVISION_REPLY": timedelta(days=2),
            "FAST_TRACK_MEETING": timedelta(days=1),
            "FAST_TRACK_FACTS": timedelta(days=1),
            "FAST_TRACK_REPLY": timedelta(days=2),
        }
    )
    overdue_critical_after: timedelta = timedelta(days=30)
    collective_critical_persons: int = 50
    surge: SurgeTest = field(default_factory=SurgeTest)

    def lead_for(self, kind: str) -> timedelta:
        return self.lead.get(kind, self.default_lead)


def due_item_alerts(
    node: str, items: Iterable[DueItem], now: datetime, settings: AlertSettings
) -> list[Alert]:
    """Open obligations: overdue once past due, approaching within their lead time."""
    alerts = []
    for item in items:
        base = f"{item.subject}:{item.kind}:{item.due.isoformat()}"
        if now >= item.due:
            late = now - item.due
            severity = (
                Severity.CRITICAL if late >= settings.overdue_critical_after else Severity.SEVERE
            )
            alerts.append(
                Alert(
                    key=f"{AlertKind.OVERDUE}:{base}",
                    kind=AlertKind.OVERDUE,
                    severity=severity,
                    node=node,
                    raised_at=item.due,
                    summary=f"{item.kind} overdue by {late.days} days",
                    case_id=item.case_id,
                    category=item.category,
                    due=item.due,
                )
            )
        elif item.due - now <= settings.lead_for(item.kind):
            alerts.append(
                Alert(
                    key=f"{AlertKind.DEADLINE_APPROACHING}:{base}",
                    kind=AlertKind.DEADLINE_APPROACHING,
                    severity=Severity.WARNING,
                    node=node,
                    raised_at=item.due - settings.lead_for(item.kind),
                    summary=f"{item.kind} due {item.due.isoformat()}",
                    case_id=item.case_id,
                    category=item.category,
                    due=item.due,
                )
            )
    return alerts


def case_alerts(case: CaseFacts, settings: AlertSettings) -> list[Alert]:
    """What registering (or re-reviewing) one case should tell the leaders."""

    def about_case(kind: AlertKind, severity: Severity, at: datetime, summary: str) -> Alert:
        return Alert(
            key=f"{kind}:{case.id}",
            kind=kind,
            severity=severity,
            node=case.node,
            raised_at=at,
            summary=summary,
            case_id=case.id,
            category=case.category,
            locality=case.issue_locality,
        )

    alerts = []
    if case.channel == "VISIT" and case.person_count >= COLLECTIVE_MIN_PERSONS:
        large = case.person_count >= settings.collective_critical_persons
        alerts.append(
            about_case(
                AlertKind.COLLECTIVE_VISIT,
                Severity.CRITICAL if large else Severity.SEVERE,
                case.registered_at,
                f"collective visit of {case.person_count} persons",
            )
        )
    if case.repeat_of is not None:
        alerts.append(
            about_case(
                AlertKind.REPEAT_PETITIONER,
                Severity.WARNING,
                case.registered_at,
                f"the same matter again (earlier: {case.repeat_of})",
            )
        )
    if case.final_review_requested_at is not None:
        alerts.append(
            about_case(
                AlertKind.SECOND_REVIEW,
                Severity.WARNING,
                case.final_review_requested_at,
                "the matter reached its final review (复核)",
            )
        )
    return alerts


def surge_alerts(
    node: str,
    dimension: str,
    daily: Mapping[str, Sequence[int]],
    day: date,
    at: datetime,
    settings: AlertSettings,
) -> list[Alert]:
    """One alert per value of ``dimension`` ("category" or "locality") that surges on ``day``.

    ``daily[value]`` holds the counts of the window before ``day`` then ``day``'s own count
    last (oldest first, zeros included).
    """
    alerts = []
    for value, series in sorted(daily.items()):
        if not series:
            continue
        finding = detect_surge(series[:-1], series[-1], settings.surge)
        if finding is None:
            continue
        alerts.append(_surge_alert(node, dimension, value, day, at, finding))
    return alerts


def _surge_alert(
    node: str, dimension: str, value: str, day: date, at: datetime, finding: SurgeFinding
) -> Alert:
    severity = Severity.CRITICAL if finding.p_value < 1e-6 else Severity.SEVERE
    return Alert(
        key=f"{AlertKind.SURGE}:{dimension}:{value}:{day.isoformat()}",
        kind=AlertKind.SURGE,
        severity=severity,
        node=node,
        raised_at=at,
        summary=(
            f"{finding.count} on {day.isoformat()} against a baseline of "
            f"{finding.baseline_mean:.1f} a day (p = {finding.p_value:.1e}, {finding.model})"
        ),
        category=value if dimension == "category" else None,
        locality=value if dimension == "locality" else None,
    )


def reconcile(
    stored: Mapping[str, AlertState], fresh: Sequence[Alert], *, sticky: Iterable[AlertKind] = ()
) -> tuple[list[Alert], list[str]]:
    """What to store: alerts not stored yet (to open) and keys whose condition cleared (to
    resolve). Alerts of ``sticky`` kinds (events that happened, such as a collective visit) are
    not resolved by disappearing; a person resolves them."""
    firing = {alert.key for alert in fresh}
    keep = {str(kind) for kind in sticky}
    to_open = [alert for alert in fresh if alert.key not in stored]
    to_resolve = [
        key
        for key, state in stored.items()
        if state is not AlertState.RESOLVED
        and key not in firing
        and key.split(":", 1)[0] not in keep
    ]
    return to_open, sorted(to_resolve)

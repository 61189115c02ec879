"""Each alert kind fires on the data that should fire it, and stays silent otherwise."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.alerts import (
    AlertKind,
    AlertSettings,
    AlertState,
    CaseFacts,
    DueItem,
    Severity,
    case_alerts,
    due_item_alerts,
    reconcile,
    surge_alerts,
)

NODE = "530102"
NOW = datetime(2025, 6, 10, 2, 0, tzinfo=UTC)
SETTINGS = AlertSettings()


def item(kind: str, due: datetime, subject: str = "530102-2025-000001") -> DueItem:
    return DueItem(kind=kind, subject=subject, due=due, case_id=subject, category="城乡建设")


def facts(**overrides: object) -> CaseFacts:
    values: dict[str, object] = {
        "id": "530102-2025-000007",
        "node": NODE,
        "category": "劳动社保",
        "issue_locality": "530102001",
        "channel": "VISIT",
        "person_count": 1,
        "registered_at": NOW,
    }
    values.update(overrides)
    return CaseFacts(**values)  # type: ignore[arg-type]


def test_an_obligation_is_overdue_from_its_due_instant() -> None:
    (alert,) = due_item_alerts(NODE, [item("ACCEPTANCE", NOW)], NOW, SETTINGS)
    assert alert.kind is AlertKind.OVERDUE
    assert alert.severity is Severity.SEVERE
    assert alert.case_id == "530102-2025-000001"
    assert alert.due == NOW


def test_an_obligation_long_overdue_is_critical() -> None:
    (alert,) = due_item_alerts(NODE, [item("HANDLING", NOW - timedelta(days=30))], NOW, SETTINGS)
    assert alert.severity is Severity.CRITICAL
    (less,) = due_item_alerts(
        NODE, [item("HANDLING", NOW - timedelta(days=29, hours=23))], NOW, SETTINGS
    )
    assert less.severity is Severity.SEVERE


@pytest.mark.parametrize(
    ("kind", "lead"),
    [("ACCEPTANCE", 3), ("HANDLING", 7), ("SUPERVISION_REPLY", 2), ("SOMETHING_NEW", 3)],
)
def test_an_obligation_warns_within_its_lead_time_only(kind: str, lead: int) -> None:
    inside = item(kind, NOW + timedelta(days=lead))
    outside = item(kind, NOW + timedelta(days=lead, seconds=1))
    (alert,) = due_item_alerts(NODE, [inside], NOW, SETTINGS)
    assert alert.kind is AlertKind.DEADLINE_APPROACHING
    assert alert.severity is Severity.WARNING
    assert due_item_alerts(NODE, [outside], NOW, SETTINGS) == []


def test_lead_times_are_configurable() -> None:
    eager = AlertSettings(lead={"ACCEPTANCE": timedelta(days=10)})
    soon = item("ACCEPTANCE", NOW + timedelta(days=9))
    assert due_item_alerts(NODE, [soon], NOW, SETTINGS) == []
    assert len(due_item_alerts(NODE, [soon], NOW, eager)) == 1


def test_evaluating_again_gives_the_same_keys() -> None:
    items = [item("ACCEPTANCE", NOW + timedelta(days=1)), item("HANDLING", NOW - timedelta(1))]
    first = due_item_alerts(NODE, items, NOW, SETTINGS)
    later = due_item_alerts(NODE, items, NOW + timedelta(hours=5), SETTINGS)
    assert [a.key for a in first] == [a.key for a in later]
    assert len({a.key for a in first}) == 2


def test_a_collective_visit_raises_an_alert_from_five_persons() -> None:
    assert case_alerts(facts(person_count=4), SETTINGS) == []
    (alert,) = case_alerts(facts(person_count=5), SETTINGS)
    assert alert.kind is AlertKind.COLLECTIVE_VISIT
    assert alert.severity is Severity.SEVERE
    assert alert.locality == "530102001"
    (large,) = case_alerts(facts(person_count=60), SETTINGS)
    assert large.severity is Severity.CRITICAL


def test_a_joint_letter_is_not_a_collective_visit() -> None:
    assert case_alerts(facts(channel="LETTER", person_count=30), SETTINGS) == []


def test_a_repeat_petitioner_raises_an_alert() -> None:
    (alert,) = case_alerts(facts(repeat_of="5301-2025-000003"), SETTINGS)
    assert alert.kind is AlertKind.REPEAT_PETITIONER
    assert "5301-2025-000003" in alert.summary


def test_a_matter_at_its_final_review_raises_an_alert() -> None:
    assert case_alerts(facts(), SETTINGS) == []
    (alert,) = case_alerts(facts(final_review_requested_at=NOW), SETTINGS)
    assert alert.kind is AlertKind.SECOND_REVIEW
    assert alert.raised_at == NOW


def test_a_surge_in_one_category_alerts_for_that_category_only() -> None:
    steady = [3, 4, 2, 3, 5, 3, 4, 3, 2, 4, 3, 3, 4, 3] * 2
    daily = {"环境保护": [*steady, 25], "劳动社保": [*steady, 5]}
    (alert,) = surge_alerts(NODE, "category", daily, date(2025, 6, 10), NOW, SETTINGS)
    assert alert.kind is AlertKind.SURGE
    assert alert.category == "环境保护"
    assert alert.key == "SURGE:category:环境保护:2025-06-10"
    assert "25 on 2025-06-10" in alert.summary


def test_a_surge_by_place_names_the_place() -> None:
    daily = {"530102001": [0] * 28 + [9]}
    (alert,) = surge_alerts(NODE, "locality", daily, date(2025, 6, 10), NOW, SETTINGS)
    assert alert.locality == "530102001"
    assert alert.category is None


def test_reconcile_opens_new_alerts_and_resolves_those_that_cleared() -> None:
    fresh = due_item_alerts(NODE, [item("ACCEPTANCE", NOW - timedelta(1))], NOW, SETTINGS)
    stored = {
        "OVERDUE:old:HANDLING:x": AlertState.ACKNOWLEDGED,
        "DEADLINE_APPROACHING:gone:ACCEPTANCE:y": AlertState.OPEN,
        "OVERDUE:done:HANDLING:z": AlertState.RESOLVED,
        "COLLECTIVE_VISIT:530102-2025-000009": AlertState.OPEN,
    }
    to_open, to_resolve = reconcile(stored, fresh, sticky=[AlertKind.COLLECTIVE_VISIT])
    assert [a.key for a in to_open] == [fresh[0].key]
    assert to_resolve == ["DEADLINE_APPROACHING:gone:ACCEPTANCE:y", "OVERDUE:old:HANDLING:x"]
    again, nothing = reconcile({fresh[0].key: AlertState.OPEN}, fresh)
    assert again == []
    assert nothing == []


def test_severities_are_ordered() -> None:
    assert [s.rank for s in Severity] == [0, 1, 2, 3]
    assert Severity.CRITICAL.rank > Severity.WARNING.rank

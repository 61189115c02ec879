"""The pure side of subtree figures (docs/adr/0013): what a report carries, how figures add."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.figures import (
    FIGURE_COUNTS,
    Figures,
    SubtreeReport,
    changes,
    stats_counts,
    summed,
    zero_counts,
)

DAY = date(2025, 3, 3)
NEXT = date(2025, 3, 4)


def day(**counts: float) -> dict[str, float]:
    return {**zero_counts(), **counts}


def test_a_report_carries_only_what_changed_in_full_and_a_key_gone_as_zero() -> None:
    old = Figures(
        days={DAY: day(event_count=2, person_count=3), NEXT: day(event_count=1)},
        categories={(DAY, "城乡建设"): 2, (NEXT, "劳动社保"): 1},
        flows={(DAY, "TRANSFER", "COUNTY", "TOWNSHIP"): 1},
    )
    new = Figures(
        days={DAY: day(event_count=2, person_count=3), NEXT: day(event_count=2, backlog=1)},
        categories={(DAY, "城乡建设"): 2, (NEXT, "劳动社保"): 2},
        flows={},
    )
    found = changes(old, new)
    assert found.days == {NEXT: day(event_count=2, backlog=1)}  # the whole day, not a delta
    assert found.categories == {(NEXT, "劳动社保"): 2}
    assert found.flows == {(DAY, "TRANSFER", "COUNTY", "TOWNSHIP"): 0}
    assert changes(new, new).is_empty()


def test_figures_add_up_and_the_average_reply_days_come_from_the_sums() -> None:
    total = Figures()
    total.add(Figures(days={DAY: day(first_petition_replies=1, first_petition_reply_days_sum=10)}))
    total.add(Figures(days={DAY: day(first_petition_replies=3, first_petition_reply_days_sum=2)}))
    counts = stats_counts(summed(total.days.values()))
    assert counts.first_petition_replies == 4
    assert counts.first_petition_reply_days == pytest.approx(3.0)  # 12 days over 4 replies
    assert stats_counts(zero_counts()).first_petition_reply_days == 0.0


def test_a_report_survives_its_message_and_a_malformed_one_is_refused() -> None:
    report = SubtreeReport(
        version=3,
        as_of=datetime(2025, 3, 3, 2, tzinfo=UTC),
        figures=Figures(
            days={DAY: day(event_count=1, first_petition_reply_days_sum=1.25)},
            categories={(DAY, "城乡建设"): 1},
            flows={(DAY, "REVIEW", "TOWNSHIP", "COUNTY"): 1},
        ),
    )
    assert SubtreeReport.from_payload(report.to_payload()) == report
    payload = report.to_payload()
    with pytest.raises(ValueError, match="unknown counts"):
        SubtreeReport.from_payload({**payload, "days": [{**payload["days"][0], "x": 1}]})
    missing = dict(payload["days"][0])
    del missing[FIGURE_COUNTS[0]]
    with pytest.raises(KeyError):
        SubtreeReport.from_payload({**payload, "days": [missing]})
    with pytest.raises(ValueError, match="is not a valid"):
        SubtreeReport.from_payload({**payload, "flows": [["2025-03-03", "VISIT", "A", "B", 1]]})
    with pytest.raises(ValueError, match="version"):
        SubtreeReport.from_payload({**payload, "version": 0})

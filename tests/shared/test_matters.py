"""The cross-node rules of intake, as pure functions (shared/matters.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.lifecycle import CaseStatus, Channel
from shared.matters import MatterEntry, Refusal, competent_node, is_skip_level, judge_intake

AT = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
EARLIER = AT - timedelta(days=10)
TOWNSHIP, COUNTY, CITY, PROVINCE = "530102001", "530102", "5301", "53"


def entry(
    node: str, status: CaseStatus, *, final: bool = False, case: str = "", when: datetime = EARLIER
) -> MatterEntry:
    return MatterEntry(
        case or f"{node}-2025-000001", node, status, final, when, when if final else None
    )


@pytest.mark.parametrize(
    ("node", "channel", "locality", "skipped"),
    [
        (PROVINCE, Channel.VISIT, TOWNSHIP, True),  # three tiers above
        (PROVINCE, Channel.VISIT, COUNTY, True),  # two above
        (CITY, Channel.VISIT, TOWNSHIP, True),  # two above
        (CITY, Channel.VISIT, COUNTY, False),  # the level above the competent one
        (COUNTY, Channel.VISIT, TOWNSHIP, False),
        (COUNTY, Channel.VISIT, COUNTY, False),  # the competent node itself
        (PROVINCE, Channel.VISIT, CITY, False),
        (PROVINCE, Channel.LETTER, TOWNSHIP, False),  # only visits skip levels
        (PROVINCE, Channel.ONLINE, COUNTY, False),
    ],
)
def test_a_visit_is_skip_level_only_more_than_one_tier_above_the_competent_node(
    node: str, channel: Channel, locality: str, skipped: bool
) -> None:
    assert is_skip_level(node, channel, locality) is skipped


def test_the_competent_node_is_the_issue_locality_at_the_lowest_tier_with_a_node() -> None:
    assert competent_node(TOWNSHIP) == TOWNSHIP
    assert competent_node(COUNTY) == COUNTY


def judge(
    node: str, *entries: MatterEntry, channel: Channel = Channel.LETTER, **kw: object
) -> Refusal | None:
    return judge_intake(
        node,
        channel=channel,
        issue_locality=TOWNSHIP,
        at=AT,
        entries=list(entries),
        **kw,  # type: ignore[arg-type]
    ).refusal


def test_a_matter_pending_below_is_refused_higher_up_but_not_at_its_own_node_or_above() -> None:
    pending = entry(TOWNSHIP, CaseStatus.HANDLING)
    assert judge(COUNTY, pending) is Refusal.PENDING_BELOW
    assert judge(CITY, pending) is Refusal.PENDING_BELOW
    assert judge(TOWNSHIP, pending) is None  # the same node: a repeat, handled there
    assert judge("530102002", pending) is None  # a sibling is not above it
    assert judge(COUNTY, pending, direct=False) is None  # routed here by the township itself


@pytest.mark.parametrize(
    "status",
    [CaseStatus.REPLIED, CaseStatus.CLOSED, CaseStatus.TRANSFERRED, CaseStatus.NOT_ACCEPTED],
)
def test_a_matter_answered_or_refused_below_is_not_pending(status: CaseStatus) -> None:
    finding = judge_intake(
        COUNTY,
        channel=Channel.VISIT,
        issue_locality=TOWNSHIP,
        at=AT,
        entries=[entry(TOWNSHIP, status)],
    )
    assert finding.refusal is None
    assert finding.repeat_of == f"{TOWNSHIP}-2025-000001"  # still a repeat petition


def test_finality_anywhere_bars_the_matter_and_comes_before_every_other_rule() -> None:
    final = entry(COUNTY, CaseStatus.CLOSED, final=True)
    pending = entry(TOWNSHIP, CaseStatus.HANDLING, case="530102001-2025-000009")
    finding = judge_intake(
        PROVINCE, channel=Channel.VISIT, issue_locality=TOWNSHIP, at=AT, entries=[final, pending]
    )
    assert finding.refusal is Refusal.NO_REACCEPTANCE
    assert finding.skip_level is True
    assert finding.competent_node == TOWNSHIP  # the visit is still counted there
    assert "Art. 36" in (finding.reason or "")
    assert [e.case_id for e in finding.earlier] == [final.case_id, pending.case_id]
    assert judge(TOWNSHIP, final, direct=False) is Refusal.NO_REACCEPTANCE


def test_later_cases_and_the_petitions_own_origin_do_not_count() -> None:
    later = entry(COUNTY, CaseStatus.CLOSED, final=True, when=AT + timedelta(days=1))
    origin = entry(PROVINCE, CaseStatus.NOT_ACCEPTED, case="53-2025-000001")
    finding = judge_intake(
        TOWNSHIP,
        channel=Channel.VISIT,
        issue_locality=TOWNSHIP,
        at=AT,
        entries=[later, origin],
        exclude=["53-2025-000001"],
        direct=False,
    )
    assert (finding.refusal, finding.earlier) == (None, ())


def test_a_skip_level_visit_is_refused_and_names_where_it_goes() -> None:
    finding = judge_intake(CITY, channel=Channel.VISIT, issue_locality=TOWNSHIP, at=AT, entries=[])
    assert (finding.refusal, finding.skip_level, finding.competent_node) == (
        Refusal.SKIP_LEVEL,
        True,
        TOWNSHIP,
    )
    assert "Art. 20" in (finding.reason or "")

"""Synthetic petitions over the real division tree, calibrated to the figures of domain.md §4.

A case's life is planned first (pure: a petition and a list of timed acts, drawn from a seeded
random generator), then written through the same ``CaseWork`` every handler uses, so demo data
obeys every rule and has a real event log. Acts planned after "now" are left undone: those
cases are still open.
"""

from __future__ import annotations

import random
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from shared.casework import CaseWork, FixedClock, PetitionInput
from shared.deadlines import local_date
from shared.divisions import Tier, division_tree, tier_of
from shared.errors import DomainError
from shared.lifecycle import (
    Action,
    Channel,
    LegalChannel,
    ReplyOutcome,
    ReviewOutcome,
    Satisfaction,
)
from shared.reviews import ReviewLevel, reviewer_for
from shared.validation import id_check_char

CATEGORIES = (
    "土地征收",
    "劳动社保",
    "城乡建设",
    "农村农业",
    "自然资源",
    "生态环境",
    "教育",
    "卫生健康",
    "民政",
    "政法",
    "交通运输",
    "企业改制",
    "住房保障",
    "市场监管",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红"
SUMMARIES = (
    "反映{place}征地补偿款未足额发放",
    "反映{place}某企业拖欠工资",
    "反映{place}村道路年久失修",
    "请求解决{place}低保待遇问题",
    "反映{place}养殖场污染环境",
    "反映{place}房屋拆迁安置问题",
    "反映{place}学校收费问题",
    "请求落实{place}退役军人待遇",
)
CHANNEL_WEIGHTS = (
    (Channel.ONLINE, 40),
    (Channel.VISIT, 25),
    (Channel.LETTER, 15),
    (Channel.PHONE, 12),
    (Channel.HOTLINE_12345, 6),
    (Channel.FAX, 1),
    (Channel.GRID_REPORT, 1),
)
# Calibration (domain.md §4, seed S4): 99.57% timely acceptance, 99.62% on-time reply,
# 96.82% satisfied or basically satisfied, first-time petitions replied in ~21 days.
LATE_ACCEPTANCE = 0.0043
LATE_REPLY = 0.0038
STALLED = 0.3  # of the late replies: never given (the case stays in the backlog, 积案)
# Half of the dissatisfied ask for a review, which clears the rating (the petitioner rates the
# review's outcome, not the reply): 6.16% dissatisfied leaves 3.18% of the ratings that stand.
DISSATISFIED = 0.0616
REPLY_DAYS = 12.0  # mean of the exponential part of the days from acceptance to reply
RELAY = "relay"  # the actor of acts a message brings (shared.messaging.flows.RELAY_ACTOR)


@dataclass(frozen=True)
class PlannedAct:
    at: datetime
    action: Action
    fields: Mapping[str, object] = field(default_factory=dict)
    actor: str | None = None  # None: the writer's own actor


@dataclass(frozen=True)
class PlannedCase:
    petition: PetitionInput
    registered_at: datetime
    acts: tuple[PlannedAct, ...]
    idempotency_key: str
    skip_level: bool = False  # a visit above the competent tier (越级访)


@dataclass(frozen=True)
class Reviewers:
    """Where a node's replies are reviewed and finally reviewed (None: not by a seeded node)."""

    review: str | None
    final_review: str | None

    @classmethod
    def of(cls, node_code: str, peers: Container[str] | None = None) -> Reviewers:
        def held(level: ReviewLevel) -> str | None:
            node = reviewer_for(node_code, level)
            return node if node is not None and (peers is None or node in peers) else None

        review = held(ReviewLevel.REVIEW)
        return cls(review, held(ReviewLevel.FINAL_REVIEW) if review else None)


def resident_id(rng: random.Random, county_code: str) -> str:
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
    first17 = f"{county_code}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return first17 + id_check_char(first17)


def plan_case(
    rng: random.Random,
    node_code: str,
    registered_at: datetime,
    serial: int,
    reviewers: Reviewers | None = None,
) -> PlannedCase:
    tree = division_tree()
    localities = [node_code] + [d.code for d in tree.children(node_code)]
    locality = rng.choice(localities)
    place = tree.name(locality)
    channel = rng.choices([c for c, _ in CHANNEL_WEIGHTS], [w for _, w in CHANNEL_WEIGHTS])[0]
    person_count = 1 if rng.random() < 0.93 else rng.randint(2, 40)
    county_for_id = node_code if len(node_code) == 6 else node_code[:6].ljust(6, "0")
    petition = PetitionInput(
        channel=channel,
        category=rng.choice(CATEGORIES),
        summary=rng.choice(SUMMARIES).format(place=place),
        issue_locality_code=locality,
        petitioner_name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
        petitioner_id_number=resident_id(rng, county_for_id),
        petitioner_phone=f"+861{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}",
        person_count=person_count,
    )
    acts = list(_plan_acts(rng, registered_at, reviewers or Reviewers.of(node_code)))
    skip_level = (
        channel is Channel.VISIT
        and locality != node_code
        and tier_of(node_code) in (Tier.PROVINCE, Tier.CITY)
    )
    return PlannedCase(
        petition, registered_at, tuple(acts), f"seed-{node_code}-{serial:07d}", skip_level
    )


def _plan_acts(rng: random.Random, registered: datetime, reviewers: Reviewers) -> list[PlannedAct]:
    hours = timedelta(hours=1)
    acts: list[PlannedAct] = []
    route = rng.random()
    decided = registered + (
        timedelta(days=rng.randint(16, 25))
        if rng.random() < LATE_ACCEPTANCE
        else timedelta(days=rng.randint(0, 12), hours=rng.randint(1, 8))
    )
    if route < 0.05:
        acts.append(PlannedAct(decided, Action.NOT_ACCEPT, {"reason": "不属于信访事项受理范围"}))
        return acts
    if route < 0.09:
        acts.append(
            PlannedAct(
                decided,
                Action.REDIRECT,
                {
                    "legal_channel": LegalChannel.LITIGATION,
                    "reason": "属于涉法涉诉事项，请向政法机关反映",
                },
            )
        )
        return acts
    acts.append(PlannedAct(decided, Action.ACCEPT))
    at = decided + hours
    if rng.random() < 0.5:
        acts.append(PlannedAct(at, Action.BEGIN_HANDLING))
    late = rng.random() < LATE_REPLY
    extended = rng.random() < 0.03
    if extended:
        acts.append(
            PlannedAct(
                decided + timedelta(days=50),
                Action.EXTEND_HANDLING,
                {"days": 30, "reason": "案情复杂，需进一步调查核实"},
            )
        )
    limit = 90 if extended else 60
    if late:
        reply_day = rng.randint(limit + 1, limit + 20) if rng.random() >= STALLED else 10_000
    elif extended:  # replied after the extension (day 50), within the 90 days
        reply_day = rng.randint(51, limit - 2)
    else:
        reply_day = min(limit - 2, 2 + int(rng.expovariate(1 / REPLY_DAYS)))
    replied = decided + timedelta(days=reply_day)
    outcome = rng.choices(list(ReplyOutcome), [70, 20, 10])[0]
    acts.append(
        PlannedAct(replied, Action.REPLY, {"outcome": outcome, "text": "经调查核实，现答复如下"})
    )
    rated = replied + timedelta(days=rng.randint(1, 10))
    dissatisfied = rng.random() < DISSATISFIED
    rating = (
        Satisfaction.DISSATISFIED
        if dissatisfied
        else rng.choice(
            [Satisfaction.SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED]
        )
    )
    acts.append(PlannedAct(rated, Action.RATE_SATISFACTION, {"rating": rating}))
    counselling = (
        {"counselling": "已做好解释疏导工作"} if outcome is ReplyOutcome.NOT_SUPPORTED else {}
    )
    if not dissatisfied:
        acts.append(PlannedAct(rated + hours, Action.CLOSE, counselling))
        return acts
    lapses = rng.random() < 0.5
    if lapses or reviewers.review is None:  # the review window lapses
        acts.append(PlannedAct(replied + timedelta(days=32), Action.CLOSE, counselling))
        return acts
    # A review is asked of the reviewing node; the owner's acts come by message (relay).
    asked = rated + timedelta(days=rng.randint(1, 20))
    acts.append(PlannedAct(asked, Action.REQUEST_REVIEW, {"reason": "对答复意见不服"}, RELAY))
    decided_review = asked + timedelta(days=rng.randint(10, 29))
    acts.append(
        PlannedAct(
            decided_review,
            Action.RECORD_REVIEW_DECISION,
            {"review_outcome": ReviewOutcome.UPHELD, "text": "维持原处理意见"},
            f"{RELAY}:{reviewers.review}",
        )
    )
    if rng.random() < 0.6 or reviewers.final_review is None:
        acts.append(PlannedAct(decided_review + timedelta(days=31), Action.CLOSE, counselling))
        return acts
    final_asked = decided_review + timedelta(days=rng.randint(1, 25))
    acts.append(
        PlannedAct(final_asked, Action.REQUEST_FINAL_REVIEW, {"reason": "对复查意见不服"}, RELAY)
    )
    acts.append(
        PlannedAct(
            final_asked + timedelta(days=rng.randint(10, 29)),
            Action.RECORD_FINAL_REVIEW_DECISION,
            {"review_outcome": ReviewOutcome.UPHELD, "text": "复核维持"},
            f"{RELAY}:{reviewers.final_review}",
        )
    )
    return acts


def plan_node(
    node_code: str,
    count: int,
    *,
    now: datetime,
    days: int = 365,
    seed: int = 0,
    peers: Container[str] | None = None,
) -> list[PlannedCase]:
    """``count`` cases registered over the ``days`` before ``now``, oldest first. Reviews go
    to reviewing nodes among ``peers`` only (None: any node of the tree)."""
    rng = random.Random(f"{seed}:{node_code}")
    reviewers = Reviewers.of(node_code, peers)
    starts = sorted(now - timedelta(seconds=rng.randrange(0, days * 86400)) for _ in range(count))
    return [plan_case(rng, node_code, at, i, reviewers) for i, at in enumerate(starts)]


def spread(total: int, nodes: Sequence[str]) -> dict[str, int]:
    """``total`` cases over ``nodes``, more to the tiers that register more (a county's
    petition office takes three times a township's), summing exactly to ``total``."""
    weight = {Tier.PROVINCE: 6.0, Tier.CITY: 5.0, Tier.COUNTY: 3.0, Tier.TOWNSHIP: 1.0}
    weights = [weight[tier_of(code)] for code in nodes]
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(nodes)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return dict(zip(nodes, counts, strict=True))


async def write_planned(
    work: CaseWork, clock: FixedClock, cases: Sequence[PlannedCase], *, now: datetime
) -> int:
    """Write planned cases through ``work``, whose clock is ``clock``; returns acts written.
    Only the case's own records: not the records at other nodes (shared.persistence.province
    writes those), nor the skip-level mark (CaseWork has no input for it yet)."""
    written = 0
    for planned in cases:
        clock.at = planned.registered_at
        try:
            case_id = await work.register_petition(
                planned.petition, idempotency_key=planned.idempotency_key, actor="seed"
            )
        except DomainError:
            continue  # the same matter reached finality already: not accepted again
        written += 1
        for act in planned.acts:
            if act.at > now:
                break
            clock.at = act.at
            try:
                command = work.command(act.action, act.actor or "seed", **act.fields)
                await work.act(case_id, command)
            except DomainError:
                break  # e.g. the same matter reached finality earlier: stop this case here
            written += 1
    clock.at = now
    return written


def years_of(cases: Sequence[PlannedCase]) -> set[int]:
    return {local_date(c.registered_at).year for c in cases}

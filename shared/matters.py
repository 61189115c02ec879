"""Cross-node rules of intake (domain.md §2 refusals, §3 escalation): the same matter
elsewhere in the province, skip-level visits. Pure: the facts come in, a finding goes out.

*Same matter* is the person key (a keyed hash of the normalised ID number) + the category +
the issue locality as registered (``CaseWork.matter_key``). The province's matter index holds,
for every matter key, where the matter is and how far it got (``MatterEntry``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from shared.divisions import ancestors, division_tree, is_in_subtree
from shared.errors import ErrorCode
from shared.lifecycle import CaseStatus, Channel

# A matter still in the hands of a body: refused higher up (Art. 19). A replied matter is
# not pending: the petitioner's way on is a review, not a new petition above.
PENDING = frozenset(
    {
        CaseStatus.REGISTERED,
        CaseStatus.ASSIGNED,
        CaseStatus.ACCEPTED,
        CaseStatus.IN_MEDIATION,
        CaseStatus.HANDLING,
        CaseStatus.UNDER_REVIEW,
        CaseStatus.UNDER_FINAL_REVIEW,
    }
)
MAX_REPRESENTATIVES = 5  # a collective visit sends at most five (Art. 20)
MAX_EARLIER_LINKS = 10  # a repeat is linked to at most this many earlier cases


class Refusal(StrEnum):
    NO_REACCEPTANCE = ErrorCode.NO_REACCEPTANCE.value  # Art. 36
    PENDING_BELOW = ErrorCode.PENDING_BELOW.value  # Art. 19
    SKIP_LEVEL = ErrorCode.SKIP_LEVEL.value  # Art. 20


class MatterCheck(StrEnum):
    """Whether the province's matter index was consulted for a petition."""

    CHECKED = "CHECKED"  # answered at intake, or later and in time
    PENDING = "PENDING"  # the index was unreachable; it answers when the notice arrives
    CONFLICT = "CONFLICT"  # a late answer found a refusal ground after the case moved on


@dataclass(frozen=True)
class MatterEntry:
    """One case of a matter, as the index knows it."""

    case_id: str
    node: str
    status: CaseStatus
    final: bool
    registered_at: datetime
    final_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.status in PENDING

    def to_json(self) -> dict[str, object]:
        return {
            "caseId": self.case_id,
            "node": self.node,
            "status": self.status.value,
            "final": self.final,
            "registeredAt": self.registered_at.isoformat(),
            "finalAt": self.final_at.isoformat() if self.final_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> MatterEntry:
        final_at = data.get("finalAt")
        return cls(
            case_id=str(data["caseId"]),
            node=str(data["node"]),
            status=CaseStatus(str(data["status"])),
            final=bool(data["final"]),
            registered_at=datetime.fromisoformat(str(data["registeredAt"])),
            final_at=datetime.fromisoformat(str(final_at)) if final_at else None,
        )


class MatterIndex(Protocol):
    """The province's matter index as intake sees it."""

    async def lookup(self, matter_key: str) -> list[MatterEntry] | None:
        """The matter's cases, or None when the index cannot be reached."""
        ...


@dataclass(frozen=True)
class IntakeFinding:
    refusal: Refusal | None = None
    reason: str | None = None
    earlier: tuple[MatterEntry, ...] = ()  # same person + same matter, registered before
    skip_level: bool = False
    competent_node: str | None = None  # where a skip-level visit is sent down to

    @property
    def repeat_of(self) -> str | None:
        return self.earlier[0].case_id if self.earlier else None


def depth(code: str) -> int:
    """Tiers above a node: province 0, city 1, county 2, township 3."""
    return len(ancestors(code))


def competent_node(issue_locality: str) -> str:
    """The node of the issue locality at the lowest tier that has one (Art. 15, 22)."""
    tree = division_tree()
    code = issue_locality
    while not tree.exists(code):  # a retired or placeholder code: its nearest real parent
        up = ancestors(code)
        if not up:
            break
        code = up[-1]
    return code


def is_skip_level(node: str, channel: Channel, issue_locality: str) -> bool:
    """A visit more than one tier above the competent node (越级走访, Art. 20)."""
    if channel is not Channel.VISIT:
        return False
    competent = competent_node(issue_locality)
    return is_in_subtree(competent, node) and depth(competent) - depth(node) > 1


def merged(*sources: Iterable[MatterEntry]) -> list[MatterEntry]:
    """Entries of several sources, one per case (the later source wins), oldest first."""
    found: dict[str, MatterEntry] = {}
    for source in sources:
        for entry in source:
            found[entry.case_id] = entry
    return sorted(found.values(), key=lambda e: (e.registered_at, e.case_id))


def judge_intake(
    node: str,
    *,
    channel: Channel,
    issue_locality: str,
    at: datetime,
    entries: Sequence[MatterEntry],
    exclude: Iterable[str] = (),
    direct: bool = True,
) -> IntakeFinding:
    """What the rules say of a petition registered at ``node`` at ``at``.

    ``entries`` are the matter's other cases (index and local); ``exclude`` the cases that are
    this very petition elsewhere (the case it was sent down from). ``direct``: the petitioner
    came here; a matter routed here by another node is not judged as a visit.
    """
    skipped = set(exclude)
    earlier = tuple(e for e in entries if e.case_id not in skipped and e.registered_at <= at)
    skip = direct and is_skip_level(node, channel, issue_locality)
    competent = competent_node(issue_locality) if skip else None
    final = next((e for e in earlier if e.final and (e.final_at is None or e.final_at <= at)), None)
    if final is not None:
        return IntakeFinding(
            Refusal.NO_REACCEPTANCE,
            f"the same matter reached three-tier finality in case {final.case_id} at node "
            f"{final.node}; it is not accepted again (Art. 36). Counselling continues.",
            earlier[:MAX_EARLIER_LINKS],
            skip,
            competent,
        )
    below = next(
        (e for e in earlier if e.pending and e.node != node and is_in_subtree(e.node, node)),
        None,
    )
    if below is not None and direct:
        return IntakeFinding(
            Refusal.PENDING_BELOW,
            f"the same matter is pending at node {below.node} (case {below.case_id}); a higher "
            "body does not accept it while it is handled there (Art. 19)",
            earlier[:MAX_EARLIER_LINKS],
            skip,
            competent,
        )
    if skip:
        assert competent is not None
        return IntakeFinding(
            Refusal.SKIP_LEVEL,
            f"a visit about a matter of {issue_locality} goes to node {competent} or the level "
            f"above it (Art. 20); the matter is sent down to {competent}",
            earlier[:MAX_EARLIER_LINKS],
            True,
            competent,
        )
    return IntakeFinding(earlier=earlier[:MAX_EARLIER_LINKS])


def province_of(code: str) -> str:
    return code[:2]

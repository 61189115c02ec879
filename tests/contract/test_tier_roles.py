"""Each tier's own roles appear in its own subgraph only; the lifecycle stays the same in all.

The table says which tiers serve each role's root fields; a tier serving a role it should not
(or missing one it should) fails here, and a call to another tier's role is refused as an
unknown field by that tier's service.
"""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.federation import Schema

from shared.casework import FixedClock
from tests.conftest import NODE_OF_TIER
from tests.roles import refusal, tier_client

TIERS = ("township", "county", "city", "province")
BELOW_PROVINCE = {"township", "county", "city"}
REVIEWERS = {"county", "city", "province"}  # a review is held one tier above the handler
SUPERVISORS = {"county", "city", "province"}
QUERY_ROLES: dict[str, set[str]] = {
    "governanceCenterIntakes": {"township"},
    "mediations": {"township"},
    "mediationFigures": {"township"},
    "fastTrackFigures": {"township"},
    "gridReports": {"township"},
    "gridReport": {"township"},
    "petitionBureauIntakes": {"county"},
    "leaderOwnedCases": {"county"},
    "caseLeaders": {"county"},
    "competenceDisputes": {"county"},
    "reviews": REVIEWERS,
    "review": REVIEWERS,
    "supervisionOrdersIssued": SUPERVISORS,
    "flaggedSupervision": {"province"},
    "assessmentRanking": {"province"},
}
MUTATION_ROLES: dict[str, set[str]] = {
    "registerAtGovernanceCenter": {"township"},
    "recordMediationOutcome": {"township"},
    "takeFastTrack": {"township"},
    "recordFastTrackMeeting": {"township"},
    "recordFastTrackFacts": {"township"},
    "reportGridDispute": {"township"},
    "registerGridReport": {"township"},
    "registerAtPetitionBureau": {"county"},
    "assignCaseLeader": {"county"},
    "handOverLeaderCase": {"county"},
    "recordCompetenceDispute": {"county"},
    "decideCompetenceDispute": {"county"},
    "openReview": REVIEWERS,
    "openFinalReview": REVIEWERS,
    "decideReview": REVIEWERS,
    "issueSupervisionOrder": SUPERVISORS,
    "placeUnderFlaggedSupervision": {"province"},
    "fileStatisticsReport": BELOW_PROVINCE,
    "registerPetition": set(TIERS),
    "replySupervisionOrder": set(TIERS),
}


def schema_of(tier: str) -> Schema:
    schema: Schema = importlib.import_module(f"{tier}.schema").schema
    return schema


def root_fields(tier: str, root: str) -> set[str]:
    graphql_schema = schema_of(tier)._schema
    kind = graphql_schema.query_type if root == "query" else graphql_schema.mutation_type
    assert kind is not None
    return set(kind.fields)


@pytest.mark.parametrize("tier", TIERS)
def test_each_role_is_served_by_exactly_its_tiers(tier: str) -> None:
    queries, mutations = root_fields(tier, "query"), root_fields(tier, "mutation")
    for name, tiers in QUERY_ROLES.items():
        assert (name in queries) == (tier in tiers), (tier, name)
    for name, tiers in MUTATION_ROLES.items():
        assert (name in mutations) == (tier in tiers), (tier, name)


def test_the_lifecycle_is_the_same_in_every_tier() -> None:
    shared = {"acceptCase", "replyCase", "startMediation", "transferCase", "assignCase"}
    for tier in TIERS:
        assert shared <= root_fields(tier, "mutation"), tier


@pytest.mark.parametrize(
    ("tier", "foreign"),
    [
        ("county", "{ fastTrackFigures { kind } }"),
        ("township", "{ leaderOwnedCases { caseId } }"),
        (
            "city",
            '{ assessmentRanking(tier: CITY, by: BACKLOG, period: {from: "2025-03-01", '
            'to: "2025-03-31"}) { tier } }',
        ),
        ("province", "{ gridReports { id } }"),
    ],
)
async def test_another_tiers_role_is_an_unknown_field_here(
    tier: str, foreign: str, clean_engine: AsyncEngine, clock: FixedClock
) -> None:
    async with tier_client(clean_engine, clock, NODE_OF_TIER[tier]) as gql:
        assert refusal(await gql(foreign))["code"] == "GRAPHQL_VALIDATION_FAILED"

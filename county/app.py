"""Builds the county tier service."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from county.schema import schema
from shared.casework import Clock
from shared.divisions import Tier
from shared.graphql.app import build_tier_app
from shared.holidays import HolidayCalendar
from shared.registry import NodeRegistry


def create_county_app(
    engine: AsyncEngine,
    nodes: Sequence[str],
    *,
    calendar: HolidayCalendar,
    person_key_secret: bytes,
    clock: Clock | None = None,
    registry: NodeRegistry | None = None,
    relay: bool = True,
) -> Starlette:
    return build_tier_app(
        Tier.COUNTY,
        schema,
        engine,
        nodes,
        calendar=calendar,
        person_key_secret=person_key_secret,
        clock=clock,
        registry=registry,
        relay=relay,
    )

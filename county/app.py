"""Builds the county tier service."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from county.schema import schema
from shared.casework import Clock, SystemClock
from shared.divisions import Tier
from shared.graphql.app import TierService, create_tier_app
from shared.holidays import HolidayCalendar


def create_county_app(
    engine: AsyncEngine,
    nodes: Sequence[str],
    *,
    calendar: HolidayCalendar,
    person_key_secret: bytes,
    clock: Clock | None = None,
) -> Starlette:
    service = TierService(
        tier=Tier.COUNTY,
        engine=engine,
        calendar=calendar,
        person_key_secret=person_key_secret,
        clock=clock or SystemClock(),
    )
    service.host(nodes)
    return create_tier_app(service, schema)

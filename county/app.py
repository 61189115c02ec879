"""Builds the county tier service."""

from __future__ import annotations

from county.schema import schema
from shared.divisions import Tier
from shared.graphql.app import tier_app_factory

create_county_app = tier_app_factory(Tier.COUNTY, schema)

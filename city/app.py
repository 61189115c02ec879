"""Builds the city tier service."""

from __future__ import annotations

from city.schema import schema
from shared.divisions import Tier
from shared.graphql.app import tier_app_factory

create_city_app = tier_app_factory(Tier.CITY, schema)

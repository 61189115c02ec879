"""Builds the province tier service."""

from __future__ import annotations

from province.schema import schema
from shared.divisions import Tier
from shared.graphql.app import tier_app_factory

create_province_app = tier_app_factory(Tier.PROVINCE, schema)

"""Builds the township tier service."""

from __future__ import annotations

from shared.divisions import Tier
from shared.graphql.app import tier_app_factory
from township.schema import schema

create_township_app = tier_app_factory(Tier.TOWNSHIP, schema)

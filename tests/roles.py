"""Helpers for the tests of each tier's own roles: a tier service in-process, GraphQL calls,
and a snapshot of every table of a node (to prove a refused request wrote nothing)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.casework import FixedClock
from shared.divisions import tier_of
from shared.holidays import default_calendar
from shared.persistence.migrate import schema_for
from shared.persistence.tables import metadata
from tests.conftest import SECRET, GraphQLClient
from tests.identity import ActAs


@asynccontextmanager
async def tier_client(
    engine: AsyncEngine, clock: FixedClock, node: str
) -> AsyncIterator[GraphQLClient]:
    name = tier_of(node).value.lower()
    factory = getattr(importlib.import_module(f"{name}.app"), f"create_{name}_app")
    app = factory(
        engine, [node], calendar=default_calendar(), person_key_secret=SECRET, clock=clock
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://{name}.test", auth=ActAs()
    ) as http:
        yield GraphQLClient(http, node=node)


def ok(result: dict[str, Any], name: str) -> Any:
    assert not result.get("errors"), result.get("errors")
    return result["data"][name]


def refusal(result: dict[str, Any]) -> dict[str, Any]:
    """The one error's extensions (code, field)."""
    errors = result.get("errors")
    assert errors, result
    assert len(errors) == 1, result
    extensions: dict[str, Any] = errors[0]["extensions"]
    return extensions


async def snapshot(engine: AsyncEngine, code: str) -> dict[str, list[Any]]:
    """Every row of every table of the node, sorted: any write shows as a difference. Not the
    subtree figures (docs/adr/0013): the service's refresher counts and reports them in the
    background, whatever a request did."""
    schema = schema_for(code)
    found: dict[str, list[Any]] = {}
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name.startswith("figures_"):
                continue
            boxes = ("outbox", "inbox")
            where = " WHERE kind <> 'SUBTREE_FIGURES'" if table.name in boxes else ""
            statement = text(f'SELECT * FROM "{schema}".{table.name}{where}')
            rows = (await conn.execute(statement)).all()
            found[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return found


async def trail_noted(engine: AsyncEngine, province: str, case_id: str) -> bool:
    """Whether the province's trail index has a step of ``case_id`` (its notice arrived)."""
    async with engine.connect() as conn:
        found = await conn.execute(
            text(f'SELECT count(*) FROM "{schema_for(province)}".trail_steps WHERE case_id = :c'),
            {"c": case_id},
        )
        return bool(found.scalar_one())


def petition(locality: str, **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "channel": "VISIT",
        "category": "邻里纠纷",
        "summary": "反映邻居占用宅基地通道",
        "issueLocality": locality,
        "petitionerName": "王五",
        "petitionerPhone": "13912345678",
    }
    value.update(overrides)
    return value

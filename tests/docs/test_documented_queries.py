"""Every example query in docs/queries/ runs through the gateway on the demo province
(all 1,607 nodes of Yunnan on real tier services over HTTP) and returns non-empty data.

A query file may name its variables on a ``# variables: {...}`` line; ``<a case id>`` there
stands for a real case of the province, taken from the database.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse
from sqlalchemy import text

from shared.persistence.migrate import schema_for
from tests.gateway.test_shards import Province, province, shards

__all__ = ["province"]  # the module-scoped fixture, shared with the shard tests

QUERIES = Path(__file__).resolve().parents[2] / "docs" / "queries"
FILES = sorted(QUERIES.glob("*.graphql"))
SOURCES = {f.name: f.read_text(encoding="utf-8") for f in FILES}
VARIABLES = re.compile(r"^#\s*variables:\s*(\{.*\})\s*$", re.MULTILINE)
CASE_ID = "<a case id>"


def documented_variables(source: str) -> dict[str, Any]:
    found = VARIABLES.search(source)
    return dict(json.loads(found.group(1))) if found else {}


def empty_paths(value: Any, path: str = "data") -> list[str]:
    """Where an answer holds nothing: null objects, empty lists, objects with nothing set."""
    if value is None:
        return [path]
    if isinstance(value, list):
        if not value:
            return [path]
        return [p for i, item in enumerate(value[:1]) for p in empty_paths(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        if all(v is None for v in value.values()):
            return [path]
        # Nullable leaves (an unjudged rate, a deadline not yet met) may be null; lists and
        # objects below must hold something.
        return [
            p
            for key, v in value.items()
            if isinstance(v, (list, dict))
            for p in empty_paths(v, f"{path}.{key}")
        ]
    return []


def test_the_examples_are_documented() -> None:
    assert len(FILES) >= 5
    index = (QUERIES / "README.md").read_text(encoding="utf-8")
    for file in FILES:
        assert file.name in index, f"docs/queries/README.md does not list {file.name}"
        document = parse(file.read_text(encoding="utf-8"))
        [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        assert operation.name is not None, f"{file.name}: name the operation"
        assert file.read_text(encoding="utf-8").startswith("#"), f"{file.name}: say what it is"


@pytest.mark.parametrize("file", FILES, ids=[f.stem for f in FILES])
async def test_each_documented_query_answers_with_data(province: Province, file: Path) -> None:
    source = SOURCES[file.name]
    variables = documented_variables(source)
    if CASE_ID in json.dumps(variables, ensure_ascii=False):
        async with province.engine.connect() as conn:
            case_id = (
                await conn.execute(
                    text(f'SELECT id FROM "{schema_for("530102")}".cases ORDER BY id LIMIT 1')
                )
            ).scalar_one()
        variables = json.loads(json.dumps(variables, ensure_ascii=False).replace(CASE_ID, case_id))
    async with shards(province) as shard:
        response = await shard.gateway.post(
            "/graphql", json={"query": source, "variables": variables}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"][:3]
    assert empty_paths(body["data"]) == [], f"{file.name} answered with nothing at some path"

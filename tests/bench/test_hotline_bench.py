"""`xinfang bench hotline --quick` runs end to end on a fresh database and prints its steps.
Nothing here is timed: how fast is for docs/benchmarks.md, not for a test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from bench.run import main
from shared.persistence.database import drop_database

pytestmark = pytest.mark.db


@pytest.fixture
def bench_database(database_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"xinfang_bench_hotline_test_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("DATABASE_URL", database_server)
    yield name
    asyncio.run(drop_database(database_server, name))


def test_quick_hotline_bench_prints_every_step(
    bench_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["hotline", "--quick", "--database", bench_database, "--city", "5334", "--flagged", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "500 12345 tickets over 35 nodes" in out
    rows = {line[:45].strip(): line[45:].split() for line in out.splitlines()[2:]}
    assert list(rows) == [
        "read and check the file",
        "import, 500 converted (35 nodes)",
        "figures converged to the province",
        "re-import (every row a duplicate)",
    ]
    for seconds, rate in rows.values():
        assert float(seconds) > 0
        assert rate == "-" or float(rate.replace(",", "")) > 0

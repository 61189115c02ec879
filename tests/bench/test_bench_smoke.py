"""`xinfang bench --quick` runs end to end on a fresh database and prints both measurements.
Nothing here is timed: how fast is for docs/benchmarks.md, not for a test."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator

import pytest

from bench.run import main
from shared.persistence.database import drop_database

pytestmark = pytest.mark.db

NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@pytest.fixture
def bench_database(database_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"xinfang_bench_test_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("DATABASE_URL", database_server)
    yield name
    asyncio.run(drop_database(database_server, name))


def numbers(line: str, after: str) -> list[float]:
    return [float(n.replace(",", "")) for n in NUMBER.findall(line.split(after, 1)[1])]


def test_quick_bench_prints_both_measurements(
    bench_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = ["--cases", "1500", "--registrations", "60"]  # smaller than --quick's: a smoke run
    assert main(["--quick", *sizes, "--database", bench_database, "--concurrency", "1", "4"]) == 0
    out = capsys.readouterr().out
    assert "bulk-loaded 1,500 cases" in out

    rows = {line.split("  ")[0].strip(): line for line in out.splitlines()}
    for concurrency in (1, 4):
        line = rows[f"registerPetition, concurrency {concurrency}"]
        count, rate, p50, p95, worst, statements = numbers(line, "concurrency")[1:7]
        assert count == 60
        assert 0 < p50 <= p95 <= worst
        assert rate > 0
        assert statements >= 8  # checks, id, four inserts, the case read back

    line = next(v for k, v in rows.items() if k.startswith("_entities,"))
    count, p50, p95, worst, size, statements = numbers(line, "case node")
    assert count == 5
    assert 0 < p50 <= p95 <= worst
    assert size > 0
    assert statements == 3  # cases, events, deadlines: one batch each for 1,000 references


def test_the_entities_node_is_reused(
    bench_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    small = ["--database", bench_database, "--cases", "300", "--registrations", "5"]
    small += ["--concurrency", "2", "--repeats", "1", "--warmups", "0", "--references", "50"]
    assert main(small) == 0
    assert "bulk-loaded 300 cases" in capsys.readouterr().out
    assert main(["--", *small]) == 0  # as `xinfang bench -- ...` passes it
    assert "reused 300 cases loaded earlier" in capsys.readouterr().out

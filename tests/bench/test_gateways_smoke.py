"""`xinfang bench gateways` end to end with a tiny duration: our gateway (and the reference
gateways when bench/gateways/node is installed) over the four Node.js subgraphs, through wrk.
Nothing here is timed: how fast is for docs/benchmarks.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.gateways import install
from bench.gateways.answer import DATA_FILE, expected_json, wrong_answer
from bench.gateways.run import build_parser, main, run, table

TINY = ["--duration", "1", "--warmup", "0", "--connections", "2", "--installed-only"]


def installed_gateways() -> list[str]:
    names = ["xinfang"]
    if install.python_extras_installed():
        names.append("xinfang-uvloop")
    if install.node_gateways_installed():
        names += ["apollo", "hive"]
    return names


def test_every_gateway_answers_the_deep_query_correctly_under_load() -> None:
    names = installed_gateways()
    report = run(build_parser().parse_args([*TINY, "--gateways", *names]))

    assert [r.name for r in report.rows] == names
    for row in report.rows:
        assert row.refused is None, row.refused
        assert row.load is not None
        assert row.load.wrong == 0
        assert row.load.errors == 0
        assert row.rss_peak_mib > 0
        assert row.subgraph_executed == 0  # the subgraphs were never what was measured
    ours = report.rows[0]
    assert ours.load is not None
    if ours.load.requests:
        assert ours.subgraph_requests > 1  # entity fetches across the four subgraphs
    printed = table(report).splitlines()
    for name in names:
        assert any(line.startswith(f"{name} ") for line in printed)
    assert any(line.startswith("uptime     load average before") for line in printed)


def test_refuses_to_measure_a_gateway_that_answers_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(DATA_FILE.read_text())
    data["users"][0]["name"] = "Ada King"  # the subgraphs now disagree with the monolith
    other = tmp_path / "data.json"
    other.write_text(json.dumps(data))
    monkeypatch.setenv("BENCH_SUBGRAPH_DATA", str(other))

    assert main([*TINY, "--gateways", "xinfang"]) == 2
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("xinfang "))
    assert "REFUSED wrong answer" in line
    assert "Ada King" in line


def test_an_answer_is_right_only_when_it_is_exactly_the_monolith_s() -> None:
    right = json.loads(expected_json())
    assert wrong_answer(json.dumps(right, separators=(",", ":")).encode()) is None

    right["data"]["users"][0] = dict(reversed(list(right["data"]["users"][0].items())))
    assert "differs at character" in (wrong_answer(json.dumps(right).encode()) or "")
    errors = {"data": None, "errors": [{"message": "boom"}]}
    assert "errors" in (wrong_answer(json.dumps(errors).encode()) or "")
    assert "not JSON" in (wrong_answer(b"<html>") or "")

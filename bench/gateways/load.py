"""The load generator: wrk (C, epoll), one thread, N kept-alive connections, POSTing the query
(load.lua), counting answers that are not the verified one."""

from __future__ import annotations

import json
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.gateways.processes import pinned

SCRIPT = Path(__file__).resolve().parent / "load.lua"
MARK = "XINFANG-WRK "


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    wrong: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    cpu_seconds: float  # of wrk itself

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def generate(
    wrk: str,
    url: str,
    body_file: Path,
    expected_length: int,
    *,
    seconds: int,
    connections: int,
    cpus: str | None,
) -> Load:
    command = pinned(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(SCRIPT),
            url,
            "--",
            str(body_file),
            str(expected_length),
        ],
        cpus,
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARK)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    s = json.loads(line[len(MARK) :])
    latency = s["latency_us"]
    return Load(
        requests=s["requests"],
        seconds=s["duration_us"] / 1e6 or time.monotonic() - started,
        wrong=s["wrong"],
        errors=sum(s["errors"].values()),
        p50_ms=latency["p50"] / 1000,
        p95_ms=latency["p95"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        cpu_seconds=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )

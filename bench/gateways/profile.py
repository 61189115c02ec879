"""``--profile DIR``: py-spy samples our gateway during the measured run (non-blocking, so the
process is not paused), writes the raw stacks to DIR/<gateway>.txt and summarises where the
time goes: self time by package and by function, and time inside a few functions of interest."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

from bench.gateways import install

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::\d+)?\)$")
PREFIX = re.compile(r".*/(?:site-packages|python3\.\d+|wt-[^/]+|main)/")
# Functions whose inclusive share says what a request costs (module path fragment, name)
OF_INTEREST = (
    ("gateway/fetch.py", "SubgraphFetcher._post"),
    ("httpx/_client.py", "AsyncClient.send"),
    ("httpcore/_async/connection_pool.py", "AsyncConnectionPool._assign_requests_to_connections"),
    ("gateway/pipeline.py", "Gateway.handle"),
    ("gateway/execution.py", "PlanExecutor.execute"),
    ("gateway/planner.py", "QueryPlanner.plan"),
    ("json/", "dumps"),
    ("json/", "loads"),
    ("uvicorn/protocols/http/", "RequestResponseCycle.run_asgi"),
)


def start(pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes]:
    command = [str(install.py_spy()), "record", "--pid", str(pid), "--duration", str(seconds)]
    command += [
        "--rate",
        "100",
        "--nonblocking",
        "--subprocesses",
        "--format",
        "raw",
        "--output",
        str(output),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _frame(text: str) -> tuple[str, str]:
    m = FRAME.match(text.strip())
    if not m:
        return text.strip(), ""
    return m["function"], PREFIX.sub("", m["file"])


def summary(raw: Path, top: int = 15) -> str:
    by_function: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        # --subprocesses puts a "process N:<command>" frame at the root of every stack
        frames = [_frame(f) for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        function, file = frames[-1]
        by_function[f"{function} ({file})"] += n
        by_package[file.split("/")[0] if "/" in file else file or function] += n
        seen = {label for path, label in OF_INTEREST for f, p in frames if path in p and f == label}
        for label in seen:
            inside[label] += n
    if not total:
        return "no samples"

    def share(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    lines = [f"{total:,} samples; self time by package:"]
    lines += [f"  {share(n)}  {name}" for name, n in by_package.most_common(top)]
    lines.append("self time by function:")
    lines += [f"  {share(n)}  {name}" for name, n in by_function.most_common(top)]
    lines.append("time inside (inclusive):")
    lines += [f"  {share(inside[label])}  {label}" for _, label in OF_INTEREST]
    return "\n".join(lines)

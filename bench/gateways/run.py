"""``xinfang bench gateways``: requests/s, latency, CPU and memory of federation gateways serving
the same deep query over the same four subgraphs, one after another, with one load generator.

Each gateway is first asked the query once and must answer exactly what a monolith over the
same data answers (answer.py); one that answers wrong is refused, not measured. Then wrk runs
a warm-up (discarded) and the measured run, during which every response must be the verified
one (status 200, same length). By default the gateway is pinned to CPU 0, and wrk and the
subgraphs share CPU 1 (``--gateway-cpus``, ``--other-cpus``, ``--no-pin``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.gateways import install, profile
from bench.gateways.answer import request_body, wrong_answer
from bench.gateways.load import Load, generate
from bench.gateways.processes import Service, Usage, free_port, pinned
from gateway.compose import Subgraph, compose_supergraph

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SUBGRAPHS_DIR = HERE / "subgraphs"
SUBGRAPH_NAMES = ("accounts", "inventory", "products", "reviews")
NODE_PACKAGES = ("@apollo/gateway", "@apollo/server", "@graphql-hive/gateway", "graphql")


@dataclass(frozen=True)
class Launch:
    command: list[str]
    path: str = "/graphql"
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayKind:
    name: str
    settings: str
    needs: str  # "", "node" (the reference gateways) or "python" (the Python extras)
    launch: Callable[[Path, int, argparse.Namespace], Launch]


def _ours(
    loop: str, http: str, *, deduplicate: bool = True
) -> Callable[[Path, int, argparse.Namespace], Launch]:
    def launch(supergraph: Path, port: int, args: argparse.Namespace) -> Launch:
        command = [sys.executable, "-m", "bench.gateways.ours", "--supergraph", str(supergraph)]
        command += ["--port", str(port), "--workers", str(args.workers)]
        command += ["--loop", loop, "--http", http]
        if not deduplicate:
            command += ["--no-deduplicate"]
        env = {"PYTHONPATH": str(install.PYTHON_DIR)} if loop == "uvloop" else {}
        return Launch(command, env=env)

    return launch


def _apollo(supergraph: Path, port: int, args: argparse.Namespace) -> Launch:
    return Launch(
        ["node", "apollo.mjs", str(supergraph), str(port)],
        path="/",
        cwd=install.NODE_DIR,
        env={"NODE_ENV": "production"},
    )


def _hive(config: str | None) -> Callable[[Path, int, argparse.Namespace], Launch]:
    def launch(supergraph: Path, port: int, args: argparse.Namespace) -> Launch:
        binary = install.NODE_DIR / "node_modules" / ".bin" / "hive-gateway"
        command = [str(binary), "supergraph", str(supergraph), "--host", "127.0.0.1"]
        command += ["--port", str(port), "--fork", "1"]
        if config:
            command += ["--config-path", str(install.NODE_DIR / config)]
        return Launch(command, cwd=install.NODE_DIR, env={"NODE_ENV": "production"})

    return launch


GATEWAYS = {
    g.name: g
    for g in (
        GatewayKind("xinfang", "uvicorn, asyncio + h11", "", _ours("asyncio", "h11")),
        GatewayKind(
            "xinfang-uvloop", "uvicorn, uvloop + httptools", "python", _ours("uvloop", "httptools")
        ),
        GatewayKind(
            "xinfang-no-dedupe",
            "as xinfang, subgraph request deduplication off",
            "",
            _ours("asyncio", "h11", deduplicate=False),
        ),
        GatewayKind("apollo", "@apollo/gateway + @apollo/server", "node", _apollo),
        GatewayKind("hive", "@graphql-hive/gateway CLI, --fork 1", "node", _hive(None)),
        GatewayKind(
            "hive-no-dedupe",
            "as hive, subgraph request deduplication off",
            "node",
            _hive("hive-no-dedupe.config.mjs"),
        ),
    )
}


@dataclass(frozen=True)
class Row:
    name: str
    settings: str
    refused: str | None = None
    load: Load | None = None
    cpu_percent: float = 0.0
    cpu_ms_per_request: float = 0.0
    rss_peak_mib: float = 0.0
    subgraphs_cpu_percent: float = 0.0
    wrk_cpu_percent: float = 0.0
    subgraph_requests: float = 0.0  # per gateway request
    subgraph_executed: int = 0  # subgraph requests not answered from memory
    profile: str | None = None


@dataclass(frozen=True)
class Report:
    rows: list[Row]
    skipped: list[str]
    header: list[str]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xinfang bench gateways", description=__doc__)
    parser.add_argument("--duration", type=int, default=30, help="measured seconds (30)")
    parser.add_argument("--warmup", type=int, default=5, help="discarded seconds first (5)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    parser.add_argument(
        "--gateways", nargs="+", choices=list(GATEWAYS), default=list(GATEWAYS), help="(all)"
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of ours (1)")
    parser.add_argument("--gateway-cpus", default="0", help="taskset CPU list of the gateway (0)")
    parser.add_argument("--other-cpus", default="1", help="CPUs of wrk and the subgraphs (1)")
    parser.add_argument("--no-pin", action="store_true", help="pin nothing")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample our gateway with py-spy during the measured run; raw stacks into DIR",
    )
    parser.add_argument(
        "--installed-only",
        action="store_true",
        help="install no npm or Python packages: skip the gateways that need missing ones "
        "(wrk is still installed when missing)",
    )
    return parser


def _prepare(args: argparse.Namespace) -> tuple[str, list[GatewayKind], list[str]]:
    wrk = install.ensure_wrk(install=True)
    chosen, skipped = [], []
    for name in args.gateways:
        kind = GATEWAYS[name]
        try:
            if kind.needs == "node":
                install.ensure_node_gateways(install=not args.installed_only)
            elif kind.needs == "python" or (args.profile and name.startswith("xinfang")):
                install.ensure_python_extras(install=not args.installed_only)
        except install.Missing as missing:
            skipped.append(f"{name}: {missing}")
            continue
        chosen.append(kind)
    return wrk, chosen, skipped


def _versions() -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    parts = [f"Python {platform.python_version()}", f"Node.js {node.stdout.strip()}"]
    for package in NODE_PACKAGES:
        manifest = install.NODE_DIR / "node_modules" / package / "package.json"
        if manifest.is_file():
            parts.append(f"{package} {json.loads(manifest.read_text())['version']}")
    return ", ".join(parts)


def _start_subgraphs(logs: Path, cpus: str | None) -> tuple[Service, dict[str, str]]:
    command = pinned(["node", str(SUBGRAPHS_DIR / "serve.mjs")], cpus)
    service = Service(
        "subgraphs", command, env={"NODE_ENV": "production"}, log=logs / "subgraphs.log"
    )
    try:
        urls: dict[str, str] = json.loads(service.first_line())
    except Exception:
        service.stop()
        raise
    return service, urls


def _compose(urls: dict[str, str]) -> str:
    return compose_supergraph(
        [
            Subgraph(name, urls[name], (SUBGRAPHS_DIR / f"{name}.graphql").read_text())
            for name in SUBGRAPH_NAMES
        ]
    )


def _ask(url: str) -> tuple[str | None, int]:
    """Why the gateway's answer is wrong (None if right), and the answer's length in bytes."""
    try:
        r = httpx.post(
            url, content=request_body(), headers={"content-type": "application/json"}, timeout=30
        )
    except httpx.HTTPError as error:
        return f"no answer: {error!r}", 0
    if r.status_code != 200:
        return f"HTTP {r.status_code}: {r.text[:300]}", 0
    return wrong_answer(r.content), len(r.content)


def _subgraph_stats(url: str) -> tuple[int, int]:
    """Requests the four subgraphs have received, and how many of them they executed."""
    stats = httpx.get(url.rsplit("/", 1)[0] + "/stats", timeout=10).json()
    return (
        sum(s["requests"] for s in stats.values()),
        sum(s["executed"] for s in stats.values()),
    )


class PeakMemory(threading.Thread):
    """Samples the RSS of a process tree every 0.25 s until stopped."""

    def __init__(self, service: Service) -> None:
        super().__init__(daemon=True)
        self.service = service
        self.peak = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.25):
            self.peak = max(self.peak, self.service.usage().rss_bytes)


def _percent(before: Usage, after: Usage, seconds: float) -> float:
    return 100 * (after.cpu_seconds - before.cpu_seconds) / seconds


def _measure(
    kind: GatewayKind,
    args: argparse.Namespace,
    *,
    wrk: str,
    supergraph: Path,
    body_file: Path,
    subgraphs: Service,
    subgraphs_url: str,
    logs: Path,
) -> Row:
    port = free_port()
    launch = kind.launch(supergraph, port, args)
    gateway_cpus = None if args.no_pin else args.gateway_cpus
    other_cpus = None if args.no_pin else args.other_cpus
    service = Service(
        kind.name,
        pinned(launch.command, gateway_cpus),
        cwd=launch.cwd,
        env=launch.env,
        log=logs / f"{kind.name}.log",
    )
    settings = kind.settings
    if kind.name.startswith("xinfang"):
        settings += f", {args.workers} worker{'s' if args.workers > 1 else ''}"
    try:
        url = f"http://127.0.0.1:{port}{launch.path}"
        service.wait_ready(url)
        wrong, length = _ask(url)
        if wrong:
            return Row(kind.name, settings, refused=f"wrong answer: {wrong}")
        if args.warmup:
            generate(
                wrk,
                url,
                body_file,
                length,
                seconds=args.warmup,
                connections=args.connections,
                cpus=other_cpus,
            )
            # the gateway may still be busy with requests wrk abandoned: this waits them out
            wrong, _ = _ask(url)
            if wrong:
                return Row(kind.name, settings, refused=f"wrong answer after warm-up: {wrong}")
        sampler = PeakMemory(service)
        sampler.start()
        spy = None
        if args.profile and kind.name.startswith("xinfang"):
            args.profile.mkdir(parents=True, exist_ok=True)
            raw = args.profile / f"{kind.name}.txt"
            spy = profile.start(service.pid, args.duration, raw)
        stats_before = _subgraph_stats(subgraphs_url)
        gateway_before, subgraphs_before = service.usage(), subgraphs.usage()
        started = time.monotonic()
        load = generate(
            wrk,
            url,
            body_file,
            length,
            seconds=args.duration,
            connections=args.connections,
            cpus=other_cpus,
        )
        seconds = time.monotonic() - started
        gateway_after, subgraphs_after = service.usage(), subgraphs.usage()
        stats_after = _subgraph_stats(subgraphs_url)
        summary = None
        if spy is not None:
            _, failure = spy.communicate(timeout=60)
            summary = profile.summary(raw) if raw.is_file() else failure.decode()[-500:]
        sampler.halt.set()
        sampler.join()
        wrong_after, _ = _ask(url)
        if wrong_after:
            return Row(kind.name, settings, refused=f"wrong answer after the run: {wrong_after}")
        return Row(
            kind.name,
            settings,
            load=load,
            cpu_percent=_percent(gateway_before, gateway_after, seconds),
            cpu_ms_per_request=1000
            * (gateway_after.cpu_seconds - gateway_before.cpu_seconds)
            / max(load.requests, 1),
            rss_peak_mib=max(sampler.peak, gateway_after.rss_bytes) / 2**20,
            subgraphs_cpu_percent=_percent(subgraphs_before, subgraphs_after, seconds),
            wrk_cpu_percent=100 * load.cpu_seconds / seconds,
            subgraph_requests=(stats_after[0] - stats_before[0]) / max(load.requests, 1),
            subgraph_executed=stats_after[1] - stats_before[1],
            profile=summary,
        )
    finally:
        service.stop()


def run(args: argparse.Namespace) -> Report:
    wrk, kinds, skipped = _prepare(args)
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="xinfang-bench-gateways-") as temp:
        work = Path(temp)
        body_file = work / "body.json"
        body_file.write_bytes(request_body())
        subgraphs, urls = _start_subgraphs(work, None if args.no_pin else args.other_cpus)
        try:
            supergraph = work / "supergraph.graphql"
            supergraph.write_text(_compose(urls))
            for kind in kinds:
                rows.append(
                    _measure(
                        kind,
                        args,
                        wrk=wrk,
                        supergraph=supergraph,
                        body_file=body_file,
                        subgraphs=subgraphs,
                        subgraphs_url=urls["accounts"],
                        logs=work,
                    )
                )
        finally:
            subgraphs.stop()
    load_after = os.getloadavg()
    pins = (
        "nothing pinned"
        if args.no_pin
        else f"gateway on CPU {args.gateway_cpus}; wrk and the subgraphs on CPU {args.other_cpus}"
    )
    header = [
        f"machine    {os.cpu_count()} CPUs ({_cpu_model()}); {pins}",
        f"versions   {_versions()}",
        "query      TestQuery (bench/gateways/query.graphql); every gateway's answer is checked "
        "against a monolith over the same data",
        f"load       wrk, 1 thread, {args.connections} connections, {args.warmup} s warm-up "
        f"(discarded), {args.duration} s measured",
        "uptime     load average before "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + " ".join(f"{x:.2f}" for x in load_after),
    ]
    return Report(rows, skipped, header)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


COLUMNS = (
    f"{'gateway':<15} {'req/s':>8} {'x best':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
    f"{'CPU %':>6} {'CPU ms/req':>10} {'RSS MiB':>7} {'subgr. CPU %':>12} {'subgr. req/q':>12} "
    f"{'wrk CPU %':>9}  settings"
)


def table(report: Report) -> str:
    measured = [r for r in report.rows if r.load is not None]
    best = max((r.load.rate for r in measured if r.load), default=0.0)
    lines = [*report.header, "", COLUMNS, "-" * len(COLUMNS)]
    for r in report.rows:
        if r.load is None:
            lines.append(f"{r.name:<15} REFUSED {r.refused}  ({r.settings})")
            continue
        x = r.load
        lines.append(
            f"{r.name:<15} {x.rate:>8.1f} {x.rate / best if best else 0:>6.2f} {x.p50_ms:>7.1f} "
            f"{x.p95_ms:>7.1f} {x.p99_ms:>7.1f} {r.cpu_percent:>6.0f} "
            f"{r.cpu_ms_per_request:>10.2f} {r.rss_peak_mib:>7.0f} "
            f"{r.subgraphs_cpu_percent:>12.0f} {r.subgraph_requests:>12.1f} "
            f"{r.wrk_cpu_percent:>9.0f}  {r.settings}"
        )
        if r.subgraph_executed:
            lines.append(
                f"{'':<15} {r.subgraph_executed:,} subgraph requests had a body not seen "
                "before (executed by graphql-js, not served from memory)"
            )
        if not x.requests:
            lines.append(f"{'':<15} no answer completed within the run: make it longer")
        if x.wrong or x.errors:
            lines.append(
                f"{'':<15} {x.wrong:,} of {x.requests:,} answers not the verified one, "
                f"{x.errors:,} socket/HTTP errors"
            )
    lines.append("")
    lines.append(
        "every measured answer was the verified one (HTTP 200, same length)"
        if all(r.load and r.load.requests and not (r.load.wrong or r.load.errors) for r in measured)
        else "see the lines under the rows for answers that were not the verified one"
    )
    lines.extend(f"skipped    {s}" for s in report.skipped)
    for r in report.rows:
        if r.profile:
            lines += ["", f"profile of {r.name} (py-spy, 100 Hz, non-blocking):", r.profile]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.duration < 1 or args.warmup < 0 or args.connections < 1 or args.workers < 1:
        raise SystemExit("xinfang bench gateways: --duration, --connections, --workers >= 1")
    if shutil.which("node") is None:
        print("xinfang bench gateways: Node.js (node) is not on PATH", file=sys.stderr)
        return 1
    try:
        report = run(args)
    except (RuntimeError, install.Missing, OSError, subprocess.CalledProcessError) as error:
        print(f"xinfang bench gateways: failed: {error}", file=sys.stderr)
        return 1
    print(table(report))
    return 0 if all(r.load is not None for r in report.rows) else 2

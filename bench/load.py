"""``xinfang bench load``: a sustained mixed load against the demo province (issue 6, item 5).

The platform runs as users run it — ``xinfang run`` in its own processes (a process per tier,
the gateway in front, the relay and the figures refreshers on), on the demo data of the
province — and this process drives it over HTTP through the gateway for ``--minutes``:
``--concurrency`` workers, each in a closed loop, each request from a user of its own (tokens of
the bench's own key, verified by the platform as in production). The mix, by weight:

- dashboard reads (70%): the province overview as a province leader, a city's overview as its
  leader, a county's townships with their figures as the county's leader, the escalation trail
  of a case as the province leader;
- handler writes (30%): a township's handler registers a petition (through the gateway, at
  its own node) and accepts it.

Printed: per operation the count, rate, p50/p95/max and errors; the rate held overall; the
resident memory of the platform's processes (gateway and tier services, summed) after the
warm-up and at the end, and its peak. Zero errors is the condition of a valid run: an error
makes the command exit 1 after the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.server import HOST
from bench.timing import Summary
from shared.auth import AuthSettings, Role, SigningKey
from shared.divisions import division_tree
from shared.settings import PROJECT_ROOT

QUERIES = PROJECT_ROOT / "docs" / "queries"
OVERVIEW = (QUERIES / "province-overview.graphql").read_text(encoding="utf-8")
TOWNSHIPS = """query Townships($code: ID!) { jurisdiction(code: $code) { code name
  children { code name stats { eventCount personCount backlog timelyAcceptanceRate } } } }"""
TRAIL = (QUERIES / "escalation-trail.graphql").read_text(encoding="utf-8")
CASES = """query Cases($code: ID!) { jurisdiction(code: $code) {
  cases(first: 5) { edges { node { id } } } } }"""
REGISTER = """mutation Register($i: RegisterPetitionInput!, $k: String!) {
  registerPetition(input: $i, idempotencyKey: $k) { id } }"""
ACCEPT = "mutation Accept($id: ID!) { acceptCase(id: $id, notifiedOnSpot: true) { status } }"
PERIOD = {"from": "2024-01-01", "to": "2026-12-31"}
WEIGHTS = {"province overview": 25, "city overview": 20, "county townships": 15, "trail": 10}
WRITE_WEIGHT = 30  # register + accept, timed apart


@dataclass
class Tally:
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)

    def error(self, name: str, detail: str) -> None:
        self.errors[name] += 1
        if len(self.samples) < 5:
            self.samples.append(f"{name}: {detail[:300]}")


class Users:
    """Tokens of the bench's own key, one per (worker, role, node), minted once."""

    def __init__(self, folder: Path) -> None:
        self.key = SigningKey.generate("ES256", kid="xinfang-load-bench")
        self.jwks = folder / "jwks.json"
        self.jwks.write_text(json.dumps(self.key.jwks()), encoding="utf-8")
        self.auth = AuthSettings.from_env({})
        self._tokens: dict[tuple[int, Role, str], str] = {}

    def headers(self, worker: int, role: Role, code: str) -> dict[str, str]:
        key = (worker, role, code)
        if key not in self._tokens:
            self._tokens[key] = self.key.mint(
                subject=f"load-{worker}-{role.value}@{code}",
                jurisdiction=code,
                roles=[role],
                issuer=self.auth.issuer,
                audience=self.auth.audience,
                ttl=6 * 3600.0,
            )
        return {"authorization": f"Bearer {self._tokens[key]}"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xinfang bench load", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (10)")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before timing (30)")
    parser.add_argument("--concurrency", type=int, default=8, help="workers (8)")
    parser.add_argument("--province", default="53", help="province code (53: Yunnan)")
    parser.add_argument("--cases-per-node", type=int, default=4, help="demo cases (4, as run)")
    parser.add_argument("--database", help="database name (XINFANG_DATABASE, xinfang)")
    parser.add_argument("--seed", type=int, default=7)
    return parser


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every process below it (Linux /proc)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children[parent].append(int(entry.name))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, ()))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


async def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        deadline = time.monotonic() + 1800  # the first run builds and seeds 1,607 nodes
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"xinfang run stopped: see {log}")
            try:
                if (await client.get(f"{base}/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1.0)
    raise RuntimeError("the platform was not ready within 30 minutes")


async def post(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    name: str,
    tally: Tally,
    timed: bool,
) -> dict[str, Any] | None:
    started = time.perf_counter()
    try:
        response = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as error:
        tally.error(name, f"{type(error).__name__}: {error}")
        return None
    elapsed = time.perf_counter() - started
    try:
        answer: dict[str, Any] = response.json()
    except ValueError:
        tally.error(name, f"HTTP {response.status_code}: {response.text}")
        return None
    if response.status_code != 200 or answer.get("errors"):
        tally.error(name, f"HTTP {response.status_code}: {json.dumps(answer, ensure_ascii=False)}")
        return None
    if timed:
        tally.seconds[name].append(elapsed)
    return answer


async def worker(
    number: int,
    client: httpx.AsyncClient,
    url: str,
    users: Users,
    places: dict[str, list[str]],
    cases: list[str],
    until: float,
    warm_until: float,
    tally: Tally,
    seed: int,
) -> None:
    rng = random.Random(seed * 1000 + number)
    names = [*WEIGHTS, "write"]
    weights = [*WEIGHTS.values(), WRITE_WEIGHT]
    province = places["province"][0]
    sequence = 0
    while (now := time.monotonic()) < until:
        timed = now >= warm_until
        name = rng.choices(names, weights)[0]
        if name == "province overview":
            body = {"query": OVERVIEW, "variables": {"period": PERIOD}}
            await post(
                client, url, body, users.headers(number, Role.LEADER, province), name, tally, timed
            )
        elif name == "city overview":
            city = rng.choice(places["cities"])
            body = {
                "query": OVERVIEW.replace('"53"', json.dumps(city)),
                "variables": {"period": PERIOD},
            }
            await post(
                client, url, body, users.headers(number, Role.LEADER, city), name, tally, timed
            )
        elif name == "county townships":
            county = rng.choice(places["counties"])
            body = {"query": TOWNSHIPS, "variables": {"code": county}}
            await post(
                client, url, body, users.headers(number, Role.LEADER, county), name, tally, timed
            )
        elif name == "trail":
            body = {"query": TRAIL, "variables": {"caseId": rng.choice(cases)}}
            await post(
                client, url, body, users.headers(number, Role.LEADER, province), name, tally, timed
            )
        else:
            township = rng.choice(places["townships"])
            sequence += 1
            petition = {
                "channel": rng.choice(["LETTER", "VISIT", "ONLINE", "PHONE"]),
                "category": rng.choice(["土地征收", "劳动社保", "城乡建设", "生态环境"]),
                "summary": "压力测试：反映问题",
                "issueLocality": township,
                "petitionerName": "压测" + "一二三四五六七八九"[number % 9],
            }
            key = f"load-{seed}-{number}-{sequence}-{int(time.time())}"
            handler = users.headers(number, Role.HANDLER, township)
            answer = await post(
                client,
                url,
                {"query": REGISTER, "variables": {"i": petition, "k": key}},
                handler,
                "register",
                tally,
                timed,
            )
            if answer is not None:
                case_id = answer["data"]["registerPetition"]["id"]
                await post(
                    client,
                    url,
                    {"query": ACCEPT, "variables": {"id": case_id}},
                    handler,
                    "accept",
                    tally,
                    timed,
                )


def start_platform(args: argparse.Namespace, users: Users) -> tuple[subprocess.Popen[bytes], str]:
    """``xinfang run`` in its own processes, trusting the bench's key; its base URL."""
    port = free_port()
    log = PROJECT_ROOT / ".data" / "bench-load.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "XINFANG_JWKS": str(users.jwks)}
    if args.database:
        env["XINFANG_DATABASE"] = args.database
    command = [str(Path(sys.executable).parent / "xinfang"), "run", "--port", str(port)]
    command += ["--province", args.province, "--cases-per-node", str(args.cases_per_node)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    return process, f"http://{HOST}:{port}"


async def run(
    args: argparse.Namespace, users: Users, process: subprocess.Popen[bytes], base: str
) -> tuple[str, bool]:
    tree = division_tree()
    province = args.province
    cities = [d.code for d in tree.children(province)]
    counties = [c.code for city in cities for c in tree.children(city)]
    townships = [t.code for county in counties for t in tree.children(county)]
    places = {"province": [province], "cities": cities, "counties": counties}
    places["townships"] = townships
    log = PROJECT_ROOT / ".data" / "bench-load.log"
    tally = Tally()
    memory: list[tuple[float, int]] = []
    await wait_ready(base, process, log)
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        url = f"{base}/graphql"
        probe = await post(
            client,
            url,
            {"query": CASES, "variables": {"code": counties[0]}},
            users.headers(0, Role.LEADER, counties[0]),
            "probe",
            tally,
            False,
        )
        cases = [
            e["node"]["id"]
            for e in ((probe or {}).get("data") or {})
            .get("jurisdiction", {})
            .get("cases", {})
            .get("edges", [])
        ]
        if not cases:
            raise RuntimeError(f"no demo cases at {counties[0]}: {tally.samples}")
        started = time.monotonic()
        warm_until = started + args.warmup
        until = warm_until + args.minutes * 60

        async def sample() -> None:
            while time.monotonic() < until:
                memory.append((time.monotonic() - started, tree_rss(process.pid)))
                await asyncio.sleep(10.0)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(
            *(
                worker(n, client, url, users, places, cases, until, warm_until, tally, args.seed)
                for n in range(args.concurrency)
            )
        )
        memory.append((time.monotonic() - started, tree_rss(process.pid)))
        sampler.cancel()
    return table(args, tally, memory), not tally.errors


def table(args: argparse.Namespace, tally: Tally, memory: list[tuple[float, int]]) -> str:
    seconds = args.minutes * 60
    lines = [
        f"load       {args.minutes:g} min after {args.warmup:g} s warm-up, {args.concurrency} "
        f"workers in closed loops, province {args.province} demo data; client Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs (client and platform share them)",
        "",
        f"{'operation':<20} {'n':>7} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'errors':>7}",
        "-" * 72,
    ]
    total = 0
    every: list[float] = []
    for name in [*WEIGHTS, "register", "accept"]:
        timings = tally.seconds.get(name, [])
        total += len(timings)
        every.extend(timings)
        if not timings:
            lines.append(
                f"{name:<20} {0:>7} {'':>7} {'':>8} {'':>8} {'':>8} {tally.errors.get(name, 0):>7}"
            )
            continue
        s = Summary.of(timings)
        lines.append(
            f"{name:<20} {s.count:>7,} {s.count / seconds:>7.1f} {s.p50:>8.1f} {s.p95:>8.1f} "
            f"{s.max:>8.1f} {tally.errors.get(name, 0):>7}"
        )
    overall = Summary.of(every) if every else None
    errors = sum(tally.errors.values())
    if overall is not None:
        lines.append(
            f"{'all':<20} {total:>7,} {total / seconds:>7.1f} {overall.p50:>8.1f} "
            f"{overall.p95:>8.1f} {overall.max:>8.1f} {errors:>7}"
        )
    if memory:
        after_warmup = next((rss for t, rss in memory if t >= args.warmup), memory[0][1])
        end, peak = memory[-1][1], max(rss for _, rss in memory)
        growth = (end - after_warmup) / after_warmup * 100 if after_warmup else 0.0
        lines += [
            "",
            f"memory     platform processes (gateway + tier services), resident: "
            f"{after_warmup / 2**20:,.0f} MiB after the warm-up, {end / 2**20:,.0f} MiB at the "
            f"end ({growth:+.1f}%), peak {peak / 2**20:,.0f} MiB; {len(memory)} samples",
        ]
    if tally.samples:
        lines += ["", "errors (first few):", *(f"  {s}" for s in tally.samples)]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.minutes <= 0 or args.concurrency < 1 or args.warmup < 0:
        raise SystemExit("xinfang bench load: --minutes > 0, --concurrency >= 1, --warmup >= 0")
    folder = Path(tempfile.mkdtemp(prefix="xinfang-load-"))
    users = Users(folder)
    process, base = start_platform(args, users)
    try:
        report, clean = asyncio.run(run(args, users, process, base))
    except (RuntimeError, OSError) as error:
        print(f"xinfang bench load: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)
    print(report)
    return 0 if clean else 1

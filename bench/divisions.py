"""``xinfang bench divisions``: loading the whole country's division tree from package data.

Every process loads it once at start (the tier services, the gateway's cost estimate, the
command line), so its load time is part of every start-up. ``--runs`` loads in this process,
each from the packaged file (no cache between them); prints the table.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Sequence

from bench.timing import Summary
from shared.divisions import DivisionTree

LIMIT_MS = 300.0  # what the whole country may take to load (was a timed test before)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="xinfang bench divisions", description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="loads (10)")
    args = parser.parse_args(list(argv))
    if args.runs < 1:
        raise SystemExit("xinfang bench divisions: --runs must be at least 1")
    seconds: list[float] = []
    size = 0
    for _ in range(args.runs):
        started = time.perf_counter()
        size = len(DivisionTree.from_package_data())
        seconds.append(time.perf_counter() - started)
    summary = Summary.of(seconds)
    best = min(seconds) * 1000
    print(f"python     {platform.python_version()}; {size:,} divisions")
    print()
    print(f"{'benchmark':<30} {'n':>4} {'min ms':>8} {'p50 ms':>8} {'max ms':>8}")
    print("-" * 62)
    print(
        f"{'load the whole country':<30} {summary.count:>4} {best:>8.1f} {summary.p50:>8.1f} "
        f"{summary.max:>8.1f}"
    )
    print(f"target: best load {best:.1f} ms ({'under' if best < LIMIT_MS else 'NOT under'} 300 ms)")
    return 0

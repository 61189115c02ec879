"""Composition: each tier's subgraph SDL and the xinfang supergraph, as committed files.

``xinfang compose`` prints every tier's schema (the SDL its ``_service`` serves), writes it to
``gateway/supergraph/<tier>.graphql`` and composes the supergraph with a standard Federation v2
composer from the GraphQL ecosystem (``@theguild/federation-composition``, run by Node.js from
``tools/node``, installed by ``scripts/node-tools``). ``xinfang compose --check`` writes
nothing and fails when a committed file differs from what the code gives now: CI runs it, so
the committed SDLs and the supergraph never go stale.

Each subgraph's URL in the supergraph is its tier service's endpoint under the in-cluster name
of that service; a node registry (``xinfang gateway --registry``) routes past it by key.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.divisions import Tier

__all__ = [
    "SUPERGRAPH_DIR",
    "SUPERGRAPH_FILE",
    "CompositionFailed",
    "Subgraph",
    "compose_supergraph",
    "composed_files",
    "stale_files",
    "tier_subgraphs",
]

ROOT = Path(__file__).resolve().parent.parent
SUPERGRAPH_DIR = Path(__file__).resolve().parent / "supergraph"
SUPERGRAPH_FILE = SUPERGRAPH_DIR / "xinfang.supergraph.graphql"
COMPOSER = ROOT / "tools" / "node" / "compose.mjs"
DEFAULT_URL = "http://xinfang-{tier}/tiers/{tier}/graphql"


class CompositionFailed(Exception):
    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("composition failed:\n" + "\n".join(f"  {e}" for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class Subgraph:
    name: str
    url: str
    sdl: str


def tier_subgraphs(url_template: str = DEFAULT_URL) -> list[Subgraph]:
    """The four tier subgraphs, as their services print them, in tier order."""
    subgraphs = []
    for tier in Tier:
        name = tier.value.lower()
        schema = importlib.import_module(f"{name}.schema").schema
        sdl = schema.as_str().rstrip("\n") + "\n"
        subgraphs.append(Subgraph(name, url_template.format(tier=name), sdl))
    return subgraphs


def compose_supergraph(subgraphs: Sequence[Subgraph], *, composer: Path = COMPOSER) -> str:
    """The supergraph SDL of ``subgraphs``, or ``CompositionFailed`` with the composer's errors."""
    node = shutil.which("node")
    if node is None:
        raise CompositionFailed(["Node.js (node) is not on PATH: scripts/install needs it"])
    if not (composer.parent / "node_modules").is_dir():
        raise CompositionFailed(["the composer is not installed: run scripts/node-tools"])
    payload = {"subgraphs": [{"name": s.name, "url": s.url, "sdl": s.sdl} for s in subgraphs]}
    done = subprocess.run(
        [node, str(composer)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise CompositionFailed([done.stderr.strip() or f"node exited {done.returncode}"])
    result = json.loads(done.stdout)
    if "errors" in result:
        raise CompositionFailed(
            [f"{e.get('code') or 'ERROR'}: {e['message']}" for e in result["errors"]]
        )
    supergraph: str = result["supergraph"]
    return supergraph.rstrip("\n") + "\n"


def composed_files(url_template: str = DEFAULT_URL) -> dict[Path, str]:
    """Every file ``xinfang compose`` writes, with its content."""
    subgraphs = tier_subgraphs(url_template)
    files = {SUPERGRAPH_DIR / f"{s.name}.graphql": s.sdl for s in subgraphs}
    files[SUPERGRAPH_FILE] = compose_supergraph(subgraphs)
    return files


def stale_files(files: Mapping[Path, str]) -> list[Path]:
    """The files whose committed content differs from ``files`` (or that are missing)."""
    return [
        path
        for path, content in files.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != content
    ]


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="xinfang compose",
        description="Write each tier's SDL and compose the xinfang supergraph.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail when a committed SDL or the supergraph is stale",
    )
    args = parser.parse_args(argv)
    try:
        files = composed_files()
    except CompositionFailed as failure:
        print(failure)
        return 2
    stale = stale_files(files)
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run `xinfang compose` and commit it)")
        if not stale:
            print(f"composed {len(files) - 1} subgraphs: committed SDLs and supergraph are current")
        return 1 if stale else 0
    SUPERGRAPH_DIR.mkdir(parents=True, exist_ok=True)
    for path in stale:
        path.write_text(files[path], encoding="utf-8")
    for path in files:
        state = "written" if path in stale else "unchanged"
        print(f"{state:9} {path.relative_to(ROOT)}")
    return 0

"""What the gateway bench needs beyond the project, installed on demand (never by
scripts/install, so CI does not pay for it): the reference gateways (npm, pinned by
node/package-lock.json), wrk (Debian's package) and Python extras (requirements.txt) in
ignored folders beside this file."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
PYTHON_DIR = HERE / ".python"
REQUIREMENTS = HERE / "requirements.txt"


class Missing(Exception):
    """A tool the bench needs is not installed (and was not to be installed)."""


def _stamp_matches(stamp: Path, source: Path) -> bool:
    want = hashlib.sha256(source.read_bytes()).hexdigest()
    return stamp.is_file() and stamp.read_text().strip() == want


def _write_stamp(stamp: Path, source: Path) -> None:
    stamp.write_text(hashlib.sha256(source.read_bytes()).hexdigest() + "\n")


def node_gateways_installed() -> bool:
    return _stamp_matches(
        NODE_DIR / "node_modules" / ".xinfang-installed", NODE_DIR / "package-lock.json"
    )


def ensure_node_gateways(*, install: bool) -> None:
    if node_gateways_installed():
        return
    if not install:
        raise Missing("the reference gateways are not installed (bench/gateways/node)")
    print("installing the reference gateways (npm ci in bench/gateways/node) ...", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True
    )
    _write_stamp(NODE_DIR / "node_modules" / ".xinfang-installed", NODE_DIR / "package-lock.json")


def python_extras_installed() -> bool:
    return _stamp_matches(PYTHON_DIR / ".xinfang-installed", REQUIREMENTS)


def ensure_python_extras(*, install: bool) -> None:
    if python_extras_installed():
        return
    if not install:
        raise Missing("uvloop/httptools/py-spy are not installed (bench/gateways/.python)")
    print("installing uvloop, httptools, py-spy into bench/gateways/.python ...", flush=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "--upgrade", "--target", str(PYTHON_DIR), "-r", str(REQUIREMENTS)], check=True
    )
    _write_stamp(PYTHON_DIR / ".xinfang-installed", REQUIREMENTS)


def py_spy() -> Path:
    return PYTHON_DIR / "bin" / "py-spy"


def ensure_wrk(*, install: bool) -> str:
    """The path of wrk; installs Debian's package when allowed and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if not install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise Missing("wrk is not installed: apt-get install wrk")
    print("installing wrk (apt-get install wrk) ...", flush=True)
    get = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(get, check=False, stdout=subprocess.DEVNULL).returncode:
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(get, check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise Missing("wrk is still not on PATH after apt-get install wrk")
    return found

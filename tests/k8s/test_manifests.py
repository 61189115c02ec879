"""What the rendered manifests promise: services that select their pods, probes on /ready and
/health, hardened containers with requests and limits, a registry that routes every tier to
its service, one database per tier, secrets never committed, tier services started exactly
as ``xinfang run`` accepts."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

import pytest

from gateway.server import build_parser as gateway_parser
from gateway.supergraph import load_supergraph
from shared.cli import build_parser
from shared.cli import tier_nodes as hosted_by
from shared.divisions import Tier, tier_of
from shared.registry import NodeRegistry
from tests.k8s.manifests import (
    K8S,
    OVERLAYS,
    ROOT,
    Resource,
    container_env,
    containers,
    expanded_args,
    generated,
    named,
    namespaces,
    of_kind,
    overlay,
)

TIERS = [t.value.lower() for t in Tier]
# Measured: a cold start of Yunnan's township service (1,461 new schemas) took 89 s on two
# shared cores; the startup probe must allow several times that before liveness takes over.
COLD_START_SECONDS = 89


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def pod_labels(deployment: Resource) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def tier_deployments(resources: tuple[Resource, ...]) -> dict[str, Resource]:
    return {
        pod_labels(d)["xinfang.gov.cn/tier"]: d
        for d in of_kind(resources, "Deployment")
        if pod_labels(d).get("app.kubernetes.io/component") == "tier-service"
    }


def run_options(resources: tuple[Resource, ...], deployment: Resource) -> object:
    args = expanded_args(resources, containers(deployment)[0])
    assert args[0] == "run"
    return build_parser().parse_args(args)


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_service_selects_one_deployment_by_a_named_port(name: str) -> None:
    resources = overlay(name)
    for service in of_kind(resources, "Service"):
        namespace = service["metadata"].get("namespace")
        chosen = [
            d
            for d in of_kind(resources, "Deployment")
            if d["metadata"].get("namespace") == namespace
            and selects(service["spec"]["selector"], pod_labels(d))
        ]
        assert len(chosen) == 1, service["metadata"]["name"]
        ports = {p["name"] for c in containers(chosen[0]) for p in c["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_container_is_probed_on_ready_and_health(name: str) -> None:
    for deployment in of_kind(overlay(name), "Deployment"):
        for container in containers(deployment):
            assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health"
            startup = container["startupProbe"]
            assert startup["httpGet"]["path"] == "/health"
            ports = {p["name"] for p in container["ports"]}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                assert container[probe]["httpGet"]["port"] in ports
            if pod_labels(deployment)["app.kubernetes.io/component"] == "tier-service":
                budget = startup["periodSeconds"] * startup["failureThreshold"]
                assert budget >= 5 * COLD_START_SECONDS


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_pod_runs_non_root_read_only_with_requests_and_limits(name: str) -> None:
    for deployment in of_kind(overlay(name), "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] >= 10000
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert pod["enableServiceLinks"] is False  # no XINFANG_*_PORT variables from Services
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts  # the only writable place
            resources = container["resources"]
            assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_gateway_scales_by_cpu_and_every_service_keeps_pods_through_disruptions(
    name: str,
) -> None:
    for resources in namespaces(overlay(name)):
        scales_and_budgets(resources)


def scales_and_budgets(resources: tuple[Resource, ...]) -> None:
    for hpa in of_kind(resources, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert target["name"] == "xinfang-gateway"
        named(resources, "Deployment", target["name"])
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert of_kind(resources, "HorizontalPodAutoscaler")
    budgets = of_kind(resources, "PodDisruptionBudget")
    for deployment in of_kind(resources, "Deployment"):
        covering = [
            b
            for b in budgets
            if selects(b["spec"]["selector"]["matchLabels"], pod_labels(deployment))
        ]
        assert len(covering) == 1, deployment["metadata"]["name"]


def test_a_province_runs_several_replicas_of_everything_and_three_database_instances() -> None:
    resources = overlay("province")
    for tier, deployment in tier_deployments(resources).items():
        assert deployment["spec"]["replicas"] >= 2, tier
    assert (
        named(resources, "HorizontalPodAutoscaler", "xinfang-gateway")["spec"]["minReplicas"] >= 2
    )
    for cluster in of_kind(resources, "Cluster"):
        assert cluster["spec"]["instances"] == 3
        assert cluster["spec"]["postgresql"]["synchronous"] == {"method": "any", "number": 1}
        assert cluster["spec"]["affinity"]["podAntiAffinityType"] == "required"


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_registry_routes_every_tier_to_the_service_of_its_pods(name: str) -> None:
    resources = overlay(name)
    for config in (m for m in of_kind(resources, "ConfigMap") if "registry.json" in m["data"]):
        namespace = config["metadata"].get("namespace")
        registry = NodeRegistry.from_json(config["data"]["registry.json"])
        local = tuple(r for r in resources if r["metadata"].get("namespace") == namespace)
        deployments = tier_deployments(local)
        assert set(registry.tiers) == set(Tier)
        for tier, url in registry.tiers.items():
            parts = urlsplit(url)
            service = named(local, "Service", parts.hostname or "")
            deployment = deployments[tier.value.lower()]
            assert selects(service["spec"]["selector"], pod_labels(deployment))
            port = next(p for p in service["spec"]["ports"] if p["port"] == (parts.port or 80))
            container = containers(deployment)[0]
            listening = int(run_options(local, deployment).port)  # type: ignore[attr-defined]
            target = next(p for p in container["ports"] if p["name"] == port["targetPort"])
            assert target["containerPort"] == listening


@pytest.mark.parametrize("name", OVERLAYS)
def test_tier_services_read_the_registry_they_mount(name: str) -> None:
    for resources in namespaces(overlay(name)):
        reads_mounted_registry(resources)


def reads_mounted_registry(resources: tuple[Resource, ...]) -> None:
    for deployment in tier_deployments(resources).values():
        options = run_options(resources, deployment)
        registry = str(options.registry)  # type: ignore[attr-defined]
        container = containers(deployment)[0]
        mount = next(
            m for m in container["volumeMounts"] if registry.startswith(m["mountPath"] + "/")
        )
        volume = next(
            v
            for v in deployment["spec"]["template"]["spec"]["volumes"]
            if v["name"] == mount["name"]
        )
        config = named(resources, "ConfigMap", volume["configMap"]["name"])
        assert registry.removeprefix(mount["mountPath"] + "/") in config["data"]
        assert options.host == "0.0.0.0"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "province", "counts"),
    [
        ("province", "53", {"province": 1, "city": 16, "county": 129, "township": 1461}),
        ("country-example", "52", {"province": 1, "city": 9, "county": 88, "township": 1510}),
    ],
)
def test_a_province_hosts_every_node_of_each_tier_in_its_service_without_seeding(
    name: str, province: str, counts: dict[str, int]
) -> None:
    resources = tuple(
        r for r in overlay(name) if r["metadata"].get("namespace") == f"xinfang-{province}"
    )
    hosted: Counter[str] = Counter()
    for tier, deployment in tier_deployments(resources).items():
        options = run_options(resources, deployment)
        assert options.cases_per_node == 0  # type: ignore[attr-defined]
        assert options.province == province  # type: ignore[attr-defined]
        nodes = hosted_by([Tier(options.tier.upper())], province, options.nodes)  # type: ignore[attr-defined]
        assert {tier_of(code).value.lower() for code in nodes} == {tier}
        hosted[tier] = len(nodes)
    assert dict(hosted) == counts


def test_dev_hosts_one_line_of_the_tree_and_seeds_a_few_cases() -> None:
    resources = overlay("dev")
    hosted = {}
    for tier, deployment in tier_deployments(resources).items():
        options = run_options(resources, deployment)
        assert options.cases_per_node > 0  # type: ignore[attr-defined]
        hosted[tier] = list(options.nodes)  # type: ignore[attr-defined]
        assert {tier_of(code).value.lower() for code in hosted[tier]} == {tier}
    assert hosted["province"] == ["53"]
    assert hosted["city"] == ["5301"]
    assert hosted["county"] == ["530102"]
    assert len(hosted["township"]) == 11
    assert all(code.startswith("530102") for code in hosted["township"])


@pytest.mark.parametrize("name", OVERLAYS)
def test_each_tier_service_uses_the_database_cluster_of_its_tier(name: str) -> None:
    resources = overlay(name)
    for tier, deployment in tier_deployments(resources).items():
        env = {e["name"]: e for e in containers(deployment)[0]["env"]}
        ref = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"xinfang-pg-{tier}-app", "key": "uri"}
        namespace = deployment["metadata"].get("namespace")
        cluster = next(
            c
            for c in of_kind(resources, "Cluster")
            if c["metadata"]["name"] == f"xinfang-pg-{tier}"
            and c["metadata"].get("namespace") == namespace
        )
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        assert (
            initdb["database"]
            == generated(
                tuple(r for r in resources if r["metadata"].get("namespace") == namespace),
                "ConfigMap",
                "xinfang-config",
            )["data"]["XINFANG_DATABASE"]
        )


@pytest.mark.parametrize("name", OVERLAYS)
def test_each_database_owner_may_create_the_node_roles(name: str) -> None:
    for cluster in of_kind(overlay(name), "Cluster"):
        owner = cluster["spec"]["bootstrap"]["initdb"]["owner"]
        roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
        assert roles[owner]["createrole"] is True
        assert roles[owner]["login"] is True
        assert roles[owner]["superuser"] is False  # else node roles guard nothing (ADR 0007)
        assert "passwordSecret" not in roles[owner]  # keeps the generated -app password
        assert cluster["spec"]["enableSuperuserAccess"] is False


def secret_names(deployment: Resource) -> set[str]:
    pod = deployment["spec"]["template"]["spec"]
    names = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    for container in pod["containers"]:
        for var in container.get("env", []):
            if "secretKeyRef" in var.get("valueFrom", {}):
                names.add(var["valueFrom"]["secretKeyRef"]["name"])
    return names


def test_dev_generates_placeholder_secrets_for_the_keys_and_the_jwks() -> None:
    resources = overlay("dev")
    keys = generated(resources, "Secret", "xinfang-keys")
    assert set(keys["data"]) == {"person-key-secret", "encryption-key", "service-secret"}
    assert set(generated(resources, "Secret", "xinfang-jwks")["data"]) == {"jwks.json"}
    for deployment in of_kind(resources, "Deployment"):
        for secret in secret_names(deployment):
            assert secret.startswith("xinfang-pg-") or secret in {
                s["metadata"]["name"] for s in of_kind(resources, "Secret")
            }


@pytest.mark.parametrize("name", ["province", "country-example"])
def test_a_province_commits_no_secret_and_documents_every_one_it_needs(name: str) -> None:
    resources = overlay(name)
    assert of_kind(resources, "Secret") == []
    clusters = {c["metadata"]["name"] for c in of_kind(resources, "Cluster")}
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    needed = set().union(*(secret_names(d) for d in of_kind(resources, "Deployment")))
    for secret in needed:
        if secret.endswith("-app") and secret.removesuffix("-app") in clusters:
            continue  # written by CloudNativePG
        assert re.search(rf"kubectl .*create secret generic {secret}\b", readme), secret


def test_every_tier_service_keys_persons_with_the_same_secret() -> None:
    for name in OVERLAYS:
        refs = {
            str(e["valueFrom"]["secretKeyRef"])
            for d in tier_deployments(overlay(name)).values()
            for e in containers(d)[0]["env"]
            if e["name"] == "XINFANG_PERSON_KEY_SECRET"
        }
        assert len(refs) == 1, name


def test_no_private_key_is_committed_under_k8s() -> None:
    for path in K8S.rglob("*"):
        if path.is_file() and path.suffix in {".yaml", ".json", ".env", ""}:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "PRIVATE KEY" not in text, path
            assert not re.search(r'"(d|p|q|dp|dq|qi|k)"\s*:', text), path  # private JWK members


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_namespace_enforces_the_restricted_pod_security_standard(name: str) -> None:
    resources = overlay(name)
    namespaces = {n["metadata"]["name"]: n for n in of_kind(resources, "Namespace")}
    assert namespaces
    for namespace in namespaces.values():
        labels = namespace["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] in namespaces


def gateway_container(resources: tuple[Resource, ...]) -> Resource:
    return containers(named(resources, "Deployment", "xinfang-gateway"))[0]


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_gateway_starts_as_xinfang_gateway_accepts_on_its_container_port(name: str) -> None:
    for resources in namespaces(overlay(name)):
        container = gateway_container(resources)
        args = expanded_args(resources, container)
        assert args[0] == "gateway"
        options = gateway_parser().parse_args(args[1:])
        assert options.host == "0.0.0.0"
        assert options.port == container["ports"][0]["containerPort"]
        assert str(options.supergraph).startswith("/app/")


def test_the_supergraph_in_the_image_calls_each_tier_at_its_service() -> None:
    resources = namespaces(overlay("province"))[0]
    path = str(
        gateway_parser()
        .parse_args(expanded_args(resources, gateway_container(resources))[1:])
        .supergraph
    )
    sdl = (ROOT / path.removeprefix("/app/")).read_text(encoding="utf-8")
    urls = load_supergraph(sdl).subgraph_urls()
    assert set(urls) == set(TIERS)
    deployments = tier_deployments(resources)
    for tier, url in urls.items():
        parts = urlsplit(url)
        service = named(resources, "Service", parts.hostname or "")
        assert any(p["port"] == (parts.port or 80) for p in service["spec"]["ports"])
        assert selects(service["spec"]["selector"], pod_labels(deployments[tier]))


@pytest.mark.parametrize("name", ["province", "country-example"])
def test_a_province_verifies_tokens_against_the_mounted_key_set(name: str) -> None:
    for resources in namespaces(overlay(name)):
        for deployment in of_kind(resources, "Deployment"):
            container = containers(deployment)[0]
            env = container_env(resources, container)
            jwks = env["XINFANG_JWKS"]
            mount = next(m for m in container["volumeMounts"] if jwks.startswith(m["mountPath"]))
            volume = next(
                v
                for v in deployment["spec"]["template"]["spec"]["volumes"]
                if v["name"] == mount["name"]
            )
            assert volume["secret"]["secretName"] == "xinfang-jwks"
            assert jwks.removeprefix(mount["mountPath"] + "/") == "jwks.json"
            assert env["XINFANG_ISSUER"].startswith("https://")

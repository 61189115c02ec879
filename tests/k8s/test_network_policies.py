"""Who reaches whom under the rendered NetworkPolicies, judged as the Kubernetes rules say: a
pod selected by no policy of a direction is open in it; once selected, only what some rule
of that direction allows passes, and a connection needs the sender's egress and the
receiver's ingress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.k8s.manifests import Resource, of_kind, overlay


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    external: bool = False  # an address outside the cluster (no labels, no namespace)


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def peer_matches(peer: dict[str, Any], pod: Pod, policy_namespace: str) -> bool:
    if pod.external:
        return False  # these policies name no ipBlock
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": pod.namespace}
        if not matches(peer["namespaceSelector"], namespace_labels):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return matches(peer.get("podSelector", {}), pod.labels)


def port_matches(rule: dict[str, Any], port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    return not ports or any(
        p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports
    )


def direction_allows(
    policies: list[Resource], direction: str, subject: Pod, other: Pod, port: int, protocol: str
) -> bool:
    key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == subject.namespace
        and direction in p["spec"]["policyTypes"]
        and matches(p["spec"]["podSelector"], subject.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(key, []):
            if not port_matches(rule, port, protocol):
                continue
            if peers not in rule or any(
                peer_matches(peer, other, policy["metadata"]["namespace"]) for peer in rule[peers]
            ):
                return True
    return False


def reaches(
    policies: list[Resource], source: Pod, target: Pod, port: int, protocol: str = "TCP"
) -> bool:
    egress = source.external or direction_allows(policies, "Egress", source, target, port, protocol)
    ingress = target.external or direction_allows(
        policies, "Ingress", target, source, port, protocol
    )
    return egress and ingress


def pods_of(resources: tuple[Resource, ...], namespace: str) -> dict[str, Pod]:
    """The pods the overlay makes, with their labels: its Deployments' and CloudNativePG's."""
    found = {
        d["metadata"]["name"].removeprefix("xinfang-"): Pod(
            namespace, d["spec"]["template"]["metadata"]["labels"]
        )
        for d in of_kind(resources, "Deployment")
        if d["metadata"]["namespace"] == namespace
    }
    for cluster in of_kind(resources, "Cluster"):
        if cluster["metadata"]["namespace"] == namespace:
            labels = {
                **cluster["spec"]["inheritedMetadata"]["labels"],
                "cnpg.io/cluster": cluster["metadata"]["name"],
                "cnpg.io/podRole": "instance",
            }
            found[cluster["metadata"]["name"].removeprefix("xinfang-")] = Pod(namespace, labels)
    return found


TIERS = ["province", "city", "county", "township"]
OPERATOR = Pod("cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"})
INGRESS = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
DNS = Pod("kube-system", {"k8s-app": "kube-dns"})
INTERNET = Pod("", external=True)


@pytest.fixture(scope="module")
def province() -> tuple[list[Resource], dict[str, Pod]]:
    resources = overlay("province")
    pods = pods_of(resources, "xinfang-53")
    assert set(pods) == {"gateway", *TIERS, *(f"pg-{t}" for t in TIERS)}
    return of_kind(resources, "NetworkPolicy"), pods


def test_the_edge_reaches_the_gateway_and_the_gateway_every_tier_service(
    province: tuple[list[Resource], dict[str, Pod]],
) -> None:
    policies, pods = province
    assert reaches(policies, INGRESS, pods["gateway"], 4000)
    assert reaches(policies, INTERNET, pods["gateway"], 4000)
    for tier in TIERS:
        assert reaches(policies, pods["gateway"], pods[tier], 8000)
    assert not reaches(policies, pods["gateway"], pods["county"], 5432)


def test_tier_services_reach_each_other_on_the_service_port_only(
    province: tuple[list[Resource], dict[str, Pod]],
) -> None:
    policies, pods = province
    for sender in TIERS:
        for receiver in TIERS:
            assert reaches(policies, pods[sender], pods[receiver], 8000)
            assert not reaches(policies, pods[sender], pods[receiver], 9000)
        assert not reaches(policies, pods[sender], pods["gateway"], 4000)


def test_nothing_else_reaches_a_tier_service_or_a_database(
    province: tuple[list[Resource], dict[str, Pod]],
) -> None:
    policies, pods = province
    stray = Pod("xinfang-53", {"app": "debug-shell"})
    for outsider in (stray, INGRESS, INTERNET):
        for tier in TIERS:
            assert not reaches(policies, outsider, pods[tier], 8000)
            assert not reaches(policies, outsider, pods[f"pg-{tier}"], 5432)
    assert not reaches(policies, OPERATOR, pods["county"], 8000)


def test_each_tier_service_reaches_its_own_database_and_no_other(
    province: tuple[list[Resource], dict[str, Pod]],
) -> None:
    policies, pods = province
    for tier in TIERS:
        for database in TIERS:
            allowed = reaches(policies, pods[tier], pods[f"pg-{database}"], 5432)
            assert allowed == (tier == database), (tier, database)
    assert not reaches(policies, pods["gateway"], pods["pg-county"], 5432)


def test_the_operator_and_the_instances_reach_a_database(
    province: tuple[list[Resource], dict[str, Pod]],
) -> None:
    policies, pods = province
    county = pods["pg-county"]
    assert reaches(policies, OPERATOR, county, 8000)
    assert reaches(policies, county, county, 5432)  # replication between instances
    assert not reaches(policies, pods["pg-township"], county, 5432)


def test_services_resolve_names_but_call_nothing_outside(
    province: tuple[list[Resource], dict[str, Pod]],
) -> None:
    policies, pods = province
    for name in ("gateway", *TIERS):
        assert reaches(policies, pods[name], DNS, 53, "UDP")
        assert not reaches(policies, pods[name], INTERNET, 443)
        assert not reaches(policies, pods[name], OPERATOR, 443)


def test_provinces_of_a_country_do_not_reach_each_other() -> None:
    resources = overlay("country-example")
    policies = of_kind(resources, "NetworkPolicy")
    yunnan, guizhou = pods_of(resources, "xinfang-53"), pods_of(resources, "xinfang-52")
    assert reaches(policies, guizhou["gateway"], guizhou["county"], 8000)
    assert not reaches(policies, guizhou["gateway"], yunnan["county"], 8000)
    assert not reaches(policies, guizhou["county"], yunnan["county"], 8000)
    assert not reaches(policies, guizhou["county"], yunnan["pg-county"], 5432)


def test_without_the_policies_a_stray_pod_would_reach_everything(
    province: tuple[list[Resource], dict[str, Pod]],
) -> None:
    policies, pods = province
    stray = Pod("xinfang-53", {"app": "debug-shell"})
    assert not reaches(policies, stray, pods["pg-county"], 5432)
    assert reaches([], stray, pods["county"], 8000)
    assert reaches([], stray, pods["pg-county"], 5432)
    assert reaches([], pods["county"], pods["pg-township"], 5432)

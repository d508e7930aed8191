"""The chart lints clean, renders the documented objects for each main combination of values, refuses
contradictory values with a clear message, and the real API server accepts what it renders.

The dry runs are server-side applies against the test control plane, with the ServiceMonitor,
PodMonitor and PrometheusRule CRDs of the Prometheus Operator installed (tests/helm/monitoring-crds.sh),
so the monitoring objects are checked against their real schemas too. The namespace enforces Pod
Security `restricted`: a pod the profile refuses shows up as a warning, which fails the test.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helm.chart import (
    CHART,
    NAMESPACE,
    VALUES,
    helm,
    kinds,
    render,
    rendered,
    template_args,
    value_files,
)
from tests.support.controlplane import ControlPlane

OPERATOR = {
    ("ServiceAccount", "rollback-operator"),
    ("ClusterRole", "rollback-operator"),
    ("ClusterRoleBinding", "rollback-operator"),
    ("Deployment", "rollback-operator"),
    ("Service", "rollback-operator-metrics"),
    ("NetworkPolicy", "rollback-operator"),
}
ADMISSION = {
    ("ValidatingAdmissionPolicy", "rollbackapprovals.rollback.dev"),
    ("ValidatingAdmissionPolicyBinding", "rollbackapprovals.rollback.dev"),
}
ROLES = {("ClusterRole", f"rollback-{role}") for role in ("requester", "approver", "viewer", "history")}
MONITORING = {
    ("ServiceMonitor", "rollback-operator"),
    ("PrometheusRule", "rollback-operator"),
    ("ConfigMap", "rollback-operator-dashboard"),
}
EXPECTED = {  # value file (tests/helm/values/): the objects it renders
    "defaults": OPERATOR | ADMISSION | ROLES,
    "servicemonitor": OPERATOR | ADMISSION | ROLES | MONITORING,
    "podmonitor": OPERATOR | ADMISSION | ROLES | {("PodMonitor", "rollback-operator")},
    "networkpolicy-egress": OPERATOR | ADMISSION | ROLES,
    "ca-bundle": OPERATOR | ADMISSION | ROLES,
    "admission-off": OPERATOR,
    "replicas": OPERATOR | ADMISSION | ROLES,
    "everything": OPERATOR
    | ADMISSION
    | ROLES
    | MONITORING
    | {
        ("MutatingAdmissionPolicy", "rollbackrequests-requested-by.rollback.dev"),
        ("MutatingAdmissionPolicyBinding", "rollbackrequests-requested-by.rollback.dev"),
    },
}


def _files(name: str) -> list[str]:
    return [] if name == "defaults" else [name]


def _deployment(name: str) -> dict[str, Any]:
    return next(o for o in render(_files(name)) if o["kind"] == "Deployment")


def _container(name: str) -> dict[str, Any]:
    container: dict[str, Any] = _deployment(name)["spec"]["template"]["spec"]["containers"][0]
    return container


def test_every_value_file_has_an_expectation() -> None:
    assert set(EXPECTED) == {"defaults", *value_files()}


@pytest.mark.parametrize("strict", [False, True], ids=["lint", "lint-strict"])
def test_helm_lint_is_clean(strict: bool) -> None:
    result = helm("lint", str(CHART), *(["--strict"] if strict else []))

    assert "0 chart(s) failed" in result.stdout
    assert "[WARNING]" not in result.stdout
    assert "[ERROR]" not in result.stdout


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_combination_lints_and_renders_the_documented_objects(name: str) -> None:
    args = [
        a
        for f in _files(name)
        for a in ("--values", str(CHART.parent.parent / "tests/helm/values" / f"{f}.yaml"))
    ]
    helm("lint", "--strict", str(CHART), *args)

    assert kinds(render(_files(name))) == EXPECTED[name]


def test_both_monitors_are_refused_by_the_schema_naming_the_conflict() -> None:
    both = ["metrics.serviceMonitor.enabled=true", "metrics.podMonitor.enabled=true"]
    result = helm(*template_args(sets=both), check=False)

    assert result.returncode != 0
    assert "at '/metrics/podMonitor/enabled': value must be false" in result.stderr


def test_both_monitors_are_refused_by_the_template_too_when_the_schema_is_skipped() -> None:
    both = ["metrics.serviceMonitor.enabled=true", "metrics.podMonitor.enabled=true"]
    result = helm(*template_args(sets=both), "--skip-schema-validation", check=False)

    assert result.returncode != 0
    assert "serviceMonitor.enabled and metrics.podMonitor.enabled are both true: choose one" in result.stderr


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["caBundle.configMap.name=a", "caBundle.secret.name=b"], "'/caBundle': 'not' failed"),
        (["networkPolicy.egress.enabled=true"], "/networkPolicy/egress/apiServer/cidrs"),
        (["replicas=-1"], "/replicas"),
        (["allowedEndpoints[0]=ftp://x"], "/allowedEndpoints/0"),
        (["recordRetention=forever"], "/recordRetention"),
        (["metrics.serviceMonitr.enabled=true"], "additional properties 'serviceMonitr' not allowed"),
    ],
    ids=[
        "two-ca-sources",
        "egress-without-api-server",
        "negative-replicas",
        "endpoint-scheme",
        "retention",
        "misspelt-key",
    ],
)
def test_the_schema_refuses_values_that_cannot_work(sets: list[str], message: str) -> None:
    result = helm(*template_args(sets=sets), check=False)

    assert result.returncode != 0
    assert message in result.stderr


def test_the_ca_bundle_is_mounted_and_named_by_the_variable_the_operator_reads() -> None:
    deployment = _deployment("ca-bundle")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "ca-bundle")
    mount = next(m for m in container["volumeMounts"] if m["name"] == "ca-bundle")

    assert volume["configMap"] == {"name": "corporate-ca", "items": [{"key": "bundle.pem", "path": "ca.crt"}]}
    assert mount == {"name": "ca-bundle", "mountPath": "/etc/rollback-operator/ca", "readOnly": True}
    assert container["env"] == [
        {"name": "ROLLBACK_OPERATOR_CA_BUNDLE", "value": "/etc/rollback-operator/ca/ca.crt"}
    ]


def test_without_a_ca_bundle_nothing_is_mounted_and_no_variable_is_set() -> None:
    container = _container("defaults")

    assert "env" not in container
    assert [m["name"] for m in container["volumeMounts"]] == ["tmp"]


def test_egress_allows_dns_the_api_server_and_every_allowed_endpoint_port() -> None:
    policy = next(o for o in render(["networkpolicy-egress"]) if o["kind"] == "NetworkPolicy")
    dns, api, providers = policy["spec"]["egress"]

    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert api["to"] == [{"ipBlock": {"cidr": "10.0.0.10/32"}}]
    assert providers["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]
    assert sorted(p["port"] for p in providers["ports"]) == [443, 8443]


def test_values_become_the_operator_flags() -> None:
    args = _container("replicas")["args"]

    assert _deployment("replicas")["spec"]["replicas"] == 2
    assert args[args.index("--record-retention") + 1] == "30d"
    assert "--allow-self-approval" in args
    endpoints = _container("networkpolicy-egress")["args"]
    assert [endpoints[i + 1] for i, a in enumerate(endpoints) if a == "--allowed-endpoint"] == [
        "https://facets.internal.example.com",
        "https://vector-proxy.example.com:8443",
    ]


def test_watching_some_namespaces_binds_the_rights_in_those_namespaces_only() -> None:
    objects = render(sets=["watchNamespaces={payments,billing}"])
    bindings = {(o["kind"], o["metadata"].get("namespace")) for o in objects if "Binding" in o["kind"]}
    args = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]

    assert {("RoleBinding", "payments"), ("RoleBinding", "billing")} <= bindings
    cluster_wide = [o for o in objects if o["kind"] == "ClusterRoleBinding"]
    assert [b["roleRef"]["name"] for b in cluster_wide] == ["rollback-operator-cluster"]
    role = next(
        o
        for o in objects
        if o["kind"] == "ClusterRole" and o["metadata"]["name"] == "rollback-operator-cluster"
    )
    granted = {r for rule in role["rules"] for r in rule["resources"]}
    assert granted == {"rollbackrecords", "customresourcedefinitions", "namespaces"}  # no Secrets anywhere
    assert args[:4] == ["--namespace", "payments", "--namespace", "billing"]


def test_an_image_digest_wins_over_the_tag() -> None:
    digest = "sha256:" + "ab" * 32
    container = render(sets=["image.repository=registry.example.com/r", f"image.digest={digest}"])
    image = next(o for o in container if o["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][
        0
    ]

    assert image["image"] == f"registry.example.com/r@{digest}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_api_server_accepts_every_rendered_object_without_a_warning(
    name: str, installed: ControlPlane, monitoring_crds: list[str]
) -> None:
    manifests = rendered(_files(name))
    result = installed.kubectl(
        "apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", "-", input=manifests
    )

    accepted = [line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(accepted) == len(EXPECTED[name]), result.stdout
    assert "Warning" not in result.stderr, result.stderr
    assert f"namespace/{NAMESPACE}" not in result.stdout  # the chart never creates its namespace


def test_the_notes_say_where_it_runs_what_two_replicas_mean_and_what_uninstall_keeps(
    installed: ControlPlane, namespace: str
) -> None:
    # Another release name and namespace, and no cluster-wide singletons: the dry run still refuses
    # to take over objects that deploy/ (applied by other tests) owns.
    result = helm(
        "install", "notes", str(CHART), "--namespace", namespace, "--dry-run=client",
        "--kubeconfig", str(installed.kubeconfig), "--values", str(VALUES / "replicas.yaml"),
        "--set", "caBundle.secret.name=corporate-ca,admission.approvals.enabled=false,roles.enabled=false",
    )  # fmt: skip
    notes = result.stdout.split("NOTES:", 1)[1]

    assert f"installed in namespace {namespace} (2 replicas), watching every namespace" in notes
    assert "only one replica's create succeeds" in notes
    assert "CA bundle from Secret corporate-ca" in notes
    assert "`helm uninstall` keeps the CRDs" in notes

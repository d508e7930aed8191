"""One source of truth: the chart with default values installs what `kubectl apply -k deploy/` does.

deploy/ is the reference, written and commented by hand; the chart is the parametrised copy. This
test renders both (kustomize through the real kubectl, the chart through the real helm) and compares
what matters: the objects (kind and name), the RBAC rules, the pod spec (security contexts, probes,
ports, resources, volumes, the arguments as the operator's own parser reads them), the Service, the
NetworkPolicy, the admission policies and the roles. Labels differ on purpose (Helm's
`app.kubernetes.io/instance` and `managed-by`), and the chart does not create the namespace (Helm
installs into one: `--create-namespace`, docs/install.md). The chart's CRDs are byte-for-byte copies of
crds/, in the chart's crds/ directory, which Helm installs before anything else and never deletes.
"""

from __future__ import annotations

from typing import Any

import pytest

from rollback_operator.cli import parse
from tests.deploy.manifests import DEPLOY
from tests.deploy.manifests import render as kustomize
from tests.helm.chart import CHART, chart_files, render
from tests.support.controlplane import REPO, ControlPlane

Objects = list[dict[str, Any]]


@pytest.fixture(scope="module")
def deploy(cluster: ControlPlane) -> Objects:
    return kustomize(cluster, DEPLOY)


@pytest.fixture(scope="module")
def chart() -> Objects:
    return render(crds=True)


def _find(objects: Objects, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def _words(value: Any) -> Any:
    """``value`` with the whitespace inside strings collapsed: kustomize re-folds multi-line CEL
    expressions (an extra blank line before a more-indented one), which CEL does not see."""
    if isinstance(value, dict):
        return {k: _words(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_words(v) for v in value]
    return " ".join(value.split()) if isinstance(value, str) else value


def _pod(objects: Objects) -> dict[str, Any]:
    return _find(objects, "Deployment", "rollback-operator")["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def test_the_chart_crds_are_byte_for_byte_the_generated_ones() -> None:
    generated = sorted((REPO / "crds").glob("*.yaml"))

    assert [p.name for p in chart_files("crds")] == [p.name for p in generated]
    for path in generated:
        copy = CHART / "crds" / path.name
        assert copy.read_bytes() == path.read_bytes(), f"{copy.relative_to(REPO)} is stale: make crds"


def test_the_same_objects_but_the_namespace(deploy: Objects, chart: Objects) -> None:
    def names(objects: Objects) -> set[tuple[str, str]]:
        return {(o["kind"], o["metadata"]["name"]) for o in objects}

    assert names(chart) == names(deploy) - {("Namespace", "rollback-operator")}
    assert all(
        o["metadata"].get("namespace") == "rollback-operator"
        for o in chart
        if o["kind"] in ("Deployment", "Service", "ServiceAccount", "NetworkPolicy")
    )


def test_the_crds_are_the_same(deploy: Objects, chart: Objects) -> None:
    for crd in (o for o in deploy if o["kind"] == "CustomResourceDefinition"):
        assert _find(chart, "CustomResourceDefinition", crd["metadata"]["name"]) == crd


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("ClusterRole", "rollback-operator"),
        ("ClusterRole", "rollback-requester"),
        ("ClusterRole", "rollback-approver"),
        ("ClusterRole", "rollback-viewer"),
        ("ClusterRole", "rollback-history"),
    ],
)
def test_the_rbac_rules_are_the_same(deploy: Objects, chart: Objects, kind: str, name: str) -> None:
    ours, theirs = _find(chart, kind, name), _find(deploy, kind, name)

    assert ours["rules"] == theirs["rules"]
    aggregation = {
        k: v for k, v in theirs["metadata"]["labels"].items() if k.startswith("rbac.authorization")
    }
    assert aggregation.items() <= ours["metadata"]["labels"].items()


def test_the_binding_grants_the_role_to_the_service_account(deploy: Objects, chart: Objects) -> None:
    ours, theirs = (_find(o, "ClusterRoleBinding", "rollback-operator") for o in (chart, deploy))

    assert (ours["roleRef"], ours["subjects"]) == (theirs["roleRef"], theirs["subjects"])


@pytest.mark.parametrize("name", ["rollbackapprovals.rollback.dev"], ids=["approvals"])
def test_the_admission_policy_is_the_same(deploy: Objects, chart: Objects, name: str) -> None:
    for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
        assert _words(_find(chart, kind, name)["spec"]) == _words(_find(deploy, kind, name)["spec"])


def test_the_requested_by_policy_is_the_same(cluster: ControlPlane) -> None:
    theirs = kustomize(cluster, DEPLOY / "requested-by")
    ours = render(sets=["admission.requestedBy.enabled=true"])

    for obj in theirs:
        assert _words(_find(ours, obj["kind"], obj["metadata"]["name"])["spec"]) == _words(obj["spec"])


def test_the_pod_spec_is_the_same(deploy: Objects, chart: Objects) -> None:
    ours, theirs = _pod(chart), _pod(deploy)
    (container,), (reference,) = ours["containers"], theirs["containers"]

    for key in (
        "securityContext",
        "serviceAccountName",
        "automountServiceAccountToken",
        "terminationGracePeriodSeconds",
        "volumes",
    ):
        assert ours[key] == theirs[key], key
    for key in (
        "name",
        "image",
        "imagePullPolicy",
        "ports",
        "livenessProbe",
        "readinessProbe",
        "resources",
        "securityContext",
        "volumeMounts",
    ):
        assert container[key] == reference[key], key


def test_the_operator_runs_with_the_same_settings(deploy: Objects, chart: Objects) -> None:
    (container,), (reference,) = _pod(chart)["containers"], _pod(deploy)["containers"]
    # deploy/ declares the allow-list variable empty; the chart passes --allowed-endpoint flags instead
    assert all(e["value"] == "" for e in reference.get("env", []))

    assert vars(parse(["run", *container["args"]])) == vars(parse(["run", *reference["args"]]))


def test_the_deployment_strategy_replicas_and_scrape_annotations_are_the_same(
    deploy: Objects, chart: Objects
) -> None:
    ours, theirs = (_find(o, "Deployment", "rollback-operator") for o in (chart, deploy))

    assert ours["spec"]["replicas"] == theirs["spec"]["replicas"]
    assert ours["spec"]["strategy"] == theirs["spec"]["strategy"]
    assert (
        ours["spec"]["template"]["metadata"]["annotations"]
        == theirs["spec"]["template"]["metadata"]["annotations"]
    )
    assert (
        ours["spec"]["selector"]["matchLabels"].items() >= theirs["spec"]["selector"]["matchLabels"].items()
    )


def test_the_service_and_network_policy_are_the_same(deploy: Objects, chart: Objects) -> None:
    service = _find(chart, "Service", "rollback-operator-metrics")["spec"]
    reference = _find(deploy, "Service", "rollback-operator-metrics")["spec"]
    policy = _find(chart, "NetworkPolicy", "rollback-operator")["spec"]
    reference_policy = _find(deploy, "NetworkPolicy", "rollback-operator")["spec"]

    assert (service["type"], service["ports"]) == (reference["type"], reference["ports"])
    assert service["selector"].items() >= reference["selector"].items()
    assert (policy["policyTypes"], policy["ingress"]) == (
        reference_policy["policyTypes"],
        reference_policy["ingress"],
    )
    assert (
        policy["podSelector"]["matchLabels"].items() >= reference_policy["podSelector"]["matchLabels"].items()
    )

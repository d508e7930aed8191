"""The Helm chart on the real node: install, one rollback through a sandbox, upgrade, uninstall.

Runs after the kustomize installation's tests (file order) on the same node: that installation's
operator is scaled to zero first, so the chart's operator is the only one working. The chart gets
its own release namespace (PodSecurity ``restricted`` enforced) and names (``fullnameOverride``);
the cluster-scoped objects the kustomize installation already holds (the CRDs, the admission
policy, the roles for people) are left to it, as `helm install` would refuse to take them over.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.node.install import NAMESPACE as KUSTOMIZE_NAMESPACE
from tests.node.node import Node
from tests.node.sandboxes import NodeSandboxes
from tests.support.controlplane import BIN_DIR, REPO
from tests.support.rollbacks import Requests, condition, manifest
from tests.support.scenarios import World
from tests.support.tls import TestCA

pytestmark = pytest.mark.node
CHART = REPO / "charts" / "rollback-operator"
RELEASE, RELEASE_NS = "ro-helm", "rollback-helm"


def helm(node: Node, *args: str, timeout: float = 240) -> str:
    argv = [str(BIN_DIR / "helm"), f"--kubeconfig={node.kubeconfig}", *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def _values(sandboxes: NodeSandboxes, *extra: str) -> list[str]:
    endpoints = ",".join(sandboxes.allowed_endpoints())
    sets = [
        f"fullnameOverride={RELEASE}",
        "image.repository=rollback-operator",
        "image.tag=node",
        "image.pullPolicy=Never",
        f"allowedEndpoints={{{endpoints}}}",
        "caBundle.configMap.name=provider-ca",
        "admission.approvals.enabled=false",  # held by the kustomize installation
        "roles.enabled=false",
        *extra,
    ]
    return [arg for value in sets for arg in ("--set", value)]


@pytest.fixture(scope="module")
def released(installed: Node, node_sandboxes: NodeSandboxes, provider_ca: TestCA) -> Node:
    node = installed
    node.kubectl("scale", "deployment/rollback-operator", "-n", KUSTOMIZE_NAMESPACE, "--replicas=0")
    node.kubectl("create", "namespace", RELEASE_NS)
    node.kubectl("label", "namespace", RELEASE_NS, "pod-security.kubernetes.io/enforce=restricted")
    node.kubectl(
        "create", "configmap", "provider-ca", "-n", RELEASE_NS, f"--from-file=ca.crt={provider_ca.cert_path}"
    )
    helm(node, "install", RELEASE, str(CHART), "-n", RELEASE_NS, "--wait", "--timeout=180s",
         *_values(node_sandboxes))  # fmt: skip
    return node


def test_helm_install_runs_the_operator_ready_and_it_rolls_back_once(
    released: Node, node_sandboxes: NodeSandboxes, node_requests: Requests
) -> None:
    ready = json.loads(released.kubectl("get", "deployment", RELEASE, "-n", RELEASE_NS, "-o", "json"))
    assert ready["status"].get("readyReplicas") == 1, ready["status"]
    world = World(node_sandboxes)  # type: ignore[arg-type]  # has the parts World uses
    scenario = world.vector()
    world.apply()
    node_requests.secret("creds", scenario.secret)
    node_requests.create(manifest("by-helm", scenario.provider, secret="creds"))

    status = node_requests.wait_terminal("by-helm", timeout=90)

    assert condition(status, "Ready")["reason"] == "RollbackSucceeded", status
    assert scenario.rollbacks(node_sandboxes) == 1  # type: ignore[arg-type]


def test_helm_upgrade_rolls_the_new_settings_out(released: Node, node_sandboxes: NodeSandboxes) -> None:
    helm(released, "upgrade", RELEASE, str(CHART), "-n", RELEASE_NS, "--wait", "--timeout=180s",
         *_values(node_sandboxes, "recordRetention=30d"))  # fmt: skip

    deployment = json.loads(released.kubectl("get", "deployment", RELEASE, "-n", RELEASE_NS, "-o", "json"))
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "30d" in args, args
    assert deployment["status"].get("readyReplicas") == 1, deployment["status"]


def test_helm_uninstall_leaves_the_crds_the_requests_and_the_records(
    released: Node, node_requests: Requests
) -> None:
    helm(released, "uninstall", RELEASE, "-n", RELEASE_NS, "--wait")

    crds = released.kubectl("get", "crd", "-o", "name")
    assert "rollbackrequests.rollback.dev" in crds
    assert "rollbackrecords.rollback.dev" in crds
    records = released.kubectl("get", "rollbackrecords", "-o", "name")
    assert records.strip(), "the records (the history) survive the uninstall"
    leftovers = released.kubectl("get", "deployment,serviceaccount", "-n", RELEASE_NS, "-o", "name")
    assert leftovers.strip() == "serviceaccount/default"

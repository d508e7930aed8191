"""`kubectl apply -k deploy/` works: kustomize renders it, and the real API server accepts every object.

The dry runs also catch Pod Security warnings: the namespace asks for the `restricted` profile, and
the API server warns about any pod template that would be refused. The kind overlay used by
`make kind-e2e` is checked the same way, since it cannot run here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rollback_operator.config import allowed_endpoints, endpoint_allowed
from tests.deploy.in_cluster import PORTS, ClusterSandboxes
from tests.deploy.manifests import DEPLOY, GENERATED_CRD, KIND_OVERLAY, find, operator_container, render
from tests.support.controlplane import ControlPlane
from tests.support.crd import CRD_NAME

INSTALLED = {
    ("Namespace", "rollback-operator"),
    ("CustomResourceDefinition", CRD_NAME),
    ("CustomResourceDefinition", "rollbackrecords.rollback.dev"),
    ("CustomResourceDefinition", "rollbackapprovals.rollback.dev"),
    ("ServiceAccount", "rollback-operator"),
    ("ClusterRole", "rollback-operator"),
    ("ClusterRoleBinding", "rollback-operator"),
    ("Deployment", "rollback-operator"),
    ("Service", "rollback-operator-metrics"),
    ("NetworkPolicy", "rollback-operator"),
    ("ValidatingAdmissionPolicy", "rollbackapprovals.rollback.dev"),
    ("ValidatingAdmissionPolicyBinding", "rollbackapprovals.rollback.dev"),
    *(("ClusterRole", f"rollback-{role}") for role in ("requester", "approver", "viewer", "history")),
}


def test_the_installation_renders_to_exactly_the_documented_objects(cluster: ControlPlane) -> None:
    objects = render(cluster, DEPLOY)

    assert {(o["kind"], o["metadata"]["name"]) for o in objects} == INSTALLED
    assert len(objects) == len(INSTALLED)


def test_the_crd_that_gets_installed_is_the_generated_one(cluster: ControlPlane) -> None:
    installed = find(render(cluster, DEPLOY), "CustomResourceDefinition", CRD_NAME)

    assert installed == yaml.safe_load(GENERATED_CRD.read_text())


@pytest.mark.parametrize("directory", [DEPLOY, KIND_OVERLAY], ids=["deploy", "kind-overlay"])
def test_the_api_server_accepts_every_object_without_a_pod_security_warning(
    directory: Path, cluster: ControlPlane, operator_kubeconfig: Path
) -> None:
    # A dry run cannot create the namespace that the other objects go into; the RBAC fixture
    # has created it for real (as `kubectl apply -k deploy/` does before the rest).
    result = cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "--dry-run=server", "-k", str(directory)
    )

    accepted = [line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(accepted) == len(render(cluster, directory))
    assert "Warning" not in result.stderr


def test_the_kind_overlay_allows_the_in_cluster_sandboxes_and_runs_the_image_it_loaded(
    cluster: ControlPlane,
) -> None:
    container = operator_container(find(render(cluster, KIND_OVERLAY), "Deployment", "rollback-operator"))
    allowed = allowed_endpoints(environ={e["name"]: e["value"] for e in container["env"]})

    assert all(endpoint_allowed(ClusterSandboxes("").url(name), allowed) for name in PORTS)
    assert (container["image"], container["imagePullPolicy"]) == ("rollback-operator:kind-e2e", "Never")

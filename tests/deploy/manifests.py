"""deploy/ read as data for the installation tests: YAML documents, objects, rendered kustomizations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support.controlplane import REPO, ControlPlane

DEPLOY = REPO / "deploy"
KIND_OVERLAY = REPO / "tests" / "deploy" / "kind"
GENERATED_CRD = REPO / "crds" / "rollbackrequests.rollback.dev.yaml"
SHIPPED_CRD = DEPLOY / "crd" / GENERATED_CRD.name
OPERATOR_RIGHTS = {  # (apiGroup, resource, verb): what deploy/rbac/role.yaml must grant, and no more
    ("rollback.dev", "rollbackrequests", "get"),
    ("rollback.dev", "rollbackrequests", "list"),
    ("rollback.dev", "rollbackrequests", "watch"),
    ("rollback.dev", "rollbackrequests/status", "patch"),
    ("rollback.dev", "rollbackrecords", "get"),
    ("rollback.dev", "rollbackrecords", "create"),
    ("rollback.dev", "rollbackrecords", "patch"),
    ("rollback.dev", "rollbackrecords", "list"),
    ("rollback.dev", "rollbackrecords", "watch"),
    ("rollback.dev", "rollbackrecords", "delete"),
    ("rollback.dev", "rollbackapprovals", "get"),
    ("rollback.dev", "rollbackapprovals", "list"),
    ("rollback.dev", "rollbackapprovals", "watch"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
    ("", "namespaces", "list"),
    ("", "namespaces", "watch"),
    ("", "secrets", "get"),
    ("", "events", "create"),
}


def documents(path: Path) -> list[dict[str, Any]]:
    """Every YAML document in ``path``."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def only(path: Path) -> dict[str, Any]:
    """The single object in ``path``."""
    (doc,) = documents(path)
    return doc


def render(cluster: ControlPlane, directory: Path) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize directory`` produces (what ``kubectl apply -k`` sends)."""
    output = cluster.kubectl("kustomize", str(directory)).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The object of ``kind`` named ``name``."""
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def operator_container(deployment: dict[str, Any]) -> dict[str, Any]:
    """The operator's container in a Deployment."""
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "operator")

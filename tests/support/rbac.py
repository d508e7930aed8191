"""Logging in to a test control plane as the operator's ServiceAccount, with the rights deploy/ grants.

``install_operator_rbac`` applies deploy/rbac/ (the namespace, the ServiceAccount, the ClusterRole
and its binding), mints a token for the ServiceAccount with the TokenRequest API and returns a
kubeconfig that authenticates with it. An operator started with that kubeconfig has exactly the
rights an installation from deploy/ has. Used by tests/deploy/ and the end-to-end operator tests.
Idempotent: the apply is server-side, and a second call mints a new token into the same file
(tokens minted earlier stay valid until they expire).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.controlplane import REPO, ControlPlane

RBAC_DIR = REPO / "deploy" / "rbac"
NAMESPACE = "rollback-operator"
SERVICE_ACCOUNT = "rollback-operator"
USERNAME = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"


def install_operator_rbac(cluster: ControlPlane, *, duration: str = "12h") -> Path:
    """Apply deploy/rbac/ and return a kubeconfig for the operator's ServiceAccount."""
    # --force-conflicts: a previous call, or `kubectl apply -k deploy/`, may own the same fields
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(RBAC_DIR))
    token = cluster.kubectl(
        "create", "token", SERVICE_ACCOUNT, "--namespace", NAMESPACE, f"--duration={duration}"
    ).stdout.strip()
    return cluster.kubeconfig_for(token, USERNAME)

"""Installing the RollbackRequest CRD (the committed ``crds/`` file) into a test control plane.

``tests/api/conftest.py`` wraps ``install_crd`` in the session fixture ``crd``; other test
directories call it from their own fixtures (it is idempotent: a server-side apply).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.controlplane import REPO, ControlPlane

CRD_NAME = "rollbackrequests.rollback.dev"
CRD_FILE = REPO / "crds" / f"{CRD_NAME}.yaml"


def install_crd(cluster: ControlPlane, *, path: Path = CRD_FILE, timeout: float = 60) -> str:
    """Apply the CRD and return its name once the API server reports it Established."""
    # --force-conflicts: another test directory may have applied the same file already
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    cluster.kubectl(
        "wait",
        "--for=condition=Established",
        f"customresourcedefinition/{CRD_NAME}",
        f"--timeout={timeout:.0f}s",
        timeout=timeout + 10,
    )
    return CRD_NAME

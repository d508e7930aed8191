"""Installing the CRDs (the committed ``crds/`` files), the admission policies and the roles for
people (``deploy/admission``, ``deploy/requested-by``, ``deploy/roles``) into a test control plane.

``tests/api/conftest.py`` wraps ``install_crd`` in the session fixture ``crd``; other test
directories call it from their own fixtures (it is idempotent: a server-side apply).
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.controlplane import REPO, ControlPlane

CRD_NAME = "rollbackrequests.rollback.dev"
CRD_FILE = REPO / "crds" / f"{CRD_NAME}.yaml"
EXTRA_CRDS = ("rollbackrecords.rollback.dev", "rollbackapprovals.rollback.dev")


def install_crd(cluster: ControlPlane, *, path: Path = CRD_FILE, timeout: float = 60) -> str:
    """Apply the CRDs and return the request CRD's name once the API server reports it Established."""
    # --force-conflicts: another test directory may have applied the same file already
    for crd in (path, *(REPO / "crds" / f"{name}.yaml" for name in EXTRA_CRDS)):
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    for name in EXTRA_CRDS:
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
    # What an installation enforces at admission: who approves, who asked (deploy/admission,
    # deploy/requested-by), and the roles people are bound to (deploy/roles).
    for part in ("admission", "requested-by", "roles"):
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(REPO / "deploy" / part))
    # Polled rather than `kubectl wait`: that errors out ("conditions accessor error") instead of
    # waiting when it reads a CRD so new that it has no conditions yet.
    query = '{.status.conditions[?(@.type=="Established")].status}'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cluster.kubectl("get", "crd", CRD_NAME, "-o", f"jsonpath={query}").stdout.strip()
        # Established is not yet served: a new CRD answers 429 "storage is (re)initializing" briefly.
        if got == "True" and _creatable(cluster):
            return CRD_NAME
        time.sleep(0.2)
    raise TimeoutError(f"{CRD_NAME} not Established within {timeout}s")


STAMP = r"{.metadata.annotations.rollback\.dev/requested-by}"
"""Where deploy/requested-by's policy writes who created a request."""
PROBE = """{"apiVersion": "rollback.dev/v1alpha1", "kind": "RollbackRequest",
 "metadata": {"name": "probe", "namespace": "default"},
 "spec": {"reason": "probe", "provider": {"vector": {"environmentId": "e"}},
          "credentialsSecretRef": {"name": "s"}}}"""


def _creatable(cluster: ControlPlane) -> bool:
    """A request can be created (dry run) and the requested-by policy stamped it: the CRD is served
    and the admission policies, which match on it, are in force and know its kind. (A new policy
    takes a moment to apply; until it does a create passes unstamped, and once it does, creates get
    503 "not found" until it has learnt the kind: a create that passed is not enough.)"""
    listed = cluster.kubectl("get", "rbr", "-A", check=False).returncode == 0
    created = cluster.kubectl(
        "create", "--dry-run=server", "-f", "-", "-o", f"jsonpath={STAMP}", input=PROBE, check=False
    )
    return listed and created.returncode == 0 and bool(created.stdout.strip())


def wait_creatable(cluster: ControlPlane, *, timeout: float = 120) -> float:
    """Seconds until a request can be created again (after an API server restart, the admission
    policies that match RollbackRequests answer 503 until they know the CRD's kind again)."""
    began = time.monotonic()
    while not _creatable(cluster):
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"RollbackRequests could not be created within {timeout}s")
        time.sleep(0.2)
    return time.monotonic() - began

"""A real local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)
for tests, the demo and benchmarks.

`ControlPlane` runs the binaries that tests/controlplane/build.sh puts into .bin/ on free loopback
ports, writes a bearer-token kubeconfig and stops every process it started. tests/conftest.py wraps it
in the `cluster` fixture; `make cluster` / `make cluster-down` use the command line in `__main__`:

    python -m tests.support.controlplane up --dir DIR      # prints `export KUBECONFIG=...`
    python -m tests.support.controlplane down --dir DIR

Two users exist: `admin` (group system:masters, `.token`) and `nobody` (no rights, `.nobody_token`);
`kubeconfig_for` writes a kubeconfig for any other bearer token. The controller manager makes it behave
as a cluster does: deleted namespaces really go, owned objects are garbage-collected, every namespace
gets its `default` ServiceAccount. There is no node: Pods are scheduled nowhere (tests/node/ has one).
"""

from pathlib import Path

from tests.support.controlplane.plane import ControlPlane, ControlPlaneError

REPO = Path(__file__).resolve().parents[3]
BIN_DIR = REPO / ".bin"
BUILD_SCRIPT = REPO / "tests" / "controlplane" / "build.sh"

__all__ = ["BIN_DIR", "BUILD_SCRIPT", "REPO", "ControlPlane", "ControlPlaneError"]

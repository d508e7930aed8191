"""A real local Kubernetes control plane (etcd + kube-apiserver) for tests, the demo and benchmarks.

`ControlPlane` runs the binaries that tests/controlplane/build.sh puts into .bin/ on free loopback
ports, writes a bearer-token kubeconfig and stops every process it started. tests/conftest.py wraps it
in the `cluster` fixture; `make cluster` / `make cluster-down` use the command line in `__main__`:

    python -m tests.support.controlplane up --dir DIR      # prints `export KUBECONFIG=...`
    python -m tests.support.controlplane down --dir DIR

Two users exist: `admin` (group system:masters, `.token`) and `nobody` (no rights, `.nobody_token`);
`kubeconfig_for` writes a kubeconfig for any other bearer token. There is no kube-controller-manager:
deleted namespaces stay Terminating, nothing garbage-collects, and no `default` ServiceAccounts appear.
"""

from pathlib import Path

from tests.support.controlplane.plane import ControlPlane, ControlPlaneError

REPO = Path(__file__).resolve().parents[3]
BIN_DIR = REPO / ".bin"
BUILD_SCRIPT = REPO / "tests" / "controlplane" / "build.sh"

__all__ = ["BIN_DIR", "BUILD_SCRIPT", "REPO", "ControlPlane", "ControlPlaneError"]

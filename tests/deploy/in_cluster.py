"""The provider sandboxes inside a kind cluster (tests/deploy/kind/), for test_in_cluster.

``ClusterSandboxes`` stands in for ``rollback_sandbox.serve.Sandboxes`` where
``tests.support.scenarios.World`` and ``Scenario`` use it. The sandboxes run as a second container
in the operator's pod, so ``url`` is a loopback address: the only place the CRD accepts plain-http
provider URLs. Seeding and counting rollbacks go to the sandbox's control API through the API
server's service proxy (``kubectl get/create --raw``), so the test needs nothing but a kubeconfig
and kubectl (``$KUBECTL``, default ``kubectl`` on PATH).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from typing import Any

NAMESPACE = "rollback-operator"
SERVICE = "rollback-sandbox"
PORTS = {"facets": 8701, "vector": 8702, "yandex": 8703}
HOST = "127.0.0.1"  # as seen from the operator's container


def kubectl(kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    """Run kubectl against the cluster and return its output; a failure raises with its stderr."""
    argv = [os.environ.get("KUBECTL", "kubectl"), "--kubeconfig", kubeconfig, *args]
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result.stdout


class _RemoteState:
    """What ``World.apply`` calls ``seed`` on: here it posts the seed to the sandbox's control API."""

    def __init__(self, sandboxes: ClusterSandboxes, name: str) -> None:
        self.sandboxes, self.name = sandboxes, name

    def seed(self, data: dict[str, Any]) -> None:
        self.sandboxes.control("seed", self.name, body=data)


class ClusterSandboxes:
    """The sandboxes of one cluster, seen from outside it."""

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig

    def url(self, name: str) -> str:
        """The base URL the operator uses for sandbox ``name``."""
        return f"http://{HOST}:{PORTS[name]}"

    def read(self, name: str, fn: Callable[[Any], Any]) -> Any:
        """``World.apply`` seeds with ``read(name, lambda state: state.seed(...))``."""
        return fn(_RemoteState(self, name))

    def rollbacks(self, name: str) -> dict[str, int]:
        """How many rollbacks each target of one sandbox received."""
        counts: dict[str, int] = self.control("rollbacks", name)
        return counts

    def control(self, route: str, name: str, *, body: dict[str, Any] | None = None) -> Any:
        """GET (or, with a body, POST) ``/_sandbox/<route>`` of sandbox ``name``."""
        path = f"/api/v1/namespaces/{NAMESPACE}/services/http:{SERVICE}:{name}/proxy/_sandbox/{route}"
        if body is None:
            return json.loads(kubectl(self.kubeconfig, "get", "--raw", path))
        posted = kubectl(self.kubeconfig, "create", "--raw", path, "-f", "-", stdin=json.dumps(body))
        return json.loads(posted)

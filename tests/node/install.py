"""The operator installed on the node as the node tier installs it: ``deploy/`` through the overlay,
then configured the way docs/install.md tells users to (the provider URLs on the allow-list, the CA
that signed their certificate as the providers' CA bundle, from a ConfigMap).

Used by the tier's fixtures (tests/node/conftest.py) and by the benchmark that runs on the node
(bench/peer/).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

from tests.node.node import Node

NAMESPACE = "rollback-operator"
DEPLOYMENT = "deployment/rollback-operator"
OVERLAY = Path(__file__).parent / "overlay"
CA_MOUNT = "/etc/rollback-operator/provider-ca"


def install(node: Node, *, allowed_endpoints: Iterable[str], ca_cert: Path) -> None:
    """Apply the overlay, configure the allow-list and the CA bundle, and wait for the new Pod."""
    node.kubectl("apply", "-k", str(OVERLAY))
    node.kubectl("create", "configmap", "provider-ca", "-n", NAMESPACE, f"--from-file=ca.crt={ca_cert}")
    env = [
        {"name": "ROLLBACK_OPERATOR_ALLOWED_ENDPOINTS", "value": ",".join(allowed_endpoints)},
        {"name": "ROLLBACK_OPERATOR_CA_BUNDLE", "value": f"{CA_MOUNT}/ca.crt"},
    ]
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "operator",
                            "env": env,
                            "volumeMounts": [
                                {"name": "provider-ca", "mountPath": CA_MOUNT, "readOnly": True}
                            ],
                        }
                    ],
                    "volumes": [{"name": "provider-ca", "configMap": {"name": "provider-ca"}}],
                }
            }
        }
    }
    node.kubectl("patch", "-n", NAMESPACE, DEPLOYMENT, "--type=strategic", "-p", json.dumps(patch))
    rollout(node)


def rollout(node: Node, timeout: int = 120) -> None:
    """Until the Deployment's newest Pod is Ready and no other Pod is left."""
    node.kubectl(
        "rollout", "status", "-n", NAMESPACE, DEPLOYMENT, f"--timeout={timeout}s", timeout=timeout + 10
    )
    deadline = time.monotonic() + timeout
    while len(operator_pods(node)) != 1:
        if time.monotonic() > deadline:
            raise AssertionError(f"operator Pods: {operator_pods(node)}")
        time.sleep(0.5)


def operator_pods(node: Node) -> list[dict[str, object]]:
    listed = json.loads(
        node.kubectl(
            "get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=operator", "-o", "json"
        )
    )
    return list(listed["items"])

"""The peer: what a team without the operator would run to roll an environment back, as a Job.

``peer_job`` is a Kubernetes Job whose container (the operator's image, the only one on the node
with Python, with its command replaced by ``PEER_SCRIPT``) POSTs the rollback over https with a
Bearer token from the ``vector-token`` Secret and the test CA from the ``provider-ca`` ConfigMap
(mounted at ``CA_DIR``), under the ``restricted`` Pod Security profile. Used by ``bench.peer.run``.
"""

from __future__ import annotations

from typing import Any

from tests.node.node import OPERATOR_IMAGE

CA_DIR = "/etc/provider-ca"
PEER_SCRIPT = f"""\
import os, ssl, urllib.request
url = os.environ["VECTOR_URL"] + "/api/v1/vector/environments/" + os.environ["ENVIRONMENT"] + "/rollback"
request = urllib.request.Request(url, data=b"{{}}", method="POST", headers={{
    "Authorization": "Bearer " + os.environ["VECTOR_TOKEN"],
    "Content-Type": "application/json", "Accept": "application/json"}})
context = ssl.create_default_context(cafile="{CA_DIR}/ca.crt")
with urllib.request.urlopen(request, context=context, timeout=30) as response:
    print(response.status, response.read().decode())
"""
"""The Job's container: the rollback call as a team would write it (urllib: the image's Python, no
dependencies beyond the standard library). A refusal raises, the container fails, the Job fails."""


def peer_job(name: str, environment: str, vector_url: str) -> dict[str, Any]:
    """A Job that rolls ``environment`` back with one POST, under the ``restricted`` profile."""
    container = {
        "name": "rollback",
        "image": OPERATOR_IMAGE,
        "imagePullPolicy": "Never",
        "command": ["python3", "-c", PEER_SCRIPT],
        "env": [
            {"name": "VECTOR_URL", "value": vector_url},
            {"name": "ENVIRONMENT", "value": environment},
            {
                "name": "VECTOR_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "vector-token", "key": "token"}},
            },
        ],
        "volumeMounts": [{"name": "provider-ca", "mountPath": CA_DIR, "readOnly": True}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
    }
    pod = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "provider-ca", "configMap": {"name": "provider-ca"}}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 0, "template": {"spec": pod}},
    }

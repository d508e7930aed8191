"""The operator as a Pod on a real node: installed from deploy/, run from the image the Dockerfile
builds, under PodSecurity ``restricted``, reaching the provider sandboxes over TLS.

The tests run in this order on one installation; the last two replace the operator's Pod.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest

from tests.node.install import DEPLOYMENT, NAMESPACE, operator_pods, rollout
from tests.node.node import Node, NodeError
from tests.node.sandboxes import NodeSandboxes
from tests.support.rollbacks import Requests, manifest
from tests.support.scenarios import Scenario, World

pytestmark = pytest.mark.node
PROVIDERS = ["facets", "vector", "yandex"]


def _pod(node: Node) -> dict[str, object]:
    pods = operator_pods(node)
    assert len(pods) == 1, pods
    return pods[0]


def _exec_python(node: Node, code: str) -> str:
    return node.kubectl("exec", "-n", NAMESPACE, DEPLOYMENT, "-c", "operator", "--", "python3", "-c", code)


def test_the_pod_is_ready_with_the_shipped_security_context_under_restricted(installed: Node) -> None:
    pod = _pod(installed)
    spec, status = pod["spec"], pod["status"]
    container = spec["containers"][0]  # type: ignore[index]
    labels = json.loads(installed.kubectl("get", "namespace", NAMESPACE, "-o", "json"))["metadata"]["labels"]

    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"  # type: ignore[index]
    assert status["containerStatuses"][0]["restartCount"] == 0  # type: ignore[index]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert "uid=65532 gid=65532" in _exec_python(
        installed, "import os; print(f'uid={os.getuid()} gid={os.getgid()}')"
    )


def test_restricted_is_enforced_in_the_operator_namespace(installed: Node) -> None:
    privileged = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "privileged", "namespace": NAMESPACE},
        "spec": {
            "containers": [
                {"name": "c", "image": "rollback-operator:node", "securityContext": {"privileged": True}}
            ]
        },
    }

    with pytest.raises(NodeError, match='violates PodSecurity "restricted'):
        installed.kubectl("create", "-f", "-", stdin=json.dumps(privileged))


def test_metrics_answer_through_the_service(installed: Node) -> None:
    service = json.loads(
        installed.kubectl("get", "service", "-n", NAMESPACE, "rollback-operator-metrics", "-o", "json")
    )
    url = f"http://{service['spec']['clusterIP']}:9090/metrics"  # kube-proxy's rules, as from a Pod

    with urllib.request.urlopen(url, timeout=10) as response:
        metrics = response.read().decode()

    assert "# TYPE rollback_requests_total counter" in metrics


def test_calls_the_cluster_role_does_not_allow_get_403_with_the_pods_own_token(installed: Node) -> None:
    calls = {
        "list secrets": ("GET", "/api/v1/secrets"),
        "list pods": ("GET", "/api/v1/namespaces/rollback-operator/pods"),
        "delete requests": ("DELETE", "/apis/rollback.dev/v1alpha1/namespaces/default/rollbackrequests"),
        "list configmaps": ("GET", "/api/v1/namespaces/kube-system/configmaps"),
        "list requests": ("GET", "/apis/rollback.dev/v1alpha1/rollbackrequests"),  # allowed
    }
    code = f"""
import json, ssl, urllib.request, urllib.error
sa = "/var/run/secrets/kubernetes.io/serviceaccount"
context = ssl.create_default_context(cafile=sa + "/ca.crt")
token = open(sa + "/token").read()
codes = {{}}
for what, (method, path) in {calls!r}.items():
    request = urllib.request.Request("https://kubernetes.default.svc" + path, method=method,
                                     headers={{"Authorization": "Bearer " + token}})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            codes[what] = response.status
    except urllib.error.HTTPError as error:
        codes[what] = error.code
print(json.dumps(codes))
"""
    codes = json.loads(_exec_python(installed, code))

    assert codes == {
        "list secrets": 403,
        "list pods": 403,
        "delete requests": 403,
        "list configmaps": 403,
        "list requests": 200,
    }


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rollback_through_each_provider_over_tls_happens_exactly_once(
    provider: str, node_sandboxes: NodeSandboxes, node_requests: Requests
) -> None:
    world = World(node_sandboxes)  # type: ignore[arg-type]  # has the parts World uses
    scenario = world.scenario(provider)
    world.apply()
    node_requests.secret("creds", scenario.secret)
    node_requests.create(manifest("back-one", scenario.provider, secret="creds"))

    status = node_requests.wait_terminal("back-one", timeout=60)

    assert (status["phase"], status["targetVersion"]) == ("Succeeded", scenario.earlier[0]), status
    assert scenario.rollbacks(node_sandboxes) == 1  # type: ignore[arg-type]


def _in_flight(sandboxes: NodeSandboxes, requests: Requests) -> list[Scenario]:
    """One slow rollback per provider, submitted; returns once one of them is InProgress."""
    world = World(sandboxes, vector_step_seconds=2.0, yandex_operation_seconds=6.0)  # type: ignore[arg-type]
    scenarios = [world.scenario(provider) for provider in PROVIDERS for _ in range(2)]
    world.apply()
    for n, scenario in enumerate(scenarios):
        requests.secret(f"creds-{n}", scenario.secret)
        requests.create(manifest(f"r{n}", scenario.provider, secret=f"creds-{n}"))
    requests.wait_phase("r2", "InProgress", "Succeeded", timeout=60)  # the first Vector one
    return scenarios


def _all_done_once(sandboxes: NodeSandboxes, requests: Requests, scenarios: list[Scenario]) -> None:
    for n in range(len(scenarios)):
        status = requests.wait_terminal(f"r{n}", timeout=120)
        assert status["phase"] == "Succeeded", (n, status)
    assert [s.rollbacks(sandboxes) for s in scenarios] == [1] * len(scenarios)  # type: ignore[arg-type]


def test_a_force_deleted_operator_pod_leaves_the_rest_to_the_next_one_exactly_once(
    installed: Node, node_sandboxes: NodeSandboxes, node_requests: Requests
) -> None:
    scenarios = _in_flight(node_sandboxes, node_requests)
    before = _pod(installed)["metadata"]["name"]  # type: ignore[index]
    installed.kubectl("delete", "pod", "-n", NAMESPACE, before, "--force", "--grace-period=0")
    phases = [node_requests.status(f"r{n}").get("phase") for n in range(len(scenarios))]

    _all_done_once(node_sandboxes, node_requests, scenarios)

    assert "InProgress" in phases  # the Pod really went mid-rollback
    rollout(installed)
    assert _pod(installed)["metadata"]["name"] != before  # type: ignore[index]


def test_a_rolling_update_while_rollbacks_are_in_flight_finishes_each_exactly_once(
    installed: Node, node_sandboxes: NodeSandboxes, node_requests: Requests
) -> None:
    scenarios = _in_flight(node_sandboxes, node_requests)
    before = _pod(installed)["metadata"]["name"]  # type: ignore[index]
    installed.kubectl("rollout", "restart", "-n", NAMESPACE, DEPLOYMENT)
    phases = [node_requests.status(f"r{n}").get("phase") for n in range(len(scenarios))]

    _all_done_once(node_sandboxes, node_requests, scenarios)

    assert "InProgress" in phases
    rollout(installed)
    assert _pod(installed)["metadata"]["name"] != before  # type: ignore[index]
    assert (
        "Forbidden"
        not in subprocess.run(
            [str(installed.bin_dir / "kubectl"), "logs", "-n", NAMESPACE, DEPLOYMENT],
            env=installed.env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

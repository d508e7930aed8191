"""The installed operator, running from its image in a real cluster, does what it promises.

Runs only inside ``make kind-e2e`` (tests/deploy/kind-e2e.sh), which builds the image, installs
tests/deploy/kind/ (deploy/ plus in-cluster sandboxes) into a fresh kind cluster and sets
``ROLLBACK_E2E_KUBECONFIG``. Everything else here is the same as in a user's cluster: the
Deployment's security settings, the ServiceAccount's rights, the allow-list from the environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import kubernetes
import pytest

from tests.deploy.in_cluster import NAMESPACE, ClusterSandboxes, kubectl
from tests.support.rollbacks import Requests, manifest
from tests.support.scenarios import World

KUBECONFIG = os.environ.get("ROLLBACK_E2E_KUBECONFIG", "")
pytestmark = pytest.mark.skipif(not KUBECONFIG, reason="needs a kind cluster: run `make kind-e2e`")
PROVIDERS = ["facets", "vector", "yandex"]
METRICS = f"/api/v1/namespaces/{NAMESPACE}/services/http:rollback-operator-metrics:metrics/proxy/metrics"


@pytest.fixture(scope="module")
def api() -> Iterator[kubernetes.client.ApiClient]:
    client = kubernetes.config.new_client_from_config(config_file=KUBECONFIG)
    yield client
    client.close()


@pytest.fixture
def requests_(api: kubernetes.client.ApiClient) -> Requests:
    name = f"rollback-e2e-{secrets.token_hex(3)}"
    kubectl(KUBECONFIG, "create", "namespace", name)
    return Requests(api, name)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_installed_operator_rolls_back_through_each_provider_exactly_once(
    provider: str, requests_: Requests
) -> None:
    sandboxes = ClusterSandboxes(KUBECONFIG)
    world = World(sandboxes)  # type: ignore[arg-type]  # ClusterSandboxes has the parts World uses
    scenario = world.scenario(provider)
    world.apply()
    requests_.secret("creds", scenario.secret)
    requests_.create(manifest("back-one", scenario.provider, secret="creds"))

    status = requests_.wait_terminal("back-one", timeout=120)

    assert (status["phase"], status["targetVersion"]) == ("Succeeded", scenario.earlier[0])
    assert scenario.rollbacks(sandboxes) == 1  # type: ignore[arg-type]
    assert [e.reason for e in requests_.events("back-one")] == ["RollbackTriggered", "RollbackSucceeded"]


def test_the_operator_serves_metrics_through_its_service_and_was_never_forbidden() -> None:
    metrics = kubectl(KUBECONFIG, "get", "--raw", METRICS)
    logs = kubectl(
        KUBECONFIG, "logs", "--namespace", NAMESPACE, "deployment/rollback-operator", "-c", "operator"
    )

    assert "# TYPE rollback_requests_total counter" in metrics
    assert "Forbidden" not in logs  # kopf's and the operator's own wording of an HTTP 403

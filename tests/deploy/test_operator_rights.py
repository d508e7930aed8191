"""The rights in deploy/rbac/ are enough: the operator, logged in as its ServiceAccount, does its whole job.

The operator runs as a real process with the ServiceAccount's kubeconfig (tests.support.rbac) and
rolls back one target of each provider sandbox: it watches, reads the requests and their Secrets,
writes status and posts Events, and its log never shows a refused call.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import ApiClient

from rollback_sandbox.serve import Sandboxes
from tests.support.controlplane import ControlPlane
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import Requests, manifest
from tests.support.scenarios import World

PROVIDERS = ["facets", "vector", "yandex"]


@pytest.fixture
def operator(
    cluster: ControlPlane,
    namespace: str,
    crd: str,
    sandboxes: Sandboxes,
    operator_kubeconfig: Path,
    tmp_path: Path,
) -> Iterator[OperatorProcess]:
    """The operator as its ServiceAccount. Only this test's namespace: requests that other tests
    leave behind elsewhere must not be worked on."""
    allowed = [arg for url in sandboxes.allowed_endpoints() for arg in ("--allowed-endpoint", url)]
    env = {**cluster.env(), "KUBECONFIG": str(operator_kubeconfig)}
    proc = OperatorProcess(
        env=env, log_path=tmp_path / "operator.log", namespaces=[namespace], extra_args=allowed
    )
    yield proc.start()
    proc.stop(timeout=10)


def test_the_operator_with_only_its_service_accounts_rights_rolls_back_through_every_provider(
    k8s_api: ApiClient,
    namespace: str,
    crd: str,
    sandboxes: Sandboxes,
    operator: OperatorProcess,
) -> None:
    world = World(sandboxes)
    scenarios = {provider: world.scenario(provider) for provider in PROVIDERS}
    world.apply()
    requests_ = Requests(k8s_api, namespace)
    for provider, scenario in scenarios.items():
        requests_.secret(f"{provider}-creds", scenario.secret)
        requests_.create(manifest(provider, scenario.provider, secret=f"{provider}-creds"))

    phases = {provider: requests_.wait_terminal(provider, timeout=60)["phase"] for provider in PROVIDERS}

    assert phases == dict.fromkeys(PROVIDERS, "Succeeded")
    assert [scenarios[p].rollbacks(sandboxes) for p in PROVIDERS] == [1, 1, 1]
    events = {p: tuple(e.reason for e in requests_.events(p)) for p in PROVIDERS}
    assert events == dict.fromkeys(PROVIDERS, ("RollbackTriggered", "RollbackSucceeded"))
    assert "Forbidden" not in operator.log_text()

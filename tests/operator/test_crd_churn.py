"""A deleted CRD makes the operator not ready, not dead; when the CRD returns, it carries on.

Deleting a CRD deletes every object of its type and leaves the API server's admission policies
briefly unsure of the type, so this module runs on a control plane of its own (the fixtures
below replace the session's), and each test restores the CRDs before it ends. The operator runs
with the deployed rights.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import kubernetes
import pytest

from rollback_sandbox.serve import Sandboxes
from tests.operator.conftest import OperatorFactory
from tests.support.controlplane import BIN_DIR, ControlPlane
from tests.support.crd import install_crd
from tests.support.operator import OperatorProcess
from tests.support.rbac import install_operator_rbac
from tests.support.rollbacks import Requests, condition, manifest
from tests.support.scenarios import Scenario, World

CRDS = ["rollbackrecords.rollback.dev", "rollbackapprovals.rollback.dev", "rollbackrequests.rollback.dev"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    plane = ControlPlane(tmp_path_factory.mktemp("churn-controlplane"), BIN_DIR)
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="module")
def k8s_api(cluster: ControlPlane) -> Iterator[kubernetes.client.ApiClient]:
    client = kubernetes.config.new_client_from_config(config_file=str(cluster.kubeconfig))
    yield client
    client.close()


@pytest.fixture(scope="module")
def crd(cluster: ControlPlane) -> str:
    return install_crd(cluster)


@pytest.fixture(scope="module")
def operator_kubeconfig(cluster: ControlPlane, crd: str) -> Path:
    return install_operator_rbac(cluster)


@pytest.fixture
def restored(cluster: ControlPlane) -> Iterator[None]:
    yield
    install_crd(cluster)


def _until(check: Callable[[], bool], *, timeout: float = 30, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _missing(operator: OperatorProcess) -> list[str] | None:
    """The types /readyz says are missing; None when it says ready."""
    code, body = operator.readiness()
    return None if code == 200 else list(json.loads(body)["missing"])


def _rollback(requests_: Requests, scenario: Scenario, name: str) -> dict[str, object]:
    try:
        requests_.secret(f"{name}-creds", scenario.secret)
    except Exception as exc:
        if "AlreadyExists" not in str(exc):
            raise
    requests_.create(manifest(name, scenario.provider, secret=f"{name}-creds"))
    return requests_.wait_terminal(name, timeout=60)


def test_deleted_crds_make_the_operator_not_ready_until_they_return_then_it_carries_on(
    cluster: ControlPlane,
    sandboxes: Sandboxes,
    requests_: Requests,
    operator_factory: OperatorFactory,
    restored: None,
) -> None:
    """One CRD after the other (the operator notices each), then all three at once, as
    `kubectl delete -k deploy/crd` does; after each, a new rollback still happens exactly once."""
    world = World(sandboxes)
    scenarios = [world.vector() for _ in range(len(CRDS) + 2)]
    world.apply()
    operator = operator_factory().start()
    _until(lambda: _missing(operator) is None, what="ready")
    assert condition(_rollback(requests_, scenarios[0], "before"), "Ready")["reason"] == "RollbackSucceeded"

    for index, deleted in enumerate([*([crd] for crd in CRDS), CRDS], start=1):
        cluster.kubectl("delete", "crd", *deleted, "--wait=true")
        plurals = {crd.split(".")[0] for crd in deleted}
        _until(lambda p=plurals: p <= set(_missing(operator) or []), what=f"/readyz to name {plurals}")
        assert operator.proc is not None
        assert operator.proc.poll() is None  # still running
        install_crd(cluster)
        _until(lambda: _missing(operator) is None, what="ready again")
        status = _rollback(requests_, scenarios[index], f"after-{index}")
        assert condition(status, "Ready")["reason"] == "RollbackSucceeded", (deleted, status)

    assert [s.rollbacks(sandboxes) for s in scenarios] == [1] * len(scenarios)
    assert operator.proc.poll() is None


def test_requests_for_a_target_are_not_held_behind_ones_that_went_with_their_crd(
    cluster: ControlPlane,
    sandboxes: Sandboxes,
    requests_: Requests,
    operator_factory: OperatorFactory,
    restored: None,
) -> None:
    """A request in flight when its CRD was deleted is gone: a new one for its target goes ahead."""
    world = World(sandboxes, vector_step_seconds=60)  # the first rollback stays pending
    scenario = world.vector()
    world.apply()
    operator = operator_factory().start()
    requests_.secret("held-creds", scenario.secret)
    requests_.create(manifest("held", scenario.provider, secret="held-creds"))
    requests_.wait("held", lambda s: bool(s.get("operation", {}).get("id")), what="a handle")

    cluster.kubectl("delete", "crd", "rollbackrequests.rollback.dev", "--wait=true")
    _until(lambda: "rollbackrequests" in (_missing(operator) or []), what="not ready")
    install_crd(cluster)
    _until(lambda: _missing(operator) is None, what="ready again")
    requests_.create(
        manifest("next", scenario.provider, secret="held-creds", reason="after the CRD came back")
    )

    record = requests_.wait_claim("next", timeout=60)  # claimed: past the queue (the provider may refuse)
    assert record["spec"]["request"]["name"] == "next"
    assert "waiting for" not in (requests_.status("next").get("message") or "")

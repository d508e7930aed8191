"""One manifest, one rollback: a request deleted and applied again never rolls back a second time.

GitOps re-creates objects (a prune and re-sync, ``kubectl replace --force``, a namespace synced
again). Each re-created request is a new object with a new uid and no status; its identity
(namespace, name, spec) has a RollbackRecord, created before the provider was called. These tests
re-create requests after they finished and in the middle of their rollback, SIGKILL the operator at
the worst moments, and race two operators; the sandboxes' counters are the evidence.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import kubernetes
import pytest

from rollback_sandbox.common import Faults
from rollback_sandbox.serve import Sandboxes
from tests.operator.conftest import OperatorFactory
from tests.support.controlplane import ControlPlane
from tests.support.rollbacks import GROUP, VERSION, Requests, condition, manifest
from tests.support.scenarios import Scenario, World
from tests.support.users import People

PROVIDERS = ["facets", "vector", "yandex"]


def _until(check: Callable[[], bool], *, timeout: float = 20, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _target(sandboxes: Sandboxes, provider: str, **world: Any) -> Scenario:
    built = World(sandboxes, **world)
    scenario = built.scenario(provider)
    built.apply()
    return scenario


def _apply(requests_: Requests, scenario: Scenario, name: str, **spec: Any) -> dict[str, Any]:
    """Create the Secret (once) and the request: what a GitOps sync does."""
    try:
        requests_.secret(f"{name}-creds", scenario.secret)
    except Exception as exc:  # the Secret outlives the request it was synced with
        if "AlreadyExists" not in str(exc):
            raise
    return requests_.create(manifest(name, scenario.provider, secret=f"{name}-creds", **spec))


def _recreate(requests_: Requests, scenario: Scenario, name: str, **spec: Any) -> None:
    requests_.delete(name)
    _until(lambda: _absent(requests_, name), what=f"{name} to be gone")
    _apply(requests_, scenario, name, **spec)


def _absent(requests_: Requests, name: str) -> bool:
    try:
        requests_.get(name)
    except Exception as exc:
        return "Not Found" in str(exc) or "404" in str(exc)
    return False


def _faults(sandboxes: Sandboxes, provider: str, faults: Faults) -> None:
    sandboxes.read(provider, lambda s: setattr(s, "faults", faults))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_finished_request_deleted_and_applied_again_is_not_rolled_back_again(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    scenario = _target(sandboxes, provider)
    operator_factory().start()
    _apply(requests_, scenario, "api-bad-release")
    first = requests_.wait_terminal("api-bad-release")
    record = requests_.record_name("api-bad-release")

    _recreate(requests_, scenario, "api-bad-release")
    again = requests_.wait_terminal("api-bad-release")

    assert first["phase"] == "Succeeded", first
    assert again["phase"] == "Succeeded", again
    ready = condition(again, "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "AlreadyExecuted")
    assert record in again["message"]
    assert "Nothing was sent again" in again["message"]
    assert again["targetVersion"] == first["targetVersion"]
    assert scenario.rollbacks(sandboxes) == 1
    events = requests_.wait_events("api-bad-release", 3)
    assert events[-1].reason == "AlreadyExecuted"


def test_kubectl_replace_force_changes_nothing_either(
    cluster: ControlPlane,
    sandboxes: Sandboxes,
    requests_: Requests,
    operator_factory: OperatorFactory,
    tmp_path: Any,
) -> None:
    scenario = _target(sandboxes, "vector")
    operator_factory().start()
    _apply(requests_, scenario, "replaced")
    requests_.wait_terminal("replaced")
    path = tmp_path / "replaced.json"
    body = manifest("replaced", scenario.provider, secret="replaced-creds")
    body["metadata"]["namespace"] = requests_.namespace
    path.write_text(json.dumps(body))

    for _ in range(2):
        uid = requests_.get("replaced")["metadata"]["uid"]
        cluster.kubectl("replace", "--force", "-f", str(path))
        _until(lambda old=uid: requests_.get("replaced")["metadata"]["uid"] != old, what="a new object")
        status = requests_.wait_terminal("replaced")
        assert condition(status, "Ready")["reason"] == "AlreadyExecuted", status

    assert scenario.rollbacks(sandboxes) == 1


def test_a_new_name_with_the_same_spec_is_a_new_intent_and_rolls_back(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    scenario = _target(sandboxes, "yandex")
    operator_factory().start()
    _apply(requests_, scenario, "first")
    requests_.wait_terminal("first")
    _apply(requests_, scenario, "second")
    second = requests_.wait_terminal("second")

    assert condition(second, "Ready")["reason"] == "RollbackSucceeded", second
    assert scenario.rollbacks(sandboxes) == 2


def test_a_changed_spec_under_the_same_name_is_a_new_intent(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    scenario = _target(sandboxes, "vector")
    operator_factory().start()
    _apply(requests_, scenario, "edited")
    requests_.wait_terminal("edited")
    _recreate(requests_, scenario, "edited", reason="a second bad release")
    status = requests_.wait_terminal("edited")

    assert condition(status, "Ready")["reason"] == "RollbackSucceeded", status
    assert scenario.rollbacks(sandboxes) == 2


def test_deleting_the_record_by_hand_lets_the_same_manifest_run_again(
    cluster: ControlPlane, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    scenario = _target(sandboxes, "facets")
    operator_factory().start()
    _apply(requests_, scenario, "on-purpose")
    requests_.wait_terminal("on-purpose")
    record = requests_.record_name("on-purpose")

    cluster.kubectl("delete", "rbrec", record)
    _recreate(requests_, scenario, "on-purpose")
    status = requests_.wait_terminal("on-purpose")

    assert condition(status, "Ready")["reason"] == "RollbackSucceeded", status
    assert scenario.rollbacks(sandboxes) == 2


def test_a_failed_run_is_mirrored_as_failed_and_not_retried(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    scenario = _target(sandboxes, "vector")
    _faults(sandboxes, "vector", Faults(error_rate=1.0, error_status=400, methods=("POST",)))
    operator_factory().start()
    _apply(requests_, scenario, "refused")
    first = requests_.wait_terminal("refused")
    _faults(sandboxes, "vector", Faults())

    _recreate(requests_, scenario, "refused")
    again = requests_.wait_terminal("refused")

    assert condition(first, "Ready")["reason"] == "ProviderRejected", first
    assert again["phase"] == "Failed", again
    assert condition(again, "Ready")["reason"] == "AlreadyExecuted"
    assert condition(again, "Stalled")["status"] == "True"
    assert "ProviderRejected" in again["message"]
    assert scenario.rollbacks(sandboxes) == 0


# ---------------------------------------------------------------- deleted mid-flight, re-created


@pytest.mark.parametrize("provider", PROVIDERS)
def test_deleted_after_the_claim_and_killed_then_re_created_rolls_back_once(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    """The worst moment before the trigger: the record exists, the rollback call hangs."""
    scenario = _target(sandboxes, provider)
    _faults(sandboxes, provider, Faults(latency=1.5, methods=("POST",)))
    first = operator_factory().start()
    _apply(requests_, scenario, "mid-claim")
    requests_.wait_claim("mid-claim")
    first.kill()
    _faults(sandboxes, provider, Faults())

    _recreate(requests_, scenario, "mid-claim")
    operator_factory(log_name="second.log").start()
    status = requests_.wait_terminal("mid-claim", timeout=60)

    assert status["phase"] == "Succeeded", status
    assert condition(status, "Ready")["reason"] == "RollbackSucceeded"
    assert scenario.rollbacks(sandboxes) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_deleted_after_the_provider_acted_and_killed_then_re_created_adopts_that_rollback(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    """The worst moment after the trigger: the provider acted, nobody recorded the handle."""
    scenario = _target(sandboxes, provider)
    _faults(sandboxes, provider, Faults(slow_rate=1.0, slow_seconds=30, methods=("POST",)))
    first = operator_factory().start()
    _apply(requests_, scenario, "mid-trigger")
    _until(lambda: scenario.rollbacks(sandboxes) == 1, what="the provider to perform the rollback")
    first.kill()
    _faults(sandboxes, provider, Faults())

    _recreate(requests_, scenario, "mid-trigger")
    operator_factory(log_name="second.log").start()
    status = requests_.wait_terminal("mid-trigger", timeout=60)

    assert status["phase"] == "Succeeded", status
    assert status["targetVersion"] == scenario.earlier[0]
    assert scenario.rollbacks(sandboxes) == 1


@pytest.mark.parametrize("provider", ["vector", "yandex"])
def test_deleted_while_polling_and_killed_then_re_created_follows_the_same_operation(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    """The worst moment before the outcome is recorded: the handle is known, the rollback runs."""
    scenario = _target(sandboxes, provider, vector_step_seconds=1.5, yandex_operation_seconds=3)
    first = operator_factory().start()
    _apply(requests_, scenario, "mid-poll")
    handle = requests_.wait("mid-poll", lambda s: bool(s.get("operation", {}).get("id")), what="a handle")
    first.kill()

    _recreate(requests_, scenario, "mid-poll")
    operator_factory(log_name="second.log").start()
    status = requests_.wait_terminal("mid-poll", timeout=60)

    assert status["phase"] == "Succeeded", status
    assert status["operation"]["id"] == handle["operation"]["id"]
    assert scenario.rollbacks(sandboxes) == 1


def test_two_operators_racing_on_re_created_requests_never_trigger_twice(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    world = World(sandboxes)
    scenarios = [world.scenario(p) for p in PROVIDERS for _ in range(2)]
    world.apply()
    for provider in PROVIDERS:  # slow every call a little so the two operators overlap
        _faults(sandboxes, provider, Faults(latency=0.2))
    operator_factory(log_name="a.log").start()
    operator_factory(log_name="b.log").start()

    names = [f"race-{i}" for i in range(len(scenarios))]
    for name, scenario in zip(names, scenarios, strict=True):
        _apply(requests_, scenario, name)
    for name, scenario in zip(names, scenarios, strict=True):  # deleted and re-applied while in flight
        _recreate(requests_, scenario, name)
    statuses = [requests_.wait_terminal(name, timeout=90) for name in names]

    assert {s["phase"] for s in statuses} == {"Succeeded"}, statuses
    assert [s.rollbacks(sandboxes) for s in scenarios] == [1] * len(scenarios)


# ---------------------------------------------------------------- expiry and retention


def test_a_request_past_its_not_after_expires_with_nothing_sent(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    scenario = _target(sandboxes, "yandex")
    operator_factory().start()
    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _apply(requests_, scenario, "too-late", notAfter=past)
    status = requests_.wait_terminal("too-late")

    assert status["phase"] == "Failed", status
    assert condition(status, "Ready")["reason"] == "Expired"
    assert condition(status, "Stalled")["status"] == "True"
    assert past in status["message"]
    assert requests_.record(requests_.record_name("too-late")) is None
    assert scenario.rollbacks(sandboxes) == 0
    assert sum(sandboxes.read("yandex", lambda s: dict(s.requests)).values()) == 0  # not a byte sent


def test_a_request_waiting_for_its_target_expires_when_not_after_passes(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    scenario = _target(sandboxes, "vector", vector_step_seconds=30)  # the first rollback stays pending
    operator_factory().start()
    _apply(requests_, scenario, "holder")
    requests_.wait("holder", lambda s: bool(s.get("operation", {}).get("id")), what="a handle")
    soon = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _apply(requests_, scenario, "queued", notAfter=soon)

    requests_.wait_phase("queued", "Waiting")
    status = requests_.wait_terminal("queued", timeout=20)

    assert condition(status, "Ready")["reason"] == "Expired", status
    assert scenario.rollbacks(sandboxes) == 1  # only the holder's


def test_records_past_their_retention_are_deleted_and_the_manifest_runs_again(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    scenario = _target(sandboxes, "facets")
    operator_factory(extra_args=("--record-retention", "2s")).start()
    _apply(requests_, scenario, "kept-briefly")
    requests_.wait_terminal("kept-briefly")
    record = requests_.record_name("kept-briefly")

    _until(lambda: requests_.record(record) is None, timeout=20, what="the record to be collected")
    _recreate(requests_, scenario, "kept-briefly")
    status = requests_.wait_terminal("kept-briefly")

    assert condition(status, "Ready")["reason"] == "RollbackSucceeded", status
    assert scenario.rollbacks(sandboxes) == 2


def test_requested_by_is_stamped_by_the_api_server_and_copied_into_status_and_record(
    cluster: ControlPlane, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    scenario = _target(sandboxes, "vector")
    people = People(cluster, requests_.namespace)
    people.bind("alice", "rollback-requester")
    operator_factory().start()
    requests_.secret("asked-creds", scenario.secret)
    body = manifest("asked", scenario.provider, secret="asked-creds")
    body["metadata"]["annotations"] = {"rollback.dev/requested-by": "mallory"}  # a client's claim
    with people.client("alice") as api:
        kubernetes.client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, requests_.namespace, "rollbackrequests", copy.deepcopy(body)
        )
    status = requests_.wait_terminal("asked")

    assert status["requestedBy"] == "alice"
    rec = requests_.record(requests_.record_name("asked"))
    assert rec is not None
    assert rec["spec"]["requestedBy"] == "alice"
    trigger = next(e for e in requests_.wait_events("asked", 2) if e.reason == "RollbackTriggered")
    assert "requested by alice" in trigger.message


def test_a_namespace_deleted_and_synced_again_does_not_roll_back_again(
    cluster: ControlPlane, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    """The namespace controller deletes the request with its namespace; Git brings both back."""
    scenario = _target(sandboxes, "yandex")
    operator_factory().start()
    _apply(requests_, scenario, "synced")
    first = requests_.wait_terminal("synced")

    cluster.kubectl("delete", "namespace", requests_.namespace, "--wait=true", timeout=120)
    cluster.kubectl("create", "namespace", requests_.namespace)
    _apply(requests_, scenario, "synced")  # the sync re-creates the Secret and the request
    again = requests_.wait_terminal("synced", timeout=60)

    assert condition(first, "Ready")["reason"] == "RollbackSucceeded", first
    assert condition(again, "Ready")["reason"] == "AlreadyExecuted", again
    assert scenario.rollbacks(sandboxes) == 1

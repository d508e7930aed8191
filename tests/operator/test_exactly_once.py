"""One RollbackRequest causes exactly one rollback, whatever happens to the operator.

The operator is SIGKILLed at the worst moments, observed from outside: after the claim while the
rollback call is still held by the sandbox (so the provider never acts), after the provider acted
but before the handle was recorded, and while polling. A fresh operator then finishes the job.
Two operators at once race for the same requests. The sandbox's counters are the evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from rollback_sandbox.common import Faults
from rollback_sandbox.serve import Sandboxes
from tests.operator.conftest import OperatorFactory
from tests.support.rollbacks import Requests, condition, manifest
from tests.support.scenarios import Scenario, World

PROVIDERS = ["facets", "vector", "yandex"]


def _until(check: Callable[[], bool], *, timeout: float = 20, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _submit(requests_: Requests, scenario: Scenario, name: str, **spec: Any) -> None:
    requests_.secret(f"{name}-creds", scenario.secret)
    requests_.create(manifest(name, scenario.provider, secret=f"{name}-creds", **spec))


def _post_faults(sandboxes: Sandboxes, provider: str, faults: Faults) -> None:
    sandboxes.read(provider, lambda s: setattr(s, "faults", faults))


def _taken_over_after_claim(
    sandboxes: Sandboxes,
    requests_: Requests,
    factory: OperatorFactory,
    provider: str,
    faults: Faults,
    **spec: Any,
) -> tuple[Scenario, dict[str, Any]]:
    """SIGKILL the operator once it holds the claim and before the provider acted; then a second
    operator, facing ``faults``, takes the request over. Its scenario and final status."""
    world = World(sandboxes)
    scenario = world.scenario(provider)
    world.apply()
    hang = Faults(latency=1.5, methods=("POST",))  # the rollback call hangs before acting
    _post_faults(sandboxes, provider, hang)
    first = factory().start()
    _submit(requests_, scenario, "claimed", **spec)
    claim = requests_.wait_claim("claimed")
    first.kill()
    assert "operationId" not in (requests_.record(claim["metadata"]["name"]) or {}).get("status", {})
    assert "operation" not in requests_.status("claimed")
    _post_faults(sandboxes, provider, faults)
    factory(log_name="second.log").start()
    return scenario, requests_.wait_terminal("claimed", timeout=60)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_kill_after_the_claim_and_before_the_provider_acted_rolls_back_once(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    scenario, status = _taken_over_after_claim(sandboxes, requests_, operator_factory, provider, Faults())

    assert status["phase"] == "Succeeded", status
    assert scenario.rollbacks(sandboxes) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_kill_after_the_provider_acted_but_before_the_record_adopts_that_rollback(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    world = World(sandboxes)
    scenario = world.scenario(provider)
    world.apply()
    _post_faults(sandboxes, provider, Faults(slow_rate=1.0, slow_seconds=30, methods=("POST",)))
    first = operator_factory().start()
    _submit(requests_, scenario, "acted")

    _until(lambda: scenario.rollbacks(sandboxes) == 1, what="the provider to perform the rollback")
    first.kill()
    assert "operation" not in requests_.status("acted")  # the handle was never recorded
    assert "operationId" not in (requests_.record(requests_.record_name("acted")) or {})["status"]
    _post_faults(sandboxes, provider, Faults())
    operator_factory(log_name="second.log").start()
    status = requests_.wait_terminal("acted", timeout=60)

    assert status["phase"] == "Succeeded", status
    assert status["targetVersion"] == scenario.earlier[0]
    assert scenario.rollbacks(sandboxes) == 1


@pytest.mark.parametrize("provider", ["vector", "yandex"])
def test_a_kill_while_polling_resumes_polling_the_same_operation(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    world = World(sandboxes, vector_step_seconds=1.5, yandex_operation_seconds=3)
    scenario = world.scenario(provider)
    world.apply()
    first = operator_factory().start()
    _submit(requests_, scenario, "polled")

    recorded = requests_.wait("polled", lambda s: bool(s.get("operation", {}).get("id")), what="a handle")
    first.kill()
    operator_factory(log_name="second.log").start()
    status = requests_.wait_terminal("polled", timeout=60)

    assert status["phase"] == "Succeeded", status
    assert status["operation"]["id"] == recorded["operation"]["id"]
    assert scenario.rollbacks(sandboxes) == 1


@pytest.mark.parametrize("provider", ["vector", "yandex"])
def test_a_claim_the_provider_never_answers_about_ends_unknown_not_failed(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    """Failed would invite a second request, and so perhaps a second rollback."""
    every_call_503 = Faults(error_rate=1.0)
    scenario, status = _taken_over_after_claim(
        sandboxes, requests_, operator_factory, provider, every_call_503, timeoutSeconds=10
    )

    assert status["phase"] == "Unknown", status
    assert condition(status, "Triggered")["reason"] == "OutcomeUnknown"
    assert "could not ask the provider" in status["message"]
    assert scenario.rollbacks(sandboxes) == 0


def test_a_deduplicated_call_answered_only_by_5xx_until_the_deadline_ends_unknown(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    """Yandex may have started the operation behind a 5xx: giving up is not proof that it did not."""
    world = World(sandboxes)
    scenario = world.yandex()
    world.apply()
    _post_faults(sandboxes, "yandex", Faults(error_rate=1.0, methods=("POST",)))
    operator_factory(extra_args=("--claim-grace", "60")).start()  # every send ends inside its window
    _submit(requests_, scenario, "deduplicated", timeoutSeconds=10)
    status = requests_.wait_terminal("deduplicated", timeout=60)

    assert status["phase"] == "Unknown", status
    assert condition(status, "Triggered")["reason"] == "OutcomeUnknown"
    assert "may have reached the provider" in status["message"]


def test_a_rollback_whose_endpoint_left_the_allow_list_is_not_followed_there_any_more(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    world = World(sandboxes, vector_step_seconds=30)  # the deployment stays pending
    scenario = world.vector()
    world.apply()
    first = operator_factory().start()
    _submit(requests_, scenario, "narrowed")
    requests_.wait("narrowed", lambda s: bool(s.get("operation", {}).get("id")), what="a handle")
    first.kill()
    asked = sum(sandboxes.read("vector", lambda s: dict(s.requests)).values())
    operator_factory(log_name="second.log", allow_sandboxes=False).start()
    status = requests_.wait_terminal("narrowed", timeout=30)

    assert status["phase"] == "Unknown", status
    assert "not in the operator's allow-list any more" in status["message"]
    assert sum(sandboxes.read("vector", lambda s: dict(s.requests)).values()) == asked  # not contacted
    assert scenario.rollbacks(sandboxes) == 1


def test_two_operators_at_once_never_trigger_twice(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    world = World(sandboxes)
    scenarios = [world.scenario(p) for p in PROVIDERS for _ in range(3)]
    world.apply()
    for provider in PROVIDERS:  # slow every call a little so the two operators overlap
        _post_faults(sandboxes, provider, Faults(latency=0.2))
    operator_factory(log_name="a.log").start()
    operator_factory(log_name="b.log").start()

    for index, scenario in enumerate(scenarios):
        _submit(requests_, scenario, f"race-{index}")
    statuses = [requests_.wait_terminal(f"race-{i}", timeout=90) for i in range(len(scenarios))]

    assert [s["phase"] for s in statuses] == ["Succeeded"] * len(scenarios)
    assert [s.rollbacks(sandboxes) for s in scenarios] == [1] * len(scenarios)


def test_a_graceful_stop_lets_a_trigger_in_flight_record_its_handle(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    world = World(sandboxes)
    scenario = world.vector()
    world.apply()
    _post_faults(sandboxes, "vector", Faults(slow_rate=1.0, slow_seconds=1.0, methods=("POST",)))
    running = operator_factory().start()
    _submit(requests_, scenario, "in-flight")

    requests_.wait_claim("in-flight")
    exit_code = running.stop(timeout=30)

    assert exit_code == 0
    assert requests_.status("in-flight")["operation"].get("id")  # recorded before exiting
    assert scenario.rollbacks(sandboxes) == 1


def test_a_handle_written_into_status_by_someone_else_is_never_reported_as_a_success(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    """Anyone with status rights could write the id of an old, successful deployment: without a
    RollbackRecord of the operator's own behind it, it is neither followed nor repeated."""
    world = World(sandboxes)
    scenario = world.vector()
    world.apply()
    _submit(requests_, scenario, "forged")  # no operator runs yet
    old = sandboxes.read("vector", lambda s: s.history(scenario.provider["vector"]["environmentId"])[0].id)
    forged = {"phase": "InProgress", "operation": {"id": old, "claimedAt": "2026-11-22T10:00:00Z"}}
    requests_.custom.patch_namespaced_custom_object_status(
        "rollback.dev", "v1alpha1", requests_.namespace, "rollbackrequests", "forged", {"status": forged}
    )
    operator_factory().start()
    status = requests_.wait_terminal("forged")

    assert status["phase"] == "Unknown", status
    assert condition(status, "Ready")["reason"] == "OutcomeUnknown"
    assert "no RollbackRecord of this operator backs" in status["message"]
    assert scenario.rollbacks(sandboxes) == 0

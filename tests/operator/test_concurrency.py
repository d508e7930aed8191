"""At most one request per provider target is in flight; other targets run in parallel.

Also: an operator restart costs nothing for finished requests: no provider call, no write.
"""

from __future__ import annotations

from rollback_sandbox.serve import Sandboxes
from tests.operator.conftest import OperatorFactory
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import Requests, condition, manifest
from tests.support.scenarios import World


def test_two_requests_for_one_target_run_one_after_the_other_in_creation_order(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    world = World(sandboxes, vector_step_seconds=1.0)
    target = world.vector(deployments=5)
    world.apply()
    requests_.secret("creds", target.secret)
    requests_.create(manifest("first", target.provider, secret="creds"))
    requests_.create(manifest("second", target.provider, secret="creds"))

    waiting = requests_.wait_phase("second", "Waiting")
    first, second = requests_.wait_terminal("first"), requests_.wait_terminal("second")

    assert "first" in waiting["message"]
    assert "WaitingForTarget" in [e.reason for e in requests_.wait_events("second", 3)]
    assert condition(waiting, "Triggered")["reason"] == "WaitingForTarget"
    assert (first["phase"], second["phase"]) == ("Succeeded", "Succeeded")
    assert first["completedAt"] <= second["operation"]["claimedAt"]
    assert target.rollbacks(sandboxes) == 2


def test_requests_for_different_targets_run_in_parallel(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    world = World(sandboxes, vector_step_seconds=1.5)
    one, two = world.vector(), world.vector()
    world.apply()
    for name, target in (("one", one), ("two", two)):
        requests_.secret(f"{name}-creds", target.secret)
        requests_.create(manifest(name, target.provider, secret=f"{name}-creds"))

    first, second = requests_.wait_terminal("one"), requests_.wait_terminal("two")

    assert (first["phase"], second["phase"]) == ("Succeeded", "Succeeded")
    assert second["operation"]["triggeredAt"] < first["completedAt"]
    assert first["operation"]["triggeredAt"] < second["completedAt"]
    assert [e.reason for e in requests_.wait_events("two", 2)] == ["RollbackTriggered", "RollbackSucceeded"]


def test_a_restart_with_finished_requests_makes_no_provider_calls_and_no_writes(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    world = World(sandboxes)
    done = [world.vector() for _ in range(6)]
    fresh = world.facets()
    world.apply()
    first = operator_factory().start()
    for index, target in enumerate(done):
        requests_.secret(f"done-{index}", target.secret)
        requests_.create(manifest(f"done-{index}", target.provider, secret=f"done-{index}"))
    versions = {
        f"done-{i}": requests_.wait_terminal(f"done-{i}")
        and requests_.get(f"done-{i}")["metadata"]["resourceVersion"]
        for i in range(len(done))
    }
    first.stop()
    vector_calls = sandboxes.read("vector", lambda s: sum(s.requests.values()))

    operator_factory(log_name="second.log").start()
    requests_.secret("fresh", fresh.secret)
    requests_.create(manifest("fresh", fresh.provider, secret="fresh"))
    assert requests_.wait_terminal("fresh")["phase"] == "Succeeded"  # the restarted operator is at work

    assert sandboxes.read("vector", lambda s: sum(s.requests.values())) == vector_calls
    assert {name: requests_.get(name)["metadata"]["resourceVersion"] for name in versions} == versions
    assert [t.rollbacks(sandboxes) for t in done] == [1] * len(done)

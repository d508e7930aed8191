"""A request through each provider ends as the contract says: status, conditions, events, sandbox.

The operator runs as a real process against the real API server; the provider is a real HTTP
sandbox. Every test checks the provider's side too: exactly the expected number of rollbacks.
"""

from __future__ import annotations

import json
import time

import pytest

from rollback_sandbox.serve import Sandboxes
from tests.support.controlplane import ControlPlane
from tests.support.operator import OperatorProcess
from tests.support.recording import record
from tests.support.rollbacks import GROUP, RECORDS, VERSION, Requests, condition, manifest
from tests.support.scenarios import Scenario, World

PROVIDERS = ["facets", "vector", "yandex"]


def _target(sandboxes: Sandboxes, provider: str) -> Scenario:
    world = World(sandboxes)
    scenario = world.scenario(provider)
    world.apply()
    return scenario


def _submit(requests_: Requests, scenario: Scenario, name: str, **spec: object) -> None:
    requests_.secret(f"{name}-creds", scenario.secret)
    requests_.create(manifest(name, scenario.provider, secret=f"{name}-creds", **spec))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rollback_one_step_back_succeeds_and_reaches_the_provider_once(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess, cluster: ControlPlane
) -> None:
    scenario = _target(sandboxes, provider)
    _submit(requests_, scenario, "one-back")

    cluster.kubectl(
        "wait",
        "--for=condition=Ready",
        "rbr/one-back",
        "-n",
        requests_.namespace,
        "--timeout=60s",
        timeout=70,
    )
    status = requests_.status("one-back")

    assert status["phase"] == "Succeeded"
    assert status["currentVersion"] == scenario.live
    assert status["targetVersion"] == scenario.earlier[0]
    assert status["resolution"].startswith("stepsBack=1: newest of")
    assert status["operation"]["id"]
    assert status["operation"]["state"] == "Succeeded"
    assert status["operation"]["claimedAt"] <= status["operation"]["triggeredAt"]
    assert condition(status, "Ready")["reason"] == "RollbackSucceeded"
    assert condition(status, "Triggered")["status"] == "True"
    assert condition(status, "Reconciling")["status"] == "False"
    assert condition(status, "Stalled")["status"] == "False"
    assert all(c["observedGeneration"] == 1 for c in status["conditions"])
    assert scenario.rollbacks(sandboxes) == 1
    events = requests_.wait_events("one-back", 2)
    assert [e.reason for e in events] == ["RollbackTriggered", "RollbackSucceeded"]
    assert "test rollback one-back" in events[0].message  # the spec's reason travels with the event


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rollback_finished_at_the_first_look_costs_one_status_write_and_two_record_writes(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _target(sandboxes, provider)  # the sandboxes finish rollbacks at once
    requests_.secret("twice-creds", scenario.secret)
    body = manifest("twice", scenario.provider, secret="twice-creds")

    versions = record(requests_, "twice", lambda: requests_.create(body))
    written = [v["status"] for v in versions[1:]]  # every version after the one created

    # the claim is the record; handle and outcome come in one status write, none for the trigger alone
    assert [(s["phase"], "id" in s["operation"]) for s in written] == [("Succeeded", True)]
    assert written[0]["operation"]["state"] == "Succeeded"
    rec = requests_.record(requests_.record_name("twice"))
    assert rec is not None
    assert rec["status"]["claimedAt"] == written[0]["operation"]["claimedAt"]
    assert rec["status"]["claimedAt"] <= written[0]["operation"]["triggeredAt"]
    assert rec["status"]["operationId"] == written[0]["operation"]["id"]
    assert rec["status"]["outcome"]["reason"] == "RollbackSucceeded"
    managers = requests_.get("twice")["metadata"]["managedFields"]
    assert {m["manager"] for m in managers if m.get("subresource") == "status"} == {"rollback-operator"}
    events = requests_.wait_events("twice", 2)
    assert [e.reason for e in events] == ["RollbackTriggered", "RollbackSucceeded"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_explicit_version_and_steps_back_pick_the_named_versions(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    world = World(sandboxes)
    first, second = world.scenario(provider), world.scenario(provider)
    world.apply()
    _submit(requests_, first, "exact", target={"version": first.earlier[2]})
    _submit(requests_, second, "two-back", target={"stepsBack": 2})

    exact, two_back = requests_.wait_terminal("exact"), requests_.wait_terminal("two-back")

    assert (exact["phase"], exact["targetVersion"]) == ("Succeeded", first.earlier[2])
    assert exact["resolution"].startswith(f"version={first.earlier[2]}: 3rd newest of")
    assert (two_back["phase"], two_back["targetVersion"]) == ("Succeeded", second.earlier[1])
    assert (first.rollbacks(sandboxes), second.rollbacks(sandboxes)) == (1, 1)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_dry_run_resolves_and_reports_without_rolling_back(
    provider: str, sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _target(sandboxes, provider)
    _submit(requests_, scenario, "dry", dryRun=True)

    status = requests_.wait_terminal("dry")

    assert status["phase"] == "Succeeded"
    assert status["targetVersion"] == scenario.earlier[0]
    assert condition(status, "Ready")["status"] == "True"
    assert condition(status, "Ready")["reason"] == "DryRunSucceeded"
    assert condition(status, "Triggered")["reason"] == "DryRun"
    assert "operation" not in status
    assert scenario.rollbacks(sandboxes) == 0


def test_a_target_that_is_already_live_succeeds_without_a_call(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _target(sandboxes, "vector")
    _submit(requests_, scenario, "already", target={"version": scenario.live})

    status = requests_.wait_terminal("already")

    assert status["phase"] == "Succeeded"
    assert condition(status, "Ready")["reason"] == "AlreadyAtTarget"
    assert scenario.rollbacks(sandboxes) == 0


def test_metrics_and_json_logs_describe_the_work_done(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _target(sandboxes, "vector")
    _submit(requests_, scenario, "measured")
    requests_.wait_terminal("measured")

    # the counters move just after the terminal write and its Event: wait for the task to finish
    deadline = time.monotonic() + 10
    while 'rollback_requests_in_flight{provider="vector"} 0.0' not in (metrics := operator.metrics()):
        assert time.monotonic() < deadline, metrics
        time.sleep(0.1)

    assert 'rollback_requests_total{outcome="RollbackSucceeded",provider="vector"} 1.0' in metrics
    assert 'rollback_duration_seconds_count{provider="vector"} 1.0' in metrics
    assert (
        'rollback_provider_requests_total{code="201",operation="rollback",provider="vector"} 1.0' in metrics
    )
    assert 'rollback_requests_in_flight{provider="vector"} 0.0' in metrics
    # the history's size, as the watch of the records' names knows it (this run's record included)
    held = len(requests_.custom.list_cluster_custom_object(GROUP, VERSION, RECORDS)["items"])
    assert held >= 1
    while f"rollback_records {float(held)}" not in (metrics := operator.metrics()):
        assert time.monotonic() < deadline, metrics
        time.sleep(0.1)
    records = [json.loads(line) for line in operator.log_text().splitlines() if line.strip()]
    assert all(record.get("message") is not None for record in records)
    transitions = [
        r["message"] for r in records if r["message"].startswith(f"{requests_.namespace}/measured: ")
    ]
    assert [m.split(": ")[1] for m in transitions] == ["RollbackTriggered", "RollbackSucceeded"]

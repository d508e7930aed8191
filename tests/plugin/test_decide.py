"""``kubectl rollback plan``, ``approve`` and ``reject`` on requests a real operator holds for approval.

alice asks (through an impersonating client); the plugin runs as the control plane's admin, whose
name the plugin learns from a SelfSubjectReview and writes into ``approvedBy``, which the
ValidatingAdmissionPolicy then checks.
"""

from __future__ import annotations

import re

import kubernetes
import pytest

from rollback_sandbox.serve import Sandboxes
from tests.plugin.runner import Plugin
from tests.support.controlplane import ControlPlane
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import GROUP, VERSION, Requests, condition, manifest
from tests.support.scenarios import Scenario, World
from tests.support.users import People


@pytest.fixture(scope="module")
def people(cluster: ControlPlane, watched: str) -> People:
    team = People(cluster, watched)
    team.bind("alice", "rollback-requester")
    return team


def _gated(sandboxes: Sandboxes, requests_: Requests, people: People, name: str) -> Scenario:
    world = World(sandboxes)
    scenario = world.vector()
    world.apply()
    requests_.secret(f"{name}-creds", scenario.secret)
    body = manifest(name, scenario.provider, secret=f"{name}-creds", approval={"required": True})
    with people.client("alice") as api:
        kubernetes.client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, requests_.namespace, "rollbackrequests", body
        )
    requests_.wait_phase(name, "AwaitingApproval")
    return scenario


def test_plan_shows_what_would_be_rolled_back_and_that_it_waits(
    plugin: Plugin, requests_: Requests, sandboxes: Sandboxes, operator: OperatorProcess, people: People
) -> None:
    scenario = _gated(sandboxes, requests_, people, "planned")

    result = plugin.run("plan", "planned", "-n", requests_.namespace)

    assert result.code == 0, result.err
    assert re.search(rf"^Plan:\s+{scenario.live} -> {scenario.earlier[0]}$", result.out, re.MULTILINE)
    assert re.search(r"^Phase:\s+AwaitingApproval$", result.out, re.MULTILINE)
    assert re.search(r"^Requested:\s+by alice", result.out, re.MULTILINE)
    assert "required (False, AwaitingApproval)" in result.out


def test_approve_with_wait_follows_the_request_through_the_trigger(
    plugin: Plugin, requests_: Requests, sandboxes: Sandboxes, operator: OperatorProcess, people: People
) -> None:
    scenario = _gated(sandboxes, requests_, people, "approved")

    result = plugin.run(
        "approve", "approved", "--comment", "on-call agrees", "--wait", "-n", requests_.namespace
    )

    assert result.code == 0, result.err
    assert result.lines[0].startswith("approved-approve-")
    status = requests_.status("approved")
    assert condition(status, "Ready")["reason"] == "RollbackSucceeded"
    assert (status["requestedBy"], status["approvedBy"]) == ("alice", "admin")
    assert scenario.rollbacks(sandboxes) == 1


def test_reject_ends_the_request_with_nothing_sent(
    plugin: Plugin, requests_: Requests, sandboxes: Sandboxes, operator: OperatorProcess, people: People
) -> None:
    scenario = _gated(sandboxes, requests_, people, "rejected")

    result = plugin.run("reject", "rejected", "--comment", "not now", "--wait", "-n", requests_.namespace)

    assert result.code == 1  # --wait reports the outcome: the request failed
    assert condition(requests_.status("rejected"), "Ready")["reason"] == "Rejected"
    assert scenario.rollbacks(sandboxes) == 0


def test_deciding_on_a_request_that_does_not_wait_is_refused(
    plugin: Plugin, requests_: Requests, sandboxes: Sandboxes, operator: OperatorProcess, people: People
) -> None:
    _gated(sandboxes, requests_, people, "decided")
    plugin.run("approve", "decided", "--wait", "-n", requests_.namespace)

    again = plugin.run("reject", "decided", "-n", requests_.namespace)

    assert again.code == 1
    assert "decided is not awaiting approval (phase Succeeded)" in again.err

"""Plan → approve → trigger: a request that requires approval rolls back only on a valid decision.

People act through clients that impersonate them (tests.support.users), bound to the shipped
roles, so the API server itself checks who approves (the ValidatingAdmissionPolicy in
deploy/admission/) and who asked (the MutatingAdmissionPolicy in deploy/requested-by/).
"""

from __future__ import annotations

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

GATED = {"approval": {"required": True}}


@pytest.fixture
def people(cluster: ControlPlane, requests_: Requests) -> People:
    team = People(cluster, requests_.namespace)
    team.bind("alice", "rollback-requester")
    for approver in ("bob", "carol"):
        team.bind(approver, "rollback-approver")
    return team


def _target(sandboxes: Sandboxes, provider: str = "vector") -> Scenario:
    world = World(sandboxes)
    scenario = world.scenario(provider)
    world.apply()
    return scenario


def _request_as(people: People, requests_: Requests, scenario: Scenario, name: str, **spec: Any) -> None:
    """alice asks for the rollback (the Secret is the admin's: alice may not create Secrets)."""
    requests_.secret(f"{name}-creds", scenario.secret)
    body = manifest(name, scenario.provider, secret=f"{name}-creds", **GATED, **spec)
    with people.client("alice") as api:
        kubernetes.client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, requests_.namespace, "rollbackrequests", body
        )


def _decide(people: People, requests_: Requests, name: str, *, user: str, decision: str = "Approve") -> None:
    status, meta = requests_.status(name), requests_.get(name)["metadata"]
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RollbackApproval",
        "metadata": {"generateName": f"{name}-{user}-"},
        "spec": {
            "requestName": name,
            "requestUID": meta["uid"],
            "from": status["currentVersion"],
            "to": status["targetVersion"],
            "decision": decision,
            "approvedBy": user,
            "comment": "checked with the on-call lead",
        },
    }
    with people.client(user) as api:
        kubernetes.client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, requests_.namespace, "rollbackapprovals", body
        )


def _awaiting(requests_: Requests, name: str) -> dict[str, Any]:
    return requests_.wait_phase(name, "AwaitingApproval")


def _until(check: Callable[[], bool], *, timeout: float = 20, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_request_waits_with_its_plan_until_another_person_approves_then_rolls_back_once(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, people: People
) -> None:
    scenario = _target(sandboxes)
    operator_factory().start()
    _request_as(people, requests_, scenario, "gated")

    waiting = _awaiting(requests_, "gated")
    assert (waiting["currentVersion"], waiting["targetVersion"]) == (scenario.live, scenario.earlier[0])
    assert condition(waiting, "Approved")["status"] == "False"
    assert condition(waiting, "Approved")["reason"] == "AwaitingApproval"
    assert condition(waiting, "Ready")["reason"] == "AwaitingApproval"
    assert "kubectl rollback approve gated" in waiting["message"]
    assert waiting["requestedBy"] == "alice"
    assert scenario.rollbacks(sandboxes) == 0

    _decide(people, requests_, "gated", user="bob")
    status = requests_.wait_terminal("gated")

    assert condition(status, "Ready")["reason"] == "RollbackSucceeded", status
    assert condition(status, "Approved")["status"] == "True"
    assert (status["requestedBy"], status["approvedBy"]) == ("alice", "bob")
    assert scenario.rollbacks(sandboxes) == 1
    rec = requests_.record(requests_.record_name("gated"))
    assert rec is not None
    assert (rec["spec"]["requestedBy"], rec["spec"]["approvedBy"]) == ("alice", "bob")
    trigger = next(e for e in requests_.wait_events("gated", 3) if e.reason == "RollbackTriggered")
    assert "requested by alice, approved by bob" in trigger.message


def test_a_rejection_fails_the_request_with_nothing_sent(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, people: People
) -> None:
    scenario = _target(sandboxes, "yandex")
    operator_factory().start()
    _request_as(people, requests_, scenario, "refused")
    _awaiting(requests_, "refused")

    _decide(people, requests_, "refused", user="carol", decision="Reject")
    status = requests_.wait_terminal("refused")

    assert status["phase"] == "Failed", status
    assert condition(status, "Ready")["reason"] == "Rejected"
    assert condition(status, "Approved")["reason"] == "Rejected"
    assert "rejected by carol" in status["message"]
    assert scenario.rollbacks(sandboxes) == 0
    assert requests_.record(requests_.record_name("refused")) is None


def test_the_requester_approving_their_own_request_is_ignored_with_a_message(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, people: People
) -> None:
    scenario = _target(sandboxes)
    people.bind("alice", "rollback-approver")
    operator_factory().start()
    _request_as(people, requests_, scenario, "self")
    _awaiting(requests_, "self")

    _decide(people, requests_, "self", user="alice")
    ignored = requests_.wait("self", lambda s: "alice requested this rollback" in (s.get("message") or ""))

    assert ignored["phase"] == "AwaitingApproval"
    assert "--allow-self-approval" in ignored["message"]
    assert scenario.rollbacks(sandboxes) == 0
    _decide(people, requests_, "self", user="bob")  # a second person still can
    assert requests_.wait_terminal("self")["approvedBy"] == "bob"
    assert scenario.rollbacks(sandboxes) == 1


def test_self_approval_counts_when_the_operator_allows_it(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, people: People
) -> None:
    scenario = _target(sandboxes, "facets")
    people.bind("alice", "rollback-approver")
    operator_factory(extra_args=("--allow-self-approval",)).start()
    _request_as(people, requests_, scenario, "own")
    _awaiting(requests_, "own")

    _decide(people, requests_, "own", user="alice")

    assert condition(requests_.wait_terminal("own"), "Ready")["reason"] == "RollbackSucceeded"
    assert scenario.rollbacks(sandboxes) == 1


def test_a_newer_deployment_between_plan_and_approval_ends_plan_changed_with_nothing_sent(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, people: People
) -> None:
    scenario = _target(sandboxes)
    env_id = scenario.provider["vector"]["environmentId"]
    operator_factory().start()
    _request_as(people, requests_, scenario, "moved")
    _awaiting(requests_, "moved")

    sandboxes.read("vector", lambda s: s.start(s.find_environment(env_id), "ci", None))  # a new release
    _decide(people, requests_, "moved", user="bob")
    status = requests_.wait_terminal("moved")

    assert status["phase"] == "Failed", status
    assert condition(status, "Ready")["reason"] == "PlanChanged"
    assert "nothing was sent" in status["message"]
    assert scenario.rollbacks(sandboxes) == 0


def test_an_approval_for_another_uid_does_not_count(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, people: People
) -> None:
    """Approving the request, deleting it and applying it again: the new object needs a new approval."""
    scenario = _target(sandboxes)
    operator_factory().start()
    _request_as(people, requests_, scenario, "again")
    _awaiting(requests_, "again")
    _decide(people, requests_, "again", user="carol", decision="Reject")
    requests_.wait_terminal("again")
    requests_.delete("again")
    _until(lambda: not _exists(requests_, "again"), what="the request to be deleted")
    body = manifest("again", scenario.provider, secret="again-creds", **GATED)
    with people.client("alice") as api:
        kubernetes.client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, requests_.namespace, "rollbackrequests", body
        )

    status = _awaiting(requests_, "again")  # carol's rejection was for the old uid

    assert condition(status, "Approved")["reason"] == "AwaitingApproval"
    _decide(people, requests_, "again", user="bob")
    assert condition(requests_.wait_terminal("again"), "Ready")["reason"] == "RollbackSucceeded"
    assert scenario.rollbacks(sandboxes) == 1


def _exists(requests_: Requests, name: str) -> bool:
    try:
        requests_.get(name)
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


@pytest.mark.parametrize("moment", ["awaiting", "approved"])
def test_a_kill_while_awaiting_or_right_after_the_approval_still_rolls_back_once(
    moment: str,
    sandboxes: Sandboxes,
    requests_: Requests,
    operator_factory: OperatorFactory,
    people: People,
) -> None:
    scenario = _target(sandboxes, "yandex")
    first = operator_factory().start()
    _request_as(people, requests_, scenario, "killed")
    _awaiting(requests_, "killed")
    if moment == "approved":  # the rollback call hangs, so the kill comes between claim and answer
        sandboxes.read("yandex", lambda s: setattr(s, "faults", Faults(latency=1.5, methods=("POST",))))
        _decide(people, requests_, "killed", user="bob")
        requests_.wait_claim("killed")
    first.kill()
    sandboxes.read("yandex", lambda s: setattr(s, "faults", Faults()))
    operator_factory(log_name="second.log").start()
    if moment == "awaiting":
        _decide(people, requests_, "killed", user="bob")
    status = requests_.wait_terminal("killed", timeout=60)

    assert condition(status, "Ready")["reason"] == "RollbackSucceeded", status
    assert status["approvedBy"] == "bob"
    assert scenario.rollbacks(sandboxes) == 1


def test_waiting_for_an_approval_ends_when_not_after_passes(
    sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, people: People
) -> None:
    scenario = _target(sandboxes)
    operator_factory().start()
    soon = (datetime.now(UTC) + timedelta(seconds=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _request_as(people, requests_, scenario, "unanswered", notAfter=soon)
    status = requests_.wait_terminal("unanswered", timeout=30)
    events = [e.reason for e in requests_.events("unanswered")]

    assert events[0] == "AwaitingApproval", events  # it waited for a decision, then expired

    assert condition(status, "Ready")["reason"] == "Expired", status
    assert scenario.rollbacks(sandboxes) == 0

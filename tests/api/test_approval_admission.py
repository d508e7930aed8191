"""Identities the API server checks: who approves (ValidatingAdmissionPolicy), who asked
(MutatingAdmissionPolicy), and who may do which (the roles in deploy/roles/).

Every call is made as a named user (tests.support.users) against the real API server, with the
policies and roles applied from deploy/ as an installation applies them.
"""

from __future__ import annotations

from typing import Any

import kubernetes
import pytest

from tests.support.controlplane import ControlPlane
from tests.support.users import People

GROUP, VERSION = "rollback.dev", "v1alpha1"
UID = "0b7f0000-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def people(cluster: ControlPlane, module_namespace: str) -> People:
    team = People(cluster, module_namespace)
    team.bind("alice", "rollback-requester")
    team.bind("bob", "rollback-approver")
    return team


def _approval(name: str, *, by: str, **spec: Any) -> dict[str, Any]:
    body = {"requestName": "api", "requestUID": UID, "from": "v2", "to": "v1", "decision": "Approve"}
    body.update(approvedBy=by, **spec)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RollbackApproval",
        "metadata": {"name": name},
        "spec": body,
    }


def _create(people: People, user: str, plural: str, body: dict[str, Any]) -> dict[str, Any]:
    with people.client(user) as api:
        created: dict[str, Any] = kubernetes.client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, people.namespace, plural, body
        )
        return created


def _refusal(people: People, user: str, plural: str, body: dict[str, Any]) -> tuple[int, str]:
    with pytest.raises(kubernetes.client.ApiException) as refused:
        _create(people, user, plural, body)
    return refused.value.status, str(refused.value.body)


def test_an_approval_in_ones_own_name_is_accepted(people: People) -> None:
    created = _create(people, "bob", "rollbackapprovals", _approval("by-bob", by="bob"))

    assert created["spec"]["approvedBy"] == "bob"


def test_a_forged_approver_is_refused_at_admission_with_the_field_named(people: People) -> None:
    status, message = _refusal(people, "bob", "rollbackapprovals", _approval("forged", by="carol"))

    assert status == 403
    assert "spec.approvedBy must be the user creating the approval (bob), not carol" in message


def test_an_approval_cannot_be_changed_afterwards(cluster: ControlPlane, people: People) -> None:
    _create(people, "bob", "rollbackapprovals", _approval("fixed", by="bob"))
    patch = '{"spec":{"decision":"Reject"}}'

    result = cluster.kubectl(
        "patch", "rbapp", "fixed", "-n", people.namespace, "--type=merge", "-p", patch, check=False
    )

    assert result.returncode != 0
    assert "approvals are immutable" in result.stderr or "an approval is immutable" in result.stderr


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"to": "v2"}, "spec.to must differ from spec.from"),
        ({"requestUID": "not-a-uid"}, "spec.requestUID must be the request's metadata.uid"),
        ({"decision": "Maybe"}, "spec.decision: Unsupported value"),
    ],
)
def test_insane_approvals_are_refused_with_the_field_named(
    people: People, spec: dict[str, Any], message: str
) -> None:
    status, body = _refusal(people, "bob", "rollbackapprovals", _approval("insane", by="bob", **spec))

    assert status in (403, 422)
    assert message in body


def test_a_requester_may_not_approve_and_an_approver_may_not_request(people: People) -> None:
    request = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RollbackRequest",
        "metadata": {"name": "from-bob"},
        "spec": {
            "reason": "x",
            "provider": {"vector": {"environmentId": "e"}},
            "credentialsSecretRef": {"name": "s"},
        },
    }

    assert _refusal(people, "alice", "rollbackapprovals", _approval("by-alice", by="alice"))[0] == 403
    assert _refusal(people, "bob", "rollbackrequests", request)[0] == 403


def test_the_api_server_stamps_who_created_a_request_over_what_the_client_sent(people: People) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RollbackRequest",
        "metadata": {"name": "stamped", "annotations": {"rollback.dev/requested-by": "mallory"}},
        "spec": {
            "reason": "x",
            "provider": {"vector": {"environmentId": "e"}},
            "credentialsSecretRef": {"name": "s"},
        },
    }

    created = _create(people, "alice", "rollbackrequests", body)

    assert created["metadata"]["annotations"]["rollback.dev/requested-by"] == "alice"

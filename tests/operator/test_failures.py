"""Requests that cannot succeed end with a reason a human can act on, and cause no rollback.

Also: credentials never leak into status, events or the operator's log, whatever fails.
"""

from __future__ import annotations

from rollback_sandbox.serve import Sandboxes
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import Requests, condition, manifest
from tests.support.scenarios import Scenario, World


def _one(sandboxes: Sandboxes, provider: str, **kwargs: object) -> Scenario:
    world = World(sandboxes)
    scenario = world.scenario(provider, **kwargs)
    world.apply()
    return scenario


def _failed_with(status: dict[str, object], reason: str) -> None:
    assert status["phase"] == "Failed", status
    assert condition(status, "Ready")["reason"] == reason
    assert condition(status, "Stalled")["status"] == "True"
    assert condition(status, "Stalled")["reason"] == reason
    assert condition(status, "Reconciling")["status"] == "False"


def test_a_provider_rejection_fails_with_the_providers_own_message(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _one(sandboxes, "facets", fail="reject")
    requests_.secret("creds", scenario.secret)
    requests_.create(manifest("rejected", scenario.provider, secret="creds"))

    status = requests_.wait_terminal("rejected")

    _failed_with(status, "ProviderRejected")
    assert "HTTP 400" in status["message"]
    assert (
        condition(status, "Resolved")["reason"] == "TargetResolved"
    )  # the restore was refused, not the lookup
    assert condition(status, "Triggered")["reason"] == "ProviderRejected"
    assert scenario.rollbacks(sandboxes) == 0
    assert [e.type for e in requests_.wait_events("rejected", 1)] == ["Warning"]


def test_an_unknown_target_version_fails_as_target_not_found(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _one(sandboxes, "yandex")
    requests_.secret("creds", scenario.secret)
    requests_.create(
        manifest("nowhere", scenario.provider, secret="creds", target={"version": "bbanosuchrev"})
    )

    status = requests_.wait_terminal("nowhere")

    _failed_with(status, "TargetNotFound")
    assert "bbanosuchrev" in status["message"]
    assert scenario.live in status["message"]
    assert scenario.rollbacks(sandboxes) == 0


def test_a_live_version_other_than_expected_fails_the_precondition(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _one(sandboxes, "vector")
    requests_.secret("creds", scenario.secret)
    requests_.create(
        manifest("guarded", scenario.provider, secret="creds", expectedCurrentVersion="01notlive")
    )

    status = requests_.wait_terminal("guarded")

    _failed_with(status, "PreconditionFailed")
    assert scenario.live in status["message"]
    assert "01notlive" in status["message"]
    assert scenario.rollbacks(sandboxes) == 0


def test_an_endpoint_outside_the_allow_list_is_never_contacted(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _one(sandboxes, "vector")
    requests_.secret("creds", scenario.secret)
    provider = {"vector": {**scenario.provider["vector"], "apiURL": "https://api.example.com"}}
    requests_.create(manifest("elsewhere", provider, secret="creds"))

    status = requests_.wait_terminal("elsewhere")

    _failed_with(status, "EndpointNotAllowed")
    assert "https://api.example.com" in status["message"]
    assert sandboxes.read("vector", lambda s: sum(s.requests.values())) == 0


def test_a_missing_secret_is_waited_for_until_it_appears(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _one(sandboxes, "vector")
    requests_.create(manifest("early", scenario.provider, secret="late-creds"))

    waiting = requests_.wait(
        "early", lambda s: condition(s, "Resolved").get("reason") == "CredentialsMissing"
    )
    assert waiting["phase"] == "Resolving"
    assert "late-creds" in waiting["message"]
    requests_.secret("late-creds", scenario.secret)
    status = requests_.wait_terminal("early")

    assert status["phase"] == "Succeeded"
    assert scenario.rollbacks(sandboxes) == 1


def test_a_secret_without_the_needed_key_fails_once_the_timeout_passes(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _one(sandboxes, "vector")
    requests_.secret("creds", {"apiToken": "vp_live_wrong_key_name"})
    requests_.create(manifest("wrong-key", scenario.provider, secret="creds", timeoutSeconds=10))

    status = requests_.wait_terminal("wrong-key", timeout=40)

    _failed_with(status, "CredentialsMissing")
    assert "token" in status["message"]
    assert scenario.rollbacks(sandboxes) == 0


def test_a_secret_value_that_is_not_text_fails_naming_the_key_and_the_secret(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _one(sandboxes, "vector")
    requests_.secret("binary-creds", {"token": b"\xff\xfevp_live\x00\x9b"})
    requests_.create(manifest("binary", scenario.provider, secret="binary-creds", timeoutSeconds=60))

    status = requests_.wait_terminal("binary", timeout=40)

    _failed_with(status, "CredentialsInvalid")
    assert f"key 'token' of Secret {requests_.namespace}/binary-creds is not UTF-8 text" in status["message"]
    assert scenario.rollbacks(sandboxes) == 0


def test_a_rollback_the_provider_reports_failed_ends_failed(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _one(sandboxes, "yandex", fail=True)
    requests_.secret("creds", scenario.secret)
    requests_.create(manifest("broken", scenario.provider, secret="creds"))

    status = requests_.wait_terminal("broken")

    _failed_with(status, "RollbackFailed")
    assert condition(status, "Triggered")["status"] == "True"
    assert status["operation"]["state"] == "Failed"
    assert scenario.rollbacks(sandboxes) == 1


def test_a_rollback_slower_than_the_timeout_fails_as_timed_out(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    world = World(sandboxes, vector_step_seconds=120)
    scenario = world.vector()
    world.apply()
    requests_.secret("creds", scenario.secret)
    requests_.create(manifest("slow", scenario.provider, secret="creds", timeoutSeconds=10))

    status = requests_.wait_terminal("slow", timeout=40)

    _failed_with(status, "TimedOut")
    assert "may still finish" in status["message"]
    assert scenario.rollbacks(sandboxes) == 1


def test_malformed_provider_answers_are_retried_then_fail_with_a_clear_reason(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _one(sandboxes, "vector")
    sandboxes.read("vector", lambda s: setattr(s.faults, "malformed_rate", 1.0))
    requests_.secret("creds", scenario.secret)
    requests_.create(manifest("garbled", scenario.provider, secret="creds", timeoutSeconds=10))

    status = requests_.wait_terminal("garbled", timeout=40)

    _failed_with(status, "MalformedResponse")
    assert "expected JSON" in status["message"] or "malformed" in status["message"].lower()
    assert scenario.rollbacks(sandboxes) == 0


def test_rejected_credentials_never_appear_in_status_events_or_logs(
    sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _one(sandboxes, "vector")
    wrong = "vp_live_this_token_is_wrong_and_secret"
    requests_.secret("creds", {"token": wrong})
    requests_.create(manifest("denied", scenario.provider, secret="creds"))

    status = requests_.wait_terminal("denied")

    _failed_with(status, "CredentialsInvalid")
    assert "Unauthenticated" in status["message"]
    events = [e.message for e in requests_.wait_events("denied", 1)]
    everything = str(status) + str(events) + operator.log_text()
    assert wrong not in everything

"""Triggering a Facets restore, confirming it by polling, and recovering after a lost outcome."""

from __future__ import annotations

import uuid

import pytest

from rollback_operator.errors import CredentialsInvalid, OutcomeUnknown, ProviderRejected
from rollback_operator.models import FacetsProvider, Target
from rollback_operator.providers.base import Credentials, Handle, RecoveryState, Resolution
from rollback_operator.providers.facets import FacetsAdapter
from rollback_operator.status_models import OperationState
from rollback_sandbox.facets import FacetsState
from tests.providers.facets.support import (
    CLUSTER,
    RESTORE_ROUTE,
    resource,
    rollback_count,
    version_id,
    versions,
)


def key() -> str:
    return str(uuid.uuid4())


def rebuilt(resolution: Resolution) -> Resolution:
    """The resolution as the reconciler rebuilds it from status after a restart: no candidates."""
    return Resolution(resolution.current, resolution.target, resolution.explanation, resolution.watermark)


def live(state: FacetsState, name: str = "api") -> str:
    return state.resources[(CLUSTER, "service", name)].live


async def test_trigger_restores_the_target_once_and_returns_its_id_as_handle(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=2))

    handle = await adapter.trigger(spec, creds, resolution, key())

    assert handle.id == version_id(4)
    assert live(state) == version_id(4)
    assert rollback_count(state) == 1
    assert state.requests[RESTORE_ROUTE] == 1


async def test_a_restore_makes_the_artifact_the_restored_snapshot_without_a_new_version(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))
    await adapter.trigger(spec, creds, resolution, key())

    api = state.resources[(CLUSTER, "service", "api")]
    assert api.current()["tag"] == "1.5.0"
    assert len(api.versions) == 6
    assert rollback_count(state) == 1


async def test_poll_after_a_restore_reports_success(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))
    handle = await adapter.trigger(spec, creds, resolution, key())

    progress = await adapter.poll(spec, creds, handle)

    assert progress.state is OperationState.SUCCEEDED
    assert progress.message == f"version {version_id(5)} is live"
    assert rollback_count(state) == 1


async def test_a_restore_answered_2xx_succeeds_and_says_when_another_version_is_live(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))
    handle = await adapter.trigger(spec, creds, resolution, key())
    state.restore(state.resources[(CLUSTER, "service", "api")], version_id(2), "someone@acme.example")

    progress = await adapter.poll(spec, creds, handle)

    assert progress.state is OperationState.SUCCEEDED
    assert progress.message == (
        f"restore of {version_id(5)} succeeded, but the resource history reports {version_id(2)} as live "
        "(changed since, or applied only with the next release)"
    )


async def test_poll_trusts_the_synchronous_restore_when_no_live_version_is_reported(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    state.reports_live_version = False

    progress = await adapter.poll(spec, creds, Handle(id=version_id(5)))

    assert progress.state is OperationState.SUCCEEDED
    assert "does not report the live version" in progress.message


async def test_a_restore_the_provider_rejects_is_provider_rejected_and_changes_nothing(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    state.seed(
        {"resources": [resource("api", versions("api", 3, {version_id(2): {"failRestore": "reject"}}))]}
    )
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    with pytest.raises(
        ProviderRejected, match=r"HTTP 400: Version \w+ cannot be restored \(code BAD_REQUEST\)"
    ):
        await adapter.trigger(spec, creds, resolution, key())
    assert live(state) == version_id(3)
    assert rollback_count(state) == 0


async def test_a_restore_failing_with_500_is_outcome_unknown_and_recovery_finds_it_not_triggered(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    state.seed(
        {"resources": [resource("api", versions("api", 3, {version_id(2): {"failRestore": "error"}}))]}
    )
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    with pytest.raises(OutcomeUnknown, match="HTTP 500: Failed to restore version"):
        await adapter.trigger(spec, creds, resolution, key())
    recovery = await adapter.recover(spec, creds, rebuilt(resolution), key())

    assert recovery.state is RecoveryState.NOT_TRIGGERED
    assert state.requests[RESTORE_ROUTE] == 1  # a 500 on a restore is never re-sent
    assert rollback_count(state) == 0


async def test_a_user_without_restore_rights_gets_credentials_invalid_with_the_plain_text_body(
    adapter: FacetsAdapter, spec: FacetsProvider, state: FacetsState
) -> None:
    viewer = adapter.credentials({"username": "viewer@acme.example", "token": "fpt_viewer_token_1234"})
    resolution = await adapter.resolve(spec, viewer, Target(steps_back=1))

    with pytest.raises(CredentialsInvalid, match="HTTP 403: Forbidden"):
        await adapter.trigger(spec, viewer, resolution, key())
    assert rollback_count(state) == 0


async def test_recover_after_a_restore_that_happened_reports_triggered_with_the_target_handle(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=3))
    await adapter.trigger(spec, creds, resolution, key())

    recovery = await adapter.recover(spec, creds, rebuilt(resolution), key())

    assert recovery.state is RecoveryState.TRIGGERED
    assert recovery.handle is not None
    assert recovery.handle.id == version_id(3)
    assert rollback_count(state) == 1


async def test_recover_when_nothing_happened_reports_not_triggered(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    recovery = await adapter.recover(spec, creds, rebuilt(resolution), key())

    assert recovery.state is RecoveryState.NOT_TRIGGERED
    assert recovery.handle is None
    assert rollback_count(state) == 0


async def test_recover_when_a_third_version_is_live_asks_a_human_naming_all_three(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))
    state.restore(state.resources[(CLUSTER, "service", "api")], version_id(1), "someone@acme.example")

    recovery = await adapter.recover(spec, creds, rebuilt(resolution), key())

    assert recovery.state is RecoveryState.UNKNOWN
    for version in (version_id(1), version_id(6), version_id(5)):
        assert version in recovery.message
    assert "release history of service/api in the Facets UI" in recovery.message
    assert rollback_count(state) == 1  # only the other restore


async def test_recover_without_a_reported_live_version_cannot_tell(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))
    state.reports_live_version = False

    recovery = await adapter.recover(spec, creds, rebuilt(resolution), key())

    assert recovery.state is RecoveryState.UNKNOWN
    assert "not reported" in recovery.message

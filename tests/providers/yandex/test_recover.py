"""Recovery after a crash between claim and record: re-send with the same Idempotency-Key."""

from __future__ import annotations

import pytest

from rollback_operator.errors import ProviderRejected
from rollback_operator.models import YandexServerlessContainerProvider
from rollback_operator.providers.base import Credentials, RecoveryState
from rollback_operator.providers.yandex import YandexAdapter
from rollback_sandbox.yandex import YandexState
from tests.providers.yandex.scenario import PREVIOUS, PROD, USER, new_key, prod, resolution_for, statuses


async def test_recovery_adopts_the_operation_an_unrecorded_trigger_started(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    key = new_key()
    lost = await adapter.trigger(spec, creds, resolution_for(PREVIOUS), key)  # crash: never recorded

    recovery = await adapter.recover(spec, creds, resolution_for(PREVIOUS), key)

    assert recovery.state == RecoveryState.TRIGGERED
    assert recovery.handle is not None
    assert recovery.handle.id == lost.id
    assert state.rollbacks[PROD] == 1


async def test_recovery_starts_the_rollback_when_the_first_request_never_arrived(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    recovery = await adapter.recover(spec, creds, resolution_for(PREVIOUS), new_key())

    assert recovery.state == RecoveryState.TRIGGERED
    assert recovery.handle is not None
    assert recovery.handle.id in state.operations
    assert statuses(state, PROD)[PREVIOUS] == "ACTIVE"
    assert state.rollbacks[PROD] == 1


async def test_recovery_is_unknown_when_the_target_is_live_but_no_operation_has_the_key(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    state.start_rollback(PROD, PREVIOUS, USER)  # someone else, by hand, without our key
    key = new_key()

    recovery = await adapter.recover(spec, creds, resolution_for(PREVIOUS), key)

    assert recovery.state == RecoveryState.UNKNOWN
    assert recovery.handle is None
    assert f"revision {PREVIOUS} is already ACTIVE" in recovery.message
    assert key in recovery.message
    assert "list-operations" in recovery.message
    assert state.rollbacks[PROD] == 1  # only the hand-made one


async def test_recovery_passes_on_a_rejection_when_the_target_is_not_live(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    creating = prod(6)

    with pytest.raises(ProviderRejected, match=f"FAILED_PRECONDITION: Revision {creating} is CREATING"):
        await adapter.recover(spec, creds, resolution_for(creating), new_key())
    assert not state.rollbacks


async def test_recovery_never_reports_not_triggered_even_for_an_unknown_container(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    gone = spec.model_copy(update={"container_id": "bbagonecontainer0000"})

    with pytest.raises(ProviderRejected, match="NOT_FOUND"):
        await adapter.recover(gone, creds, resolution_for(PREVIOUS), new_key())
    assert not state.rollbacks

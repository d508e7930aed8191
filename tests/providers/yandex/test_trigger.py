"""Triggering a rollback and following its operation to Succeeded or Failed."""

from __future__ import annotations

import pytest

from rollback_operator.errors import ProviderRejected
from rollback_operator.models import Target, YandexServerlessContainerProvider
from rollback_operator.providers.base import Credentials, Handle, Progress, Resolution
from rollback_operator.providers.yandex import YandexAdapter
from rollback_operator.status_models import OperationState
from rollback_sandbox.yandex import YandexState
from tests.providers.yandex.conftest import SpecFor
from tests.providers.yandex.scenario import (
    FAILING,
    LIVE,
    OTHER,
    PREVIOUS,
    PROD,
    new_key,
    poll_until_done,
    prod,
    rev,
    statuses,
)

ROLLBACK_ROUTE = "POST /containers/v1/containers/{containerId}:rollback"


async def test_a_rollback_is_one_request_and_one_operation(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    handle = await adapter.trigger(spec, creds, resolution, new_key())

    assert handle.id in state.operations
    assert state.operations[handle.id].revision_id == PREVIOUS
    assert state.rollbacks[PROD] == 1
    assert state.requests[ROLLBACK_ROUTE] == 1


async def test_an_operation_done_at_once_is_polled_as_succeeded(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))
    handle = await adapter.trigger(spec, creds, resolution, new_key())

    progress = await adapter.poll(spec, creds, handle)

    assert progress.state == OperationState.SUCCEEDED
    assert progress.message == f"container now serves revision {PREVIOUS}"
    assert statuses(state, PROD)[PREVIOUS] == "ACTIVE"
    assert statuses(state, PROD)[LIVE] == "OBSOLETE"
    assert state.rollbacks[PROD] == 1


async def test_a_slow_operation_is_running_until_done_and_then_succeeded(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    state.operation_seconds = 0.3
    resolution = await adapter.resolve(spec, creds, Target(steps_back=2))
    handle = await adapter.trigger(spec, creds, resolution, new_key())

    seen = await poll_until_done(adapter, spec, creds, handle)

    assert seen[0] == Progress(OperationState.RUNNING, "Rollback container")
    assert seen[-1].state == OperationState.SUCCEEDED
    assert statuses(state, PROD)[prod(3)] == "ACTIVE"
    assert state.rollbacks[PROD] == 1


async def test_a_failing_rollback_reports_failing_while_reverting_then_failed(
    adapter: YandexAdapter, spec_for: SpecFor, creds: Credentials, state: YandexState
) -> None:
    spec = spec_for(FAILING)
    state.operation_seconds = 0.6
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))
    handle = await adapter.trigger(spec, creds, resolution, new_key())

    seen = await poll_until_done(adapter, spec, creds, handle)

    failing = [p for p in seen if p.state == OperationState.RUNNING and p.message.startswith("failing: ")]
    assert failing, [p.message for p in seen]
    assert seen[-1].state == OperationState.FAILED
    assert seen[-1].message.startswith(
        f"FAILED_PRECONDITION: Revision {rev('f', 2)} failed to start: image pull failed: manifest unknown"
    )
    assert statuses(state, FAILING)[rev("f", 3)] == "ACTIVE"  # Yandex reverted
    assert state.rollbacks[FAILING] == 1


async def test_an_operation_that_already_failed_still_gives_a_handle_that_polls_failed(
    adapter: YandexAdapter, spec_for: SpecFor, creds: Credentials, state: YandexState
) -> None:
    spec = spec_for(FAILING)
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    handle = await adapter.trigger(spec, creds, resolution, new_key())

    assert handle.message.startswith("FAILED_PRECONDITION: ")
    assert (await adapter.poll(spec, creds, handle)).state == OperationState.FAILED
    assert state.rollbacks[FAILING] == 1


async def test_a_revision_of_another_container_is_rejected_without_a_rollback(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    foreign = Resolution(LIVE, rev("o", 1), "hand-made")

    with pytest.raises(ProviderRejected, match=r"INVALID_ARGUMENT: Revision .* does not belong") as caught:
        await adapter.trigger(spec, creds, foreign, new_key())
    assert caught.value.status_code == 400
    assert not state.rollbacks


async def test_rolling_back_to_the_active_revision_is_a_failed_precondition(
    adapter: YandexAdapter, spec_for: SpecFor, creds: Credentials, state: YandexState
) -> None:
    spec = spec_for(OTHER)
    resolution = Resolution(rev("o", 1), rev("o", 2), "hand-made: the live revision as target")

    with pytest.raises(ProviderRejected, match=r"FAILED_PRECONDITION: Revision .* is ACTIVE"):
        await adapter.trigger(spec, creds, resolution, new_key())
    assert not state.rollbacks


async def test_polling_an_unknown_operation_is_rejected_as_not_found(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials
) -> None:
    with pytest.raises(ProviderRejected, match="NOT_FOUND: Operation d4enosuchoperation0 not found"):
        await adapter.poll(spec, creds, Handle("d4enosuchoperation0"))


async def test_the_same_key_twice_is_one_rollback(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))
    key = new_key()

    first = await adapter.trigger(spec, creds, resolution, key)
    second = await adapter.trigger(spec, creds, resolution, key)

    assert first.id == second.id
    assert state.rollbacks[PROD] == 1
    assert state.requests[ROLLBACK_ROUTE] == 2

"""Polling a Vector rollback deployment until Vector reports it deployed or failed."""

from __future__ import annotations

import pytest

from rollback_operator.errors import ProviderRejected
from rollback_operator.models import VectorProvider
from rollback_operator.providers.base import Credentials, Handle
from rollback_operator.providers.vector import VectorAdapter
from rollback_operator.status_models import OperationState
from rollback_sandbox.vector import VectorState
from tests.providers.vector.scenario import KEY, PROD, STEP, Clock, dep, resolution


async def _observe(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, handle: Handle
) -> tuple[OperationState, str]:
    progress = await adapter.poll(spec, creds, handle)
    return progress.state, progress.message


async def test_a_rollback_is_polled_from_pending_through_deploying_to_succeeded(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState, clock: Clock
) -> None:
    handle = await adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY)

    first = await _observe(adapter, spec, creds, handle)
    clock.advance(STEP)
    second = await _observe(adapter, spec, creds, handle)
    clock.advance(STEP)
    third = await _observe(adapter, spec, creds, handle)

    assert [first, second, third] == [
        (OperationState.RUNNING, "Pending"),
        (OperationState.RUNNING, "Deploying"),
        (OperationState.SUCCEEDED, "Deployed"),
    ]
    assert state.rollbacks == {PROD: 1}


async def test_the_running_and_completed_words_of_the_rollback_docs_are_understood(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState, clock: Clock
) -> None:
    state.settings.status_words = "running"
    handle = await adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY)

    clock.advance(STEP)
    running = await _observe(adapter, spec, creds, handle)
    clock.advance(STEP)
    done = await _observe(adapter, spec, creds, handle)

    assert running == (OperationState.RUNNING, "Running")
    assert done == (OperationState.SUCCEEDED, "Completed")
    assert state.rollbacks == {PROD: 1}


async def test_a_failed_rollback_reports_the_end_of_stderr(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState, clock: Clock
) -> None:
    handle = await adapter.trigger(spec, creds, resolution(dep("p", 2)), KEY)
    clock.advance(2 * STEP)

    progress = await adapter.poll(spec, creds, handle)

    assert progress.state is OperationState.FAILED
    assert progress.message == "Restoring files | Snapshot restore failed: expired"
    assert state.rollbacks == {PROD: 1}


async def test_an_unknown_status_keeps_polling_and_names_the_status(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    progress = await adapter.poll(spec, creds, Handle(dep("m", 2)))

    assert progress.state is OperationState.RUNNING
    assert "unknown Vector deployment status 'cancelled' (Cancelled)" in progress.message
    assert "unknown status 'cancelled'" in caplog.text


async def test_polling_an_unknown_deployment_is_rejected_with_vectors_message(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials
) -> None:
    with pytest.raises(ProviderRejected, match="HTTP 404: Deployment not found"):
        await adapter.poll(spec, creds, Handle("01jnosuchdeployment0000000"))

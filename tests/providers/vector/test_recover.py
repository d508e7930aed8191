"""Recovering a Vector rollback whose outcome was not recorded: adopt, re-trigger, or ask a human."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rollback_operator.errors import MalformedResponse, OutcomeUnknown
from rollback_operator.models import VectorProvider
from rollback_operator.providers.base import Credentials, RecoveryState
from rollback_operator.providers.vector import VectorAdapter
from rollback_sandbox.common import Faults, SandboxServer
from rollback_sandbox.vector import VectorState
from tests.providers.vector.scenario import KEY, PROD, STEP, Clock, dep, deploy_elsewhere, resolution

WATERMARK_LOOKUP = "GET /api/v1/vector/deployments/{deployment}"


async def test_nothing_newer_than_the_watermark_means_not_triggered(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    recovery = await adapter.recover(spec, creds, resolution(dep("p", 4)), KEY)

    assert recovery.state is RecoveryState.NOT_TRIGGERED
    assert recovery.handle is None
    assert not state.rollbacks


async def test_a_rollback_whose_answer_was_lost_is_adopted(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = Faults(drop_rate=1.0, methods=("POST",))
    with pytest.raises(OutcomeUnknown):
        await adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY)
    (created,) = [d for d in state.deployments.values() if d.target is not None]

    recovery = await adapter.recover(spec, creds, resolution(dep("p", 4)), KEY)

    assert recovery.state is RecoveryState.TRIGGERED
    assert recovery.handle is not None
    assert recovery.handle.id == created.id
    assert f"adopted deployment {created.id}" in recovery.handle.message
    assert state.rollbacks == {PROD: 1}


async def test_a_5xx_before_vector_acted_recovers_as_not_triggered(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = Faults(error_rate=1.0, methods=("POST",))
    with pytest.raises(OutcomeUnknown):
        await adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY)

    recovery = await adapter.recover(spec, creds, resolution(dep("p", 4)), KEY)

    assert recovery.state is RecoveryState.NOT_TRIGGERED
    assert not state.rollbacks


async def test_the_oldest_deployment_newer_than_the_watermark_is_adopted(
    adapter: VectorAdapter,
    spec: VectorProvider,
    creds: Credentials,
    state: VectorState,
    server: SandboxServer,
    clock: Clock,
) -> None:
    ours = await adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY)
    clock.advance(2 * STEP)
    await deploy_elsewhere(server.url, PROD)

    recovery = await adapter.recover(spec, creds, resolution(dep("p", 4)), KEY)

    assert recovery.handle is not None
    assert recovery.handle.id == ours.id
    assert "the oldest of 2 deployments newer than" in recovery.message
    assert state.rollbacks == {PROD: 1}


async def test_a_watermark_beyond_the_first_page_is_compared_by_creation_time(
    make_adapter: Callable[..., VectorAdapter],
    spec: VectorProvider,
    creds: Credentials,
    state: VectorState,
    server: SandboxServer,
    clock: Clock,
) -> None:
    adapter = make_adapter(page_size=2)
    ours = await adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY)
    clock.advance(2 * STEP)
    await deploy_elsewhere(server.url, PROD)

    recovery = await adapter.recover(spec, creds, resolution(dep("p", 4)), KEY)

    assert recovery.handle is not None
    assert recovery.handle.id == ours.id
    assert state.requests[WATERMARK_LOOKUP] == 1


async def test_a_vanished_watermark_beyond_the_first_page_cannot_be_told(
    make_adapter: Callable[..., VectorAdapter], spec: VectorProvider, creds: Credentials
) -> None:
    adapter = make_adapter(page_size=2)
    gone = resolution(dep("p", 4), watermark="01jgone0000000000000000000")

    recovery = await adapter.recover(spec, creds, gone, KEY)

    assert recovery.state is RecoveryState.UNKNOWN
    assert "no longer exists" in recovery.message
    assert f"check the deployments of environment {PROD}" in recovery.message


async def test_a_resolution_without_watermark_cannot_be_told(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    recovery = await adapter.recover(spec, creds, resolution(dep("p", 4), watermark=None), KEY)

    assert recovery.state is RecoveryState.UNKNOWN
    assert f"a rollback to {dep('p', 4)} started after the claim" in recovery.message
    assert not state.requests  # nothing to compare with, so nothing is asked


async def test_an_unreadable_history_raises_so_the_reconciler_retries(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = Faults(malformed_rate=1.0)

    with pytest.raises(MalformedResponse, match="vector list_deployments: expected JSON"):
        await adapter.recover(spec, creds, resolution(dep("p", 4)), KEY)

"""Vector calls under injected faults: what is retried, what becomes OutcomeUnknown, what is counted."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from rollback_operator.errors import MalformedResponse, OutcomeUnknown, ProviderUnavailable
from rollback_operator.models import Target, VectorProvider
from rollback_operator.providers.base import Credentials, Handle
from rollback_operator.providers.http import RetryPolicy
from rollback_operator.providers.vector import VectorAdapter
from rollback_operator.status_models import OperationState
from rollback_sandbox.common import Faults
from rollback_sandbox.vector import VectorState
from tests.providers.vector.scenario import KEY, PROD, HealingTransport, dep, resolution

LIST_ROUTE = "GET /api/v1/vector/environments/{env}/deployments"
ROLLBACK_ROUTE = "POST /api/v1/vector/environments/{env}/rollback"
SHORT = httpx.Timeout(0.25, connect=2.0)


@pytest.fixture
def healing(make_adapter: Callable[..., VectorAdapter], state: VectorState) -> VectorAdapter:
    """An adapter whose first request meets the fault and whose retry meets a healthy API."""
    return make_adapter(transport=HealingTransport(state), timeout=SHORT)


@pytest.mark.parametrize(
    "faults",
    [
        Faults(error_rate=1.0, error_status=503),
        Faults(slow_rate=1.0, slow_seconds=0.5),
        Faults(drop_rate=1.0),
    ],
    ids=["5xx", "slower-than-the-client-timeout", "dropped-connection"],
)
async def test_a_failed_read_is_retried_and_succeeds(
    healing: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState, faults: Faults
) -> None:
    state.faults = faults

    resolved = await healing.resolve(spec, creds, Target(steps_back=1))

    assert resolved.target == dep("p", 4)
    assert state.requests[LIST_ROUTE] == 2


async def test_a_429_is_retried_after_the_retry_after_delay(
    healing: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = Faults(throttle_rate=1.0, retry_after=0.3)
    started = time.monotonic()

    await healing.resolve(spec, creds, Target(steps_back=1))

    assert time.monotonic() - started >= 0.3  # the policy's own delay is at most 5 ms
    assert state.requests[LIST_ROUTE] == 2


async def test_a_429_on_the_rollback_is_retried_because_vector_did_not_act(
    healing: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = Faults(throttle_rate=1.0, retry_after=0.01, methods=("POST",))

    await healing.trigger(spec, creds, resolution(dep("p", 4)), KEY)

    assert state.requests[ROLLBACK_ROUTE] == 2
    assert state.rollbacks == {PROD: 1}


@pytest.mark.parametrize(
    "faults",
    [Faults(slow_rate=1.0, slow_seconds=0.5, methods=("POST",)), Faults(drop_rate=1.0, methods=("POST",))],
    ids=["slower-than-the-client-timeout", "dropped-connection"],
)
async def test_a_rollback_that_may_have_arrived_is_never_resent(
    healing: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState, faults: Faults
) -> None:
    state.faults = faults

    with pytest.raises(OutcomeUnknown, match="the request may have reached it"):
        await healing.trigger(spec, creds, resolution(dep("p", 4)), KEY)
    assert state.requests[ROLLBACK_ROUTE] == 1
    assert state.rollbacks == {PROD: 1}  # it did arrive: only recovery can find that out


async def test_an_unreadable_rollback_answer_is_an_unknown_outcome_not_a_retry(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = Faults(malformed_rate=1.0, methods=("POST",))

    with pytest.raises(OutcomeUnknown, match="HTTP 200 accepted the rollback, but the answer could not"):
        await adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY)
    assert state.rollbacks == {PROD: 1}


async def test_a_truncated_body_while_polling_is_a_malformed_response(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    handle = await adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY)
    state.faults = Faults(malformed_rate=1.0)

    with pytest.raises(MalformedResponse, match="vector get_deployment: expected JSON, got application/json"):
        await adapter.poll(spec, creds, handle)
    state.faults = Faults()
    assert (await adapter.poll(spec, creds, handle)).state is OperationState.RUNNING
    assert state.rollbacks == {PROD: 1}


async def test_an_exhausted_rate_limit_ends_as_provider_unavailable_with_vectors_message(
    make_adapter: Callable[..., VectorAdapter], spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.settings.rate_limit, state.settings.enforce_rate_limit = 1, True
    adapter = make_adapter(retry=RetryPolicy(attempts=2, base_delay=0.001, max_retry_after=0.01))
    await adapter.poll(spec, creds, Handle(dep("p", 1)))  # uses up the minute's one request

    with pytest.raises(ProviderUnavailable, match=r"HTTP 429: Too Many Attempts\.") as caught:
        await adapter.resolve(spec, creds, Target(steps_back=1))
    assert caught.value.retry_after is not None
    assert state.requests[LIST_ROUTE] == 2

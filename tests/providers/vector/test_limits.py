"""A provider that never finishes its answer, or answers too much, costs one bounded attempt.

The Vector sandbox serves the hostile answers over real HTTP: a body that trickles one byte at a
time forever (each read arrives well within httpx's per-read timeout), and a 100 MB body.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from rollback_operator.errors import OutcomeUnknown, ProviderTimedOut, ResponseTooLarge
from rollback_operator.models import Target, VectorProvider
from rollback_operator.providers.base import Credentials
from rollback_operator.providers.http import CallLimits
from rollback_operator.providers.vector import VectorAdapter
from rollback_sandbox.common import Faults
from rollback_sandbox.vector import VectorState
from tests.providers.vector.scenario import FAST, KEY, dep, resolution

LIST_ROUTE = "GET /api/v1/vector/environments/{env}/deployments"
ROLLBACK_ROUTE = "POST /api/v1/vector/environments/{env}/rollback"
LIMITS = CallLimits(deadline=0.5, max_response_bytes=64 * 1024)
ENDLESS = Faults(endless_rate=1.0, drip_seconds=0.05)
OVERSIZED = Faults(oversize_rate=1.0)


@pytest.fixture
def bounded(make_adapter: Callable[..., VectorAdapter]) -> VectorAdapter:
    return make_adapter(limits=LIMITS, timeout=httpx.Timeout(5.0))


@pytest.mark.timeout(30)
async def test_a_body_that_never_ends_misses_the_deadline_and_the_read_is_retried(
    bounded: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = ENDLESS
    started = time.monotonic()

    with pytest.raises(ProviderTimedOut, match=r"no complete answer within 0\.5 s") as caught:
        await bounded.resolve(spec, creds, Target(steps_back=1))

    assert caught.value.retryable
    assert state.requests[LIST_ROUTE] == FAST.attempts
    assert time.monotonic() - started < FAST.attempts * LIMITS.deadline + 2


@pytest.mark.timeout(30)
async def test_a_rollback_whose_answer_never_ends_is_not_resent_and_its_outcome_is_unknown(
    bounded: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = ENDLESS

    with pytest.raises(OutcomeUnknown, match="no complete answer within"):
        await bounded.trigger(spec, creds, resolution(dep("p", 4)), KEY)

    assert state.requests[ROLLBACK_ROUTE] == 1
    assert sum(state.rollbacks.values()) == 1


async def test_an_oversized_answer_is_refused_after_the_cap_and_not_retried(
    bounded: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = OVERSIZED

    with pytest.raises(ResponseTooLarge, match="the answer was larger than 65536 bytes") as caught:
        await bounded.resolve(spec, creds, Target(steps_back=1))

    assert not caught.value.retryable
    assert state.requests[LIST_ROUTE] == 1


async def test_an_oversized_answer_to_the_rollback_leaves_its_outcome_unknown(
    bounded: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = OVERSIZED

    with pytest.raises(OutcomeUnknown, match="larger than 65536 bytes"):
        await bounded.trigger(spec, creds, resolution(dep("p", 4)), KEY)

    assert state.requests[ROLLBACK_ROUTE] == 1


async def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_read() -> None:
    read: list[int] = []

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            read.append(1)
            yield b"{}"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(10**9)}, stream=Body())

    adapter = VectorAdapter(retry=FAST, limits=LIMITS, transport=httpx.MockTransport(answer))
    try:
        with pytest.raises(ResponseTooLarge):
            await adapter.resolve(VectorProvider(environment_id="e"), Credentials({"token": "t"}), Target())
    finally:
        await adapter.aclose()
    assert read == []

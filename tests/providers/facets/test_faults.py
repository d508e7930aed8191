"""The Facets adapter under the sandbox's injected faults: what is retried, what is never re-sent.

``ScriptedRandom`` makes the fault middleware disturb exactly the chosen request, so every test
here is deterministic: reads are retried and succeed; a restore that may have reached the
provider raises ``OutcomeUnknown`` and ``recover`` then tells what happened.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from rollback_operator.errors import MalformedResponse, OutcomeUnknown, ProviderUnavailable
from rollback_operator.models import FacetsProvider, Target
from rollback_operator.providers.base import Credentials, RecoveryState, Resolution
from rollback_operator.providers.facets import FacetsAdapter
from rollback_sandbox import common
from rollback_sandbox.common import Faults
from rollback_sandbox.facets import FacetsState
from tests.providers.facets.conftest import MakeAdapter
from tests.providers.facets.support import (
    RESTORE_ROUTE,
    ScriptedRandom,
    rollback_count,
    version_id,
)

Disturb = Callable[[Faults, list[float]], None]
ARTIFACT_ROUTE = "GET /cc-ui/v1/artifacts/cluster/{cluster}/resourceType/{type}/resourceName/{name}"


@pytest.fixture
def disturb(monkeypatch: pytest.MonkeyPatch, state: FacetsState) -> Disturb:
    """``disturb(faults, draws)``: enable ``faults`` and decide per request with ``draws``."""

    def apply(faults: Faults, draws: list[float]) -> None:
        monkeypatch.setattr(common, "random", ScriptedRandom(draws))
        state.faults = faults

    return apply


async def resolved(adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials) -> Resolution:
    return await adapter.resolve(spec, creds, Target(steps_back=1))


@pytest.mark.parametrize(
    ("faults", "client_timeout"),
    [
        (Faults(error_rate=1.0, error_status=503), None),
        (Faults(slow_rate=1.0, slow_seconds=0.4), httpx.Timeout(0.15)),
        (Faults(drop_rate=1.0), None),
    ],
    ids=["5xx", "slower-than-the-client-timeout", "dropped-connection"],
)
async def test_a_failed_read_is_retried_and_resolving_succeeds(
    make_adapter: MakeAdapter,
    spec: FacetsProvider,
    creds: Credentials,
    state: FacetsState,
    disturb: Disturb,
    faults: Faults,
    client_timeout: httpx.Timeout | None,
) -> None:
    adapter = make_adapter(**({"timeout": client_timeout} if client_timeout else {}))
    disturb(faults, [0.0])

    resolution = await resolved(adapter, spec, creds)

    assert resolution.target == version_id(5)
    assert state.requests[ARTIFACT_ROUTE] == 2


async def test_a_read_failing_every_time_ends_provider_unavailable_after_the_attempts(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState, disturb: Disturb
) -> None:
    disturb(Faults(error_rate=1.0, error_status=502), [0.0] * 10)

    with pytest.raises(ProviderUnavailable, match="get_artifact: HTTP 502: injected fault"):
        await resolved(adapter, spec, creds)
    assert state.requests[ARTIFACT_ROUTE] == 4


async def test_a_429_retry_after_is_honoured(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState, disturb: Disturb
) -> None:
    disturb(Faults(throttle_rate=1.0, retry_after=0.3), [0.0])

    started = time.monotonic()
    resolution = await resolved(adapter, spec, creds)

    assert time.monotonic() - started >= 0.3
    assert resolution.target == version_id(5)


async def test_a_429_on_the_restore_is_retried_because_the_provider_did_not_act(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState, disturb: Disturb
) -> None:
    resolution = await resolved(adapter, spec, creds)
    disturb(Faults(throttle_rate=1.0, retry_after=0.01, methods=("POST",)), [0.0])

    handle = await adapter.trigger(spec, creds, resolution, str(uuid.uuid4()))

    assert handle.id == version_id(5)
    assert state.requests[RESTORE_ROUTE] == 2
    assert rollback_count(state) == 1


async def test_a_5xx_on_the_restore_is_outcome_unknown_and_never_re_sent(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState, disturb: Disturb
) -> None:
    resolution = await resolved(adapter, spec, creds)
    disturb(Faults(error_rate=1.0, methods=("POST",)), [0.0])

    with pytest.raises(OutcomeUnknown, match="the provider may have acted"):
        await adapter.trigger(spec, creds, resolution, str(uuid.uuid4()))
    recovery = await adapter.recover(spec, creds, resolution, str(uuid.uuid4()))

    assert state.requests[RESTORE_ROUTE] == 1
    assert rollback_count(state) == 0
    assert recovery.state is RecoveryState.NOT_TRIGGERED


@pytest.mark.parametrize(
    "faults",
    [
        Faults(slow_rate=1.0, slow_seconds=0.4, methods=("POST",)),
        Faults(drop_rate=1.0, methods=("POST",)),
        Faults(malformed_rate=1.0, methods=("POST",)),
    ],
    ids=["slow-answer", "dropped-connection", "truncated-body"],
)
async def test_a_restore_whose_answer_is_lost_is_outcome_unknown_and_recovered_as_triggered(
    make_adapter: MakeAdapter,
    spec: FacetsProvider,
    creds: Credentials,
    state: FacetsState,
    disturb: Disturb,
    faults: Faults,
) -> None:
    adapter = make_adapter(timeout=httpx.Timeout(0.15))
    resolution = await resolved(adapter, spec, creds)
    disturb(faults, [0.0])

    with pytest.raises(OutcomeUnknown, match="may"):
        await adapter.trigger(spec, creds, resolution, str(uuid.uuid4()))
    recovery = await adapter.recover(spec, creds, resolution, str(uuid.uuid4()))

    assert state.requests[RESTORE_ROUTE] == 1
    assert rollback_count(state) == 1
    assert recovery.state is RecoveryState.TRIGGERED
    assert recovery.handle is not None
    assert recovery.handle.id == version_id(5)


async def test_a_truncated_body_on_a_read_is_a_malformed_response(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, disturb: Disturb
) -> None:
    disturb(Faults(malformed_rate=1.0), [0.0])

    with pytest.raises(MalformedResponse, match="facets artifact: expected JSON, got application/json"):
        await resolved(adapter, spec, creds)


async def test_latency_within_the_timeout_changes_nothing(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    state.faults = Faults(latency=0.05)

    resolution = await resolved(adapter, spec, creds)
    handle = await adapter.trigger(spec, creds, resolution, str(uuid.uuid4()))

    assert handle.id == version_id(5)
    assert rollback_count(state) == 1

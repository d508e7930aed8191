"""Faults between the adapter and Yandex: what is retried, what is not, and that the
deduplicated rollback POST stays one rollback whatever happens to its answer."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from rollback_operator.errors import MalformedResponse, OutcomeUnknown, ProviderUnavailable
from rollback_operator.models import Target, YandexServerlessContainerProvider
from rollback_operator.providers.base import Credentials, RecoveryState
from rollback_sandbox.yandex import YandexState
from tests.providers.yandex.conftest import MakeAdapter
from tests.providers.yandex.scenario import PREVIOUS, PROD, misbehave_first, new_key, resolution_for

LIST_ROUTE = "GET /containers/v1/revisions"
ROLLBACK_ROUTE = "POST /containers/v1/containers/{containerId}:rollback"
GETS, POSTS = ("GET",), ("POST",)


@pytest.mark.parametrize(
    ("fault", "client_timeout"),
    [
        ({"error_rate": 1.0, "error_status": 503}, None),
        ({"slow_rate": 1.0, "slow_seconds": 0.6}, httpx.Timeout(0.25)),
        ({"drop_rate": 1.0}, None),
    ],
    ids=["5xx", "slower-than-the-client-timeout", "dropped-connection"],
)
async def test_a_failed_read_is_retried(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
    fault: dict[str, Any], client_timeout: httpx.Timeout | None,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 1, methods=GETS, **fault)
    adapter = make_adapter(**({"timeout": client_timeout} if client_timeout else {}))

    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    assert resolution.target == PREVIOUS
    assert state.requests[LIST_ROUTE] == 2


@pytest.mark.parametrize(
    ("fault", "client_timeout"),
    [({"slow_rate": 1.0, "slow_seconds": 0.6}, httpx.Timeout(0.25)), ({"drop_rate": 1.0}, None)],
    ids=["answer-slower-than-the-timeout", "dropped-connection"],
)
async def test_a_rollback_whose_answer_is_lost_is_re_sent_and_deduplicated(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
    fault: dict[str, Any], client_timeout: httpx.Timeout | None,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 1, methods=POSTS, **fault)
    adapter = make_adapter(**({"timeout": client_timeout} if client_timeout else {}))

    handle = await adapter.trigger(spec, creds, resolution_for(PREVIOUS), new_key())

    assert list(state.operations) == [handle.id]
    assert state.requests[ROLLBACK_ROUTE] == 2
    assert state.rollbacks[PROD] == 1


async def test_a_5xx_on_the_rollback_is_retried_and_rolls_back_once(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 2, error_rate=1.0, error_status=500, methods=POSTS)

    handle = await make_adapter().trigger(spec, creds, resolution_for(PREVIOUS), new_key())

    assert handle.id in state.operations
    assert state.requests[ROLLBACK_ROUTE] == 3
    assert state.rollbacks[PROD] == 1


async def test_a_provider_that_keeps_failing_is_unavailable_with_its_message(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 99, error_rate=1.0, error_status=503)

    with pytest.raises(ProviderUnavailable, match="HTTP 503: injected fault"):
        await make_adapter().resolve(spec, creds, Target(steps_back=1))
    assert state.requests[LIST_ROUTE] == 3  # FAST allows three attempts


async def test_throttling_waits_as_long_as_retry_after_says(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 1, throttle_rate=1.0, retry_after=0.4, methods=POSTS)
    started = time.monotonic()

    handle = await make_adapter().trigger(spec, creds, resolution_for(PREVIOUS), new_key())

    assert time.monotonic() - started >= 0.4
    assert handle.id in state.operations
    assert state.rollbacks[PROD] == 1


async def test_a_truncated_body_on_a_read_is_a_malformed_response(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 1, malformed_rate=1.0, methods=GETS)

    with pytest.raises(MalformedResponse, match="list revisions: expected JSON"):
        await make_adapter().resolve(spec, creds, Target(steps_back=1))


async def test_an_unreadable_rollback_answer_is_an_unknown_outcome_that_recovery_resolves(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 1, malformed_rate=1.0, methods=POSTS)
    adapter, key = make_adapter(), new_key()

    with pytest.raises(OutcomeUnknown, match=r"rollback: expected JSON.*may have started"):
        await adapter.trigger(spec, creds, resolution_for(PREVIOUS), key)
    recovery = await adapter.recover(spec, creds, resolution_for(PREVIOUS), key)

    assert recovery.state == RecoveryState.TRIGGERED
    assert recovery.handle is not None
    assert list(state.operations) == [recovery.handle.id]
    assert state.rollbacks[PROD] == 1

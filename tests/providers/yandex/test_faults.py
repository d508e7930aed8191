"""Faults between the adapter and Yandex: what is retried, what is not, and that the
deduplicated rollback POST stays one rollback whatever happens to its answer."""

from __future__ import annotations

import time

import httpx
import pytest

from rollback_operator.errors import MalformedResponse, OutcomeUnknown, ProviderUnavailable
from rollback_operator.models import Target, YandexServerlessContainerProvider
from rollback_operator.providers.base import Credentials, RecoveryState
from rollback_sandbox.yandex import YandexState
from tests.providers.yandex.conftest import MakeAdapter
from tests.providers.yandex.scenario import LIVE, PREVIOUS, PROD, misbehave_first, new_key, resolution_for

LIST_ROUTE = "GET /containers/v1/revisions"
ROLLBACK_ROUTE = "POST /containers/v1/containers/{containerId}:rollback"
GETS, POSTS = ("GET",), ("POST",)


async def test_a_5xx_on_a_read_is_retried(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 1, error_rate=1.0, error_status=503, methods=GETS)

    resolution = await make_adapter().resolve(spec, creds, Target(steps_back=1))

    assert resolution.target == PREVIOUS
    assert state.requests[LIST_ROUTE] == 2


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


async def test_a_read_slower_than_the_client_timeout_is_retried(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 1, slow_rate=1.0, slow_seconds=0.6, methods=GETS)
    adapter = make_adapter(timeout=httpx.Timeout(0.25))

    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    assert resolution.current == LIVE
    assert state.requests[LIST_ROUTE] == 2


async def test_a_rollback_answer_slower_than_the_timeout_is_re_sent_and_deduplicated(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 1, slow_rate=1.0, slow_seconds=0.6, methods=POSTS)
    adapter = make_adapter(timeout=httpx.Timeout(0.25))

    handle = await adapter.trigger(spec, creds, resolution_for(PREVIOUS), new_key())

    assert list(state.operations) == [handle.id]
    assert state.requests[ROLLBACK_ROUTE] == 2
    assert state.rollbacks[PROD] == 1


async def test_a_dropped_connection_after_the_rollback_is_re_sent_and_deduplicated(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 1, drop_rate=1.0, methods=POSTS)

    handle = await make_adapter().trigger(spec, creds, resolution_for(PREVIOUS), new_key())

    assert list(state.operations) == [handle.id]
    assert state.requests[ROLLBACK_ROUTE] == 2
    assert state.rollbacks[PROD] == 1


async def test_a_dropped_connection_on_a_read_is_retried(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, creds: Credentials,
    state: YandexState, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    misbehave_first(monkeypatch, state, 1, drop_rate=1.0, methods=GETS)

    resolution = await make_adapter().resolve(spec, creds, Target(steps_back=1))

    assert resolution.target == PREVIOUS
    assert state.requests[LIST_ROUTE] == 2


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

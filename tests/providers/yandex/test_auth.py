"""Authentication at Yandex: static tokens, the service-account key exchange and its token cache."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jwt
import pytest

from rollback_operator.errors import CredentialsInvalid
from rollback_operator.models import Target, YandexServerlessContainerProvider
from rollback_operator.providers.base import Credentials
from rollback_operator.providers.yandex import YandexAdapter
from rollback_operator.providers.yandex.auth import IAM_AUDIENCE, parse_service_account_key, sign_jwt
from rollback_sandbox.yandex import YandexState
from tests.providers.yandex.conftest import MakeAdapter
from tests.providers.yandex.scenario import (
    PREVIOUS,
    PROD,
    SERVICE_ACCOUNT,
    FakeClock,
    new_key,
    resolution_for,
)

IAM_ROUTE = "POST /iam/v1/tokens"
STEPS_BACK_1 = Target(steps_back=1)


def test_the_jwt_is_ps256_with_the_key_id_and_yandexs_audience(sa_secret: str) -> None:
    key = parse_service_account_key(sa_secret)

    signed = sign_jwt(key, now=1_800_000_000)

    assert jwt.get_unverified_header(signed) == {"alg": "PS256", "kid": key.key_id, "typ": "JWT"}
    claims = jwt.decode(signed, options={"verify_signature": False})
    assert claims == {"iss": SERVICE_ACCOUNT, "aud": IAM_AUDIENCE, "iat": 1_800_000_000, "exp": 1_800_003_600}


async def test_a_service_account_key_is_exchanged_once_and_the_token_reused(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, sa_creds: Credentials, state: YandexState
) -> None:
    resolution = await adapter.resolve(spec, sa_creds, STEPS_BACK_1)
    handle = await adapter.trigger(spec, sa_creds, resolution, new_key())
    await adapter.poll(spec, sa_creds, handle)

    assert state.iam.exchanges == 1
    assert state.operations[handle.id].created_by == SERVICE_ACCOUNT
    assert state.rollbacks[PROD] == 1


async def test_concurrent_callers_share_one_exchange(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, sa_creds: Credentials, state: YandexState
) -> None:
    await asyncio.gather(*(adapter.resolve(spec, sa_creds, STEPS_BACK_1) for _ in range(5)))

    assert state.requests[IAM_ROUTE] == 1


async def test_a_token_close_to_expiry_is_replaced(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, sa_secret: str, state: YandexState
) -> None:
    state.iam.token_lifetime = 20 * 60
    clock = FakeClock()
    adapter = make_adapter(clock=clock)
    creds = adapter.credentials({"serviceAccountKey": sa_secret})

    await adapter.resolve(spec, creds, STEPS_BACK_1)
    clock.advance(14 * 60)  # 6 minutes left: still good
    await adapter.resolve(spec, creds, STEPS_BACK_1)
    assert state.iam.exchanges == 1
    clock.advance(2 * 60)  # 4 minutes left: too close
    await adapter.resolve(spec, creds, STEPS_BACK_1)
    assert state.iam.exchanges == 2


async def test_a_token_is_replaced_after_an_hour_though_it_lives_twelve(
    make_adapter: MakeAdapter, spec: YandexServerlessContainerProvider, sa_secret: str, state: YandexState
) -> None:
    clock = FakeClock()
    adapter = make_adapter(clock=clock)
    creds = adapter.credentials({"serviceAccountKey": sa_secret})

    await adapter.resolve(spec, creds, STEPS_BACK_1)
    clock.advance(59 * 60)
    await adapter.resolve(spec, creds, STEPS_BACK_1)
    assert state.iam.exchanges == 1
    clock.advance(2 * 60)
    await adapter.resolve(spec, creds, STEPS_BACK_1)
    assert state.iam.exchanges == 2


async def test_short_lived_tokens_are_exchanged_for_every_call(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, sa_creds: Credentials, state: YandexState
) -> None:
    state.iam.token_lifetime = 120  # under the five-minute margin: never worth caching

    for _ in range(3):
        await adapter.resolve(spec, sa_creds, STEPS_BACK_1)

    assert state.iam.exchanges == 3


async def test_a_revoked_cached_token_is_dropped_and_the_call_retried_once(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, sa_creds: Credentials, state: YandexState
) -> None:
    await adapter.resolve(spec, sa_creds, STEPS_BACK_1)
    state.iam.revoke_all()

    handle = await adapter.trigger(spec, sa_creds, resolution_for(PREVIOUS), new_key())

    assert state.iam.exchanges == 2
    assert (
        state.requests["POST /containers/v1/containers/{containerId}:rollback"] == 2
    )  # 401, then the rollback
    assert list(state.operations) == [handle.id]
    assert state.rollbacks[PROD] == 1


async def test_a_fresh_token_that_is_refused_is_not_retried(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, sa_creds: Credentials, state: YandexState
) -> None:
    state.iam.token_lifetime = 0  # every issued token is already expired

    with pytest.raises(
        CredentialsInvalid, match="HTTP 401: UNAUTHENTICATED: The token is invalid or has expired"
    ):
        await adapter.resolve(spec, sa_creds, STEPS_BACK_1)
    assert state.iam.exchanges == 1


async def test_a_key_yandex_does_not_know_is_invalid_credentials(
    adapter: YandexAdapter,
    spec: YandexServerlessContainerProvider,
    stranger_key: dict[str, Any],
    state: YandexState,
) -> None:
    creds = adapter.credentials({"serviceAccountKey": json.dumps(stranger_key["authorizedKey"])})

    with pytest.raises(
        CredentialsInvalid, match=f"UNAUTHENTICATED: Key '{stranger_key['id']}' not found"
    ) as caught:
        await adapter.resolve(spec, creds, STEPS_BACK_1)
    assert "PRIVATE KEY" not in str(caught.value)
    assert not any(route.startswith("GET") for route in state.requests)


async def test_a_wrong_static_token_is_invalid_credentials_without_the_token(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider
) -> None:
    creds = adapter.credentials({"iamToken": "t1.wrong-token.9f8e7d6c5b4a"})

    with pytest.raises(
        CredentialsInvalid, match="UNAUTHENTICATED: The token is invalid or has expired"
    ) as caught:
        await adapter.resolve(spec, creds, STEPS_BACK_1)
    assert "9f8e7d6c5b4a" not in str(caught.value)


async def test_each_iam_endpoint_gets_its_own_token(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, sa_creds: Credentials, state: YandexState
) -> None:
    other_iam = spec.model_copy(update={"iam_url": spec.iam_url + "/"})
    localhost = spec.model_copy(update={"iam_url": spec.iam_url.replace("127.0.0.1", "localhost")})

    for variant in (spec, other_iam, localhost):
        await adapter.resolve(variant, sa_creds, STEPS_BACK_1)

    assert state.iam.exchanges == 2  # a trailing slash is the same endpoint

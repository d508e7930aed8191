"""The Vector token: how it is picked from the Secret, rejected by Vector, and never shown."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from rollback_operator.errors import CredentialsInvalid, CredentialsMissing, ProviderRejected, RollbackError
from rollback_operator.models import Target, VectorProvider
from rollback_operator.providers.base import Credentials, Handle
from rollback_operator.providers.vector import VectorAdapter
from rollback_sandbox.common import Faults
from rollback_sandbox.vector import VectorState
from tests.providers.vector.scenario import FAST, KEY, PROD, TOKEN, dep, resolution

WRONG = "vp_live_wrong_9dK2pQ7sLx"
CREDS = Credentials({"token": TOKEN})


def test_the_token_is_the_only_key_taken_from_the_secret(adapter: VectorAdapter) -> None:
    creds = adapter.credentials({"token": f"{TOKEN}\n", "username": "someone"})

    assert creds.values == {"token": TOKEN}
    assert TOKEN not in repr(creds)


def test_a_secret_without_token_is_credentials_missing(adapter: VectorAdapter) -> None:
    with pytest.raises(CredentialsMissing, match="the Secret has no 'token' key"):
        adapter.credentials({"apiKey": TOKEN})


@pytest.mark.parametrize("value", ["", "  \n", "vp_live two words", "vp_live_ünicode"])
def test_a_token_that_cannot_go_into_a_header_is_credentials_invalid_without_the_value(
    adapter: VectorAdapter, value: str
) -> None:
    with pytest.raises(CredentialsInvalid, match="'token' value is empty or contains spaces") as caught:
        adapter.credentials({"token": value})
    if value.strip():
        assert value.strip() not in caught.value.message


async def test_a_wrong_token_is_credentials_invalid_with_vectors_message_and_no_secret(
    adapter: VectorAdapter, spec: VectorProvider, state: VectorState
) -> None:
    with pytest.raises(
        CredentialsInvalid, match="vector list_deployments: HTTP 401: Unauthenticated"
    ) as caught:
        await adapter.resolve(spec, Credentials({"token": WRONG}), Target(steps_back=1))
    assert WRONG not in str(caught.value)
    assert not state.rollbacks


async def test_no_secret_reaches_an_error_or_a_log_record(
    adapter: VectorAdapter,
    spec: VectorProvider,
    creds: Credentials,
    state: VectorState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    failures: list[RollbackError] = []
    for faults in (Faults(error_rate=1.0), Faults(malformed_rate=1.0), Faults(drop_rate=1.0)):
        state.faults = faults
        for call in (
            adapter.resolve(spec, creds, Target(steps_back=1)),
            adapter.poll(spec, creds, Handle(dep("p", 1))),
            adapter.recover(spec, creds, resolution(dep("p", 4)), KEY),
            adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY),
        ):
            with pytest.raises(RollbackError) as caught:
                await call
            failures.append(caught.value)
    state.faults = Faults()
    with pytest.raises(CredentialsInvalid) as wrong:
        await adapter.poll(spec, Credentials({"token": WRONG}), Handle(dep("p", 1)))
    failures.append(wrong.value)

    assert len(failures) == 13
    for failure in failures:
        assert TOKEN not in f"{failure} {failure!r} {failure.__cause__!r}"
    assert WRONG not in str(failures[-1])
    assert caplog.records  # httpx logged every request, and none of it carries the token
    assert TOKEN not in caplog.text


async def _rejected_trigger(answer: Callable[[httpx.Request], httpx.Response]) -> ProviderRejected:
    """The error a trigger raises when the provider answers with ``answer``."""
    adapter = VectorAdapter(retry=FAST, transport=httpx.MockTransport(answer))
    try:
        with pytest.raises(ProviderRejected) as caught:
            await adapter.trigger(
                VectorProvider(environment_id=PROD),
                Credentials({"token": TOKEN}),
                resolution(dep("p", 4)),
                KEY,
            )
    finally:
        await adapter.aclose()
    return caught.value


async def test_a_provider_that_echoes_the_token_has_it_redacted() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        body = {"errors": {"token": [f"Token {token} lacks site:write"]}, "message": f"Bad token {token}"}
        return httpx.Response(422, json=body)

    error = await _rejected_trigger(echo)

    assert error.message.endswith("token: Token *** lacks site:write")
    assert TOKEN not in str(error)


async def test_a_token_echoed_where_the_error_text_is_shortened_leaves_no_part_behind() -> None:
    """Error texts are cut to a few hundred characters; the token is redacted before the cut."""

    def proxy_page(request: httpx.Request) -> httpx.Response:
        echoed = "x" * 270 + " Authorization: " + request.headers["Authorization"]  # the token at ~294
        return httpx.Response(400, content=echoed.encode(), headers={"content-type": "text/plain"})

    error = await _rejected_trigger(proxy_page)

    assert "Bearer" in error.message  # the text was shortened around the token
    assert TOKEN[:6] not in str(error)

"""No secret value (static token, private key, issued IAM token) reaches an error or a log record."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from rollback_operator.errors import RollbackError
from rollback_operator.models import Target, YandexServerlessContainerProvider
from rollback_operator.providers.base import Credentials, Handle
from rollback_operator.providers.yandex import YandexAdapter
from rollback_operator.providers.yandex.auth import parse_service_account_key
from rollback_sandbox.yandex import YandexState
from tests.providers.yandex.conftest import MakeAdapter
from tests.providers.yandex.scenario import EMPTY, PREVIOUS, TOKEN, new_key, resolution_for

ISSUED = "t1.issued-by-the-echoing-iam.0123456789abcdef"


def _echo_credentials(request: httpx.Request) -> httpx.Response:
    """A careless provider: issues a token, then quotes the caller's Authorization header."""
    if request.url.path == "/iam/v1/tokens":
        expires = (datetime.now(UTC) + timedelta(hours=12)).isoformat()
        return httpx.Response(200, json={"iamToken": ISSUED, "expiresAt": expires})
    quoted = f"bad request from {request.headers.get('Authorization')}"
    return httpx.Response(400, json={"code": 3, "message": quoted})


@pytest.mark.parametrize("which", ["iamToken", "serviceAccountKey"])
async def test_a_provider_quoting_the_token_back_does_not_leak_it(
    make_adapter: MakeAdapter, sa_secret: str, which: str
) -> None:
    adapter = make_adapter(transport=httpx.MockTransport(_echo_credentials))
    creds = adapter.credentials({which: TOKEN if which == "iamToken" else sa_secret})
    spec = YandexServerlessContainerProvider(container_id="bbaecho000000000001")

    with pytest.raises(RollbackError) as caught:
        await adapter.resolve(spec, creds, Target(steps_back=1))

    assert "bad request from Bearer ***" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert ISSUED not in str(caught.value)


async def _failures(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials
) -> list[str]:
    """Walk the adapter through success and failure paths; return every error message."""
    messages: list[str] = []
    attempts: list[Any] = [
        adapter.resolve(spec, creds, Target(steps_back=1)),
        adapter.resolve(spec.model_copy(update={"container_id": EMPTY}), creds, Target(steps_back=1)),
        adapter.trigger(spec, creds, resolution_for(PREVIOUS), new_key()),
        adapter.trigger(spec, creds, resolution_for("bbarevmissing0000001"), new_key()),
        adapter.poll(spec, creds, Handle("d4emissing0000000001")),
        adapter.resolve(spec.model_copy(update={"container_id": "bbamissing000000001"}), creds, Target()),
    ]
    for attempt in attempts:
        try:
            await attempt
        except RollbackError as exc:
            messages.append(str(exc))
    return messages


async def test_no_secret_appears_in_errors_or_logs(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, sa_secret: str, state: YandexState,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    key = parse_service_account_key(sa_secret)
    pem_line = key.private_key_pem.splitlines()[1]

    messages = await _failures(adapter, spec, adapter.credentials({"serviceAccountKey": sa_secret}))
    messages += await _failures(adapter, spec, adapter.credentials({"iamToken": TOKEN}))
    issued = [token for token in state.iam.tokens if token != TOKEN]
    state.iam.revoke_all()
    messages += await _failures(adapter, spec, adapter.credentials({"serviceAccountKey": sa_secret}))
    issued += [token for token in state.iam.tokens if token != TOKEN]

    assert len(messages) == 14  # 4 failures, then 5 per walk (the rollback is done by then)
    assert len(issued) == 2
    secrets = [TOKEN, pem_line, key.private_key_pem, *issued]
    texts = messages + [record.getMessage() for record in caplog.records]
    assert any("exchanged service-account key" in text for text in texts)
    for secret in secrets:
        assert not [text for text in texts if secret in text], "a secret leaked"

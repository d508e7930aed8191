"""A Secret value that is not UTF-8 text is named as such by every provider, never shown."""

from __future__ import annotations

import pytest

from rollback_operator.credentials import SecretData
from rollback_operator.errors import CredentialsInvalid
from rollback_operator.providers import adapter_classes
from rollback_operator.providers.base import HTTPAdapter

PLAIN = {"username": "ops@acme.example", "token": "vp_live_0123456789", "iamToken": "t1.abc"}


@pytest.mark.parametrize(
    ("provider", "key"),
    [
        ("facets", "token"),
        ("facets", "username"),
        ("vector", "token"),
        ("yandexServerlessContainer", "iamToken"),
    ],
)
async def test_an_undecodable_key_is_credentials_invalid_naming_the_key_and_the_secret(
    provider: str, key: str
) -> None:
    adapter: HTTPAdapter = adapter_classes()[provider]()
    data = SecretData(
        {k: v for k, v in PLAIN.items() if k != key}, source="payments/creds", undecodable=[key]
    )
    try:
        with pytest.raises(
            CredentialsInvalid, match=rf"key '{key}' of Secret payments/creds is not UTF-8 text"
        ):
            adapter.credentials(data)  # type: ignore[attr-defined]
    finally:
        await adapter.aclose()


async def test_text_values_beside_an_undecodable_unrelated_key_still_work() -> None:
    adapter = adapter_classes()["vector"]()
    try:
        creds = adapter.credentials(SecretData({"token": "vp_live_0123456789"}, undecodable=["logo.png"]))
    finally:
        await adapter.aclose()
    assert creds.values == {"token": "vp_live_0123456789"}

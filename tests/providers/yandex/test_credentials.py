"""Reading the Secret: which key is used, and what a malformed service-account key says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from rollback_operator.errors import CredentialsInvalid, CredentialsMissing
from rollback_operator.providers.yandex import YandexAdapter
from rollback_operator.providers.yandex.auth import parse_service_account_key
from tests.providers.yandex.scenario import SERVICE_ACCOUNT, TOKEN


def test_an_iam_token_alone_is_enough(adapter: YandexAdapter) -> None:
    creds = adapter.credentials({"iamToken": TOKEN + "\n", "unrelated": "x"})

    assert dict(creds.values) == {"iamToken": TOKEN}


def test_a_service_account_key_alone_is_enough(adapter: YandexAdapter, sa_secret: str) -> None:
    assert dict(adapter.credentials({"serviceAccountKey": sa_secret}).values) == {
        "serviceAccountKey": sa_secret
    }


def test_the_service_account_key_wins_when_both_are_present(adapter: YandexAdapter, sa_secret: str) -> None:
    creds = adapter.credentials({"iamToken": TOKEN, "serviceAccountKey": sa_secret})

    assert list(creds.values) == ["serviceAccountKey"]


@pytest.mark.parametrize("data", [{}, {"iamToken": ""}, {"iamToken": "  ", "serviceAccountKey": "\n"}])
def test_neither_key_is_credentials_missing_naming_both(adapter: YandexAdapter, data: dict[str, str]) -> None:
    with pytest.raises(CredentialsMissing, match="iamToken or serviceAccountKey"):
        adapter.credentials(data)


@pytest.mark.parametrize("token", ["t1.9euelZ\u00e9", "t1.abc def", "t1.abc\ndef"])
def test_an_iam_token_that_cannot_go_into_a_header_is_invalid_without_its_value(
    adapter: YandexAdapter, token: str
) -> None:
    with pytest.raises(CredentialsInvalid, match="iamToken") as caught:
        adapter.credentials({"iamToken": token})

    assert token.strip() not in str(caught.value)


def test_the_prefix_line_before_the_pem_is_ignored(sa_key: dict[str, Any]) -> None:
    assert sa_key["authorizedKey"]["private_key"].startswith("PLEASE DO NOT REMOVE THIS LINE!")

    key = parse_service_account_key(json.dumps(sa_key["authorizedKey"]))

    assert key.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert (key.key_id, key.service_account_id) == (sa_key["id"], SERVICE_ACCOUNT)
    assert "BEGIN" not in repr(key)


def test_the_rest_api_shape_of_a_key_is_accepted_too(sa_key: dict[str, Any]) -> None:
    document = sa_key["authorizedKey"]
    rest_shape = {
        "key": {"id": document["id"], "serviceAccountId": document["service_account_id"]},
        "privateKey": document["private_key"],
    }

    assert parse_service_account_key(json.dumps(rest_shape)).key_id == document["id"]


def _ec_private_key() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )


def _with(sa_key: dict[str, Any], **changes: Any) -> str:
    document = {**sa_key["authorizedKey"], **changes}
    return json.dumps({k: v for k, v in document.items() if v is not None})


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda key: "{not json: s3cr3t-value", "not valid JSON"),
        (lambda key: json.dumps(["s3cr3t-value"]), "not a JSON object"),
        (lambda key: _with(key, private_key=None), "missing or empty field\\(s\\): private_key"),
        (
            lambda key: _with(key, id="", service_account_id=None),
            "missing or empty field\\(s\\): id, service_account_id",
        ),
        (
            lambda key: _with(key, private_key="s3cr3t-value"),
            "private_key has no -----BEGIN PRIVATE KEY-----",
        ),
        (
            lambda key: _with(
                key, private_key="-----BEGIN PRIVATE KEY-----\ns3cr3t-value\n-----END PRIVATE KEY-----"
            ),
            "private_key is not a readable unencrypted PKCS#8 key",
        ),
        (lambda key: _with(key, private_key=_ec_private_key()), "private_key is not an RSA key"),
    ],
    ids=["not-json", "not-object", "no-private-key", "no-ids", "no-pem", "bad-pem", "not-rsa"],
)
def test_a_malformed_key_is_invalid_and_the_message_names_the_problem_not_the_value(
    adapter: YandexAdapter, sa_key: dict[str, Any], make: Any, problem: str
) -> None:
    value = make(sa_key)

    with pytest.raises(CredentialsInvalid, match=f"^Secret key serviceAccountKey: {problem}") as caught:
        adapter.credentials({"serviceAccountKey": value})
    assert "s3cr3t" not in str(caught.value)
    assert "PRIVATE KEY-----\n" not in str(caught.value)

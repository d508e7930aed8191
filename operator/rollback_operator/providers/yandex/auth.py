"""Yandex Cloud authentication: service-account keys, the JWT exchange, and a cache of IAM tokens.

A RollbackRequest's Secret holds either a ready IAM token (``iamToken``) or the authorized-key
JSON that ``yc iam key create`` writes (``serviceAccountKey``). The key signs a short PS256 JWT,
which ``POST {iamURL}/iam/v1/tokens`` exchanges for an IAM token valid for up to 12 hours.
``IamTokenSource`` caches that token per IAM endpoint and key, so a busy operator exchanges a
key about once an hour rather than once per call.

The answer models and the error text come from ``wire.py``. Used by ``adapter.py``.
Neither the private key nor an IAM token ever appears in a message or a log record.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rollback_operator.errors import CredentialsInvalid, ProviderRejected
from rollback_operator.providers.http import ProviderHTTP
from rollback_operator.providers.yandex.wire import Wire, describe, read

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

log = logging.getLogger(__name__)

IAM_AUDIENCE = "https://iam.api.cloud.yandex.net/iam/v1/tokens"
"""The JWT ``aud`` Yandex requires, whatever IAM endpoint the spec names."""
JWT_LIFETIME = 3600
"""Seconds between the JWT's ``iat`` and ``exp``; Yandex accepts at most one hour."""
REFRESH_MARGIN = 300.0
"""Exchange again when the cached token has less than this many seconds left."""
MAX_TOKEN_AGE = 3600.0
"""Exchange again after this many seconds anyway, as Yandex recommends (tokens live 12 h)."""
PEM_BEGIN = "-----BEGIN PRIVATE KEY-----"

# ------------------------------------------------------------------------ service-account keys


@dataclass(frozen=True, repr=False)
class ServiceAccountKey:
    """An authorized key of a service account; ``repr`` never shows the private key."""

    key_id: str
    service_account_id: str
    private_key_pem: str
    private_key: RSAPrivateKey

    def __repr__(self) -> str:
        return f"ServiceAccountKey(key_id={self.key_id!r}, service_account_id={self.service_account_id!r})"

    @property
    def fingerprint(self) -> str:
        """Identifies the key *material*, so a Secret naming someone else's key id misses the cache."""
        material = "\n".join((self.key_id, self.service_account_id, self.private_key_pem))
        return hashlib.sha256(material.encode()).hexdigest()


def _invalid(problem: str) -> CredentialsInvalid:
    return CredentialsInvalid(f"Secret key serviceAccountKey: {problem}")


def _key_fields(document: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(id, service account id, private key) from the ``yc`` file or the REST ``keys`` answer."""
    if isinstance(document.get("key"), Mapping):
        key = document["key"]
        return key.get("id"), key.get("serviceAccountId"), document.get("privateKey")
    return document.get("id"), document.get("service_account_id"), document.get("private_key")


def _load_private_key(text: str) -> tuple[str, RSAPrivateKey]:
    """The PEM without Yandex's leading "PLEASE DO NOT REMOVE THIS LINE!" note, and the key.

    cryptography is imported here, not at the top: about 20 MiB an operator that never meets a
    service-account key does not pay for (an IAM token, or no Yandex request at all).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    start = text.find(PEM_BEGIN)
    if start < 0:
        raise _invalid(f"private_key has no {PEM_BEGIN} block")
    pem = text[start:]
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise _invalid("private_key is not a readable unencrypted PKCS#8 key") from exc
    if not isinstance(key, RSAPrivateKey):
        raise _invalid("private_key is not an RSA key")
    return pem, key


@functools.lru_cache(maxsize=64)  # loading an RSA key takes tens of ms; every call needs the key
def parse_service_account_key(text: str) -> ServiceAccountKey:
    """Read the authorized-key JSON; ``CredentialsInvalid`` says what is wrong, never the value."""
    try:
        document = json.loads(text)
    except ValueError:
        raise _invalid("not valid JSON (expected the file `yc iam key create` writes)") from None
    if not isinstance(document, dict):
        raise _invalid("not a JSON object (expected the file `yc iam key create` writes)")
    key_id, account_id, private_key = _key_fields(document)
    named = {"id": key_id, "service_account_id": account_id, "private_key": private_key}
    missing = [name for name, value in named.items() if not isinstance(value, str) or not value]
    if missing:
        raise _invalid(f"missing or empty field(s): {', '.join(missing)}")
    pem, key = _load_private_key(private_key)
    return ServiceAccountKey(key_id, account_id, pem, key)


def sign_jwt(key: ServiceAccountKey, *, now: int) -> str:
    """The PS256 JWT that ``POST /iam/v1/tokens`` accepts for this key."""
    import jwt  # with cryptography, only once a service-account key is used (see _load_private_key)

    claims = {"iss": key.service_account_id, "aud": IAM_AUDIENCE, "iat": now, "exp": now + JWT_LIFETIME}
    return jwt.encode(claims, key.private_key, algorithm="PS256", headers={"kid": key.key_id})


# ----------------------------------------------------------------------------- the token cache


class _TokenResponse(Wire):
    iam_token: str
    expires_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    """An IAM token and whether it came from the cache (only those are worth a retry on 401)."""

    token: str = field(repr=False)
    reused: bool
    expires_at: float = 0.0
    obtained_at: float = 0.0


class IamTokenSource:
    """Exchanges service-account keys for IAM tokens and caches them until shortly before expiry.

    One exchange per (IAM endpoint, key) at a time: concurrent callers wait for it and share the
    result. ``clock`` (wall-clock seconds) decides freshness; tests move it forward. The JWT's own
    ``iat`` always comes from the real wall clock, because the IAM service judges it by its own.
    """

    def __init__(self, *, http: ProviderHTTP, clock: Callable[[], float] = time.time) -> None:
        self._http = http
        self._clock = clock
        self._cache: dict[tuple[str, str], IssuedToken] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def token(self, *, iam_url: str, key: ServiceAccountKey) -> IssuedToken:
        """A fresh-enough IAM token for ``key``, exchanging the key only when needed."""
        slot = (iam_url.rstrip("/"), key.fingerprint)
        async with self._locks.setdefault(slot, asyncio.Lock()):
            cached = self._cache.get(slot)
            if cached is not None and self._fresh(cached):
                return IssuedToken(cached.token, True, cached.expires_at, cached.obtained_at)
            issued = await self._exchange(iam_url=slot[0], key=key)
            self._cache[slot] = issued
            return issued

    def forget(self, *, iam_url: str, key: ServiceAccountKey, token: str) -> None:
        """Drop a cached token the API refused (unless a newer one replaced it meanwhile)."""
        slot = (iam_url.rstrip("/"), key.fingerprint)
        cached = self._cache.get(slot)
        if cached is not None and cached.token == token:
            del self._cache[slot]

    def _fresh(self, cached: IssuedToken) -> bool:
        now = self._clock()
        return now < cached.expires_at - REFRESH_MARGIN and now < cached.obtained_at + MAX_TOKEN_AGE

    async def _exchange(self, *, iam_url: str, key: ServiceAccountKey) -> IssuedToken:
        signed = sign_jwt(key, now=int(time.time()))
        try:
            response = await self._http.request(
                "POST",
                f"{iam_url}/iam/v1/tokens",
                operation="create_iam_token",
                idempotent=True,  # issuing a token changes nothing; retrying is safe
                describe=describe,
                secrets=[key.private_key_pem, signed],
                json_body={"jwt": signed},
            )
        except ProviderRejected as exc:  # a 400 about the JWT is still a key problem
            raise CredentialsInvalid(f"IAM token exchange rejected the service-account key: {exc}") from exc
        body = read(_TokenResponse, response, what="create IAM token")
        log.info(
            "exchanged service-account key %s for an IAM token valid until %s", key.key_id, body.expires_at
        )
        return IssuedToken(body.iam_token, False, body.expires_at.timestamp(), self._clock())

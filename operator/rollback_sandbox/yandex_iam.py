"""The IAM half of the Yandex sandbox, and the google.rpc wire basics the whole sandbox shares.

``IamService`` holds the seeded service-account public keys and IAM tokens: it verifies the
PS256 JWTs that ``POST /iam/v1/tokens`` receives, issues ``t1.`` tokens with an expiry, and checks
``Authorization: Bearer`` headers. ``make_service_account_key`` creates a key pair the way
``yc iam key create`` does, for seeds, tests and the demo. Used by ``sandbox/yandex.py``.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

TYPE_PREFIX = "type.googleapis.com/"
IAM_AUDIENCE = "https://iam.api.cloud.yandex.net/iam/v1/tokens"
MAX_JWT_LIFETIME = 3600
HTTP_STATUS = {1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400,
               12: 501, 13: 500, 14: 503, 15: 500, 16: 401}  # fmt: skip
NS = 1_000_000_000
_ID_ALPHABET = "abcdefghijklmnopqrstuv0123456789"


def new_id(prefix: str) -> str:
    """A Yandex-looking 20-character id: a 3-letter service prefix and 17 random characters."""
    return prefix + "".join(random.choice(_ID_ALPHABET) for _ in range(17))


def timestamp(ns: int) -> str:
    """RFC 3339 with nanoseconds and ``Z``, as Yandex writes them."""
    seconds, fraction = divmod(ns, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


class ApiError(Exception):
    """A google.rpc error, answered with the HTTP status Yandex uses for its code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """The google.rpc Status JSON with a RequestInfo detail."""
        request_info = {"@type": TYPE_PREFIX + "google.rpc.RequestInfo", "requestId": str(uuid.uuid4())}
        return {"code": self.code, "message": self.message, "details": [request_info]}

    def response(self) -> web.Response:
        """The HTTP answer."""
        return web.json_response(self.body(), status=HTTP_STATUS.get(self.code, 500))


def _unauthenticated(message: str) -> ApiError:
    return ApiError(16, message)


@dataclass(frozen=True)
class _Key:
    service_account_id: str
    public_key: PublicKeyTypes


class IamService:
    """Seeded keys and tokens; verifies JWTs, issues tokens, authenticates Bearer headers."""

    def __init__(self) -> None:
        self.token_lifetime = 12 * 3600.0
        """Seconds an issued token lives (Yandex: 12 h); tests shorten it to force refreshes."""
        self.keys: dict[str, _Key] = {}
        self.tokens: dict[str, tuple[str, float | None]] = {}
        """token → (subject, expiry in unix seconds, or None for seeded tokens)."""
        self.exchanges = 0
        """How many tokens were issued for JWTs."""

    def seed(self, data: dict[str, Any]) -> None:
        """Load ``tokenLifetimeSeconds``, ``iamTokens`` and ``serviceAccountKeys`` (see yandex.py)."""
        self.token_lifetime = float(data.get("tokenLifetimeSeconds", self.token_lifetime))
        self.tokens.update({token: (subject, None) for token, subject in data.get("iamTokens", {}).items()})
        for entry in data.get("serviceAccountKeys", []):
            public_key = serialization.load_pem_public_key(entry["publicKey"].encode())
            self.keys[entry["id"]] = _Key(entry["serviceAccountId"], public_key)

    def authenticate(self, header: str) -> str:
        """The subject behind ``Authorization: Bearer <token>``; ``ApiError`` 16 otherwise."""
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            raise _unauthenticated("Authentication required: pass an IAM token as 'Authorization: Bearer'")
        subject, expires = self.tokens.get(token, ("", 0.0))
        if not subject or (expires is not None and expires <= time.time()):
            raise _unauthenticated("The token is invalid or has expired.")
        return subject

    def verify_jwt(self, token: str) -> str:
        """The service account a signed JWT speaks for; ``ApiError`` 16 when anything is off."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise _unauthenticated(f"Malformed JWT: {exc}") from None
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise _unauthenticated(f"Key {kid!r} not found or deleted")
        try:
            claims = jwt.decode(
                token,
                key.public_key,  # type: ignore[arg-type]
                algorithms=["PS256"],  # the only algorithm Yandex accepts; PyJWT checks a 32-byte salt
                audience=IAM_AUDIENCE,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.InvalidTokenError as exc:
            raise _unauthenticated(f"Invalid JWT: {exc}") from None
        if claims["iss"] != key.service_account_id:
            raise _unauthenticated(f"Key {kid} does not belong to service account {claims['iss']}")
        if claims["exp"] - claims["iat"] > MAX_JWT_LIFETIME:
            raise _unauthenticated(f"JWT lifetime (exp - iat) must not exceed {MAX_JWT_LIFETIME} seconds")
        return key.service_account_id

    def issue_token(self, subject: str) -> dict[str, str]:
        """A new IAM token for ``subject``, as ``CreateIamTokenResponse`` JSON."""
        token = f"t1.{secrets.token_urlsafe(24)}.{secrets.token_urlsafe(64)[:86]}"
        expires = time.time() + self.token_lifetime
        self.tokens[token] = (subject, expires)
        self.exchanges += 1
        return {"iamToken": token, "expiresAt": timestamp(int(expires * NS))}

    def revoke_all(self) -> None:
        """Invalidate every issued token (seeded static tokens stay), like a key rotation."""
        self.tokens = {token: entry for token, entry in self.tokens.items() if entry[1] is None}


def _pem_pair(private_key: rsa.RSAPrivateKey) -> tuple[str, str]:
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem.decode(), public_pem.decode()


def make_service_account_key(*, service_account_id: str, key_id: str | None = None) -> dict[str, Any]:
    """A fresh RSA key as a seed entry; its ``authorizedKey`` is the file ``yc iam key create`` writes.

    The sandbox reads only ``id``, ``serviceAccountId`` and ``publicKey``; ``authorizedKey`` (with
    the private key) rides along for whoever needs matching credentials, e.g. the demo.
    """
    key_id = key_id or new_id("aje")
    private_pem, public_pem = _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    authorized_key = {
        "id": key_id,
        "service_account_id": service_account_id,
        "created_at": timestamp(time.time_ns()),
        "key_algorithm": "RSA_2048",
        "public_key": public_pem,
        "private_key": f"PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <{key_id}>\n{private_pem}",
    }
    return {
        "id": key_id,
        "serviceAccountId": service_account_id,
        "publicKey": public_pem,
        "authorizedKey": authorized_key,
    }

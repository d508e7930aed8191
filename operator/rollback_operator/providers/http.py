"""Shared HTTP machinery of the provider adapters: one client, retries, error mapping.

Each adapter owns one ``ProviderHTTP`` (one long-lived ``httpx.AsyncClient`` with explicit
timeouts and an injectable transport) and sends every request through ``request``, which:

- retries what is safe to retry, with exponential backoff, full jitter and ``Retry-After``:
  connection failures (the request never left), 429 (the provider did not act), and, for
  idempotent requests only, timeouts, dropped connections and 5xx;
- never re-sends a non-idempotent request that may have reached the provider: a timeout, a
  dropped connection or a 5xx after sending raises ``OutcomeUnknown``;
- maps 401/403 to ``CredentialsInvalid`` and other 4xx to ``ProviderRejected``, carrying the
  provider's own message (extracted by the adapter's ``describe`` function), redacted;
- counts every attempt in ``rollback_provider_requests_total``.

httpx exceptions never escape; each raised error chains its cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import ipaddress
import json
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from rollback_operator import metrics
from rollback_operator.config import provider_tls
from rollback_operator.errors import (
    CredentialsInvalid,
    MalformedResponse,
    OutcomeUnknown,
    PermanentError,
    ProviderRejected,
    ProviderUnavailable,
    redact,
)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
CONNECTIONS = 8
"""Requests in flight per provider client, each on its own kept-alive connection."""
USER_AGENT = "rollback-operator/0.1"

# Raised before any byte of the request could reach the server: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Visible ASCII only: a token with spaces, control or non-ASCII characters cannot go into a
# header, and httpx would fail only while sending, outside its own errors.
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")


@functools.lru_cache(maxsize=256)  # asked on every watch event; a handful of URLs recur
def endpoint_key(url: str) -> str:
    """The host (and a port other than the scheme's default) ``url`` reaches, the same for every
    spelling of one endpoint: ``https://API.builtfast.com:443/`` and ``https://api.builtfast.com``,
    or a host in Unicode and its ``xn--`` form, as httpx connects to them."""
    try:
        parsed = httpx.URL(url)
        host, port = parsed.raw_host.decode("ascii").rstrip("."), parsed.port  # port: None if default
    except (httpx.InvalidURL, UnicodeError):  # httpx would refuse to send to it: key it as written
        return url.strip().lower()
    with contextlib.suppress(ValueError):  # an IP address: in its one canonical spelling
        address = ipaddress.ip_address(host)
        host = f"[{address}]" if address.version == 6 else str(address)
    return host if port is None else f"{host}:{port}"


def header_safe(token: str) -> bool:
    """True when ``token`` can be sent as a bearer token in a header, as it is."""
    return _HEADER_TOKEN.fullmatch(token) is not None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is retried."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 10.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (full jitter, Retry-After wins)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


Describe = Callable[[httpx.Response], str]


def describe_plain(response: httpx.Response) -> str:
    """Fallback error text: the start of the body, or the reason phrase."""
    text = response.text.strip()
    return text[:300] if text else response.reason_phrase


_BODY_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})
"""Headers that describe the body as sent, not the rewritten one."""


def _redacted(response: httpx.Response, secrets: Sequence[str]) -> httpx.Response:
    """``response`` with every secret value in its body replaced (the same response if none is)."""
    text = response.text
    clean = redact(text, secrets)
    if clean == text:
        return response
    kept = [(k, v) for k, v in response.headers.items() if k.lower() not in _BODY_HEADERS]
    return httpx.Response(
        response.status_code,
        headers=kept,  # Retry-After and content-type still count
        content=clean.encode(response.encoding or "utf-8", errors="replace"),
        request=response.request,
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), if present."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def decode_json(response: httpx.Response, *, what: str) -> Any:
    """The response body as JSON, or ``MalformedResponse`` naming what was expected."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        kind = response.headers.get("content-type", "no content type")
        raise MalformedResponse(
            f"{what}: expected JSON, got {kind} ({len(response.content)} bytes) "
            f"with HTTP {response.status_code}"
        ) from exc


class ProviderHTTP:
    """One provider's HTTP client with the retry and error rules of the module docstring."""

    def __init__(
        self,
        *,
        provider: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        connections: int = CONNECTIONS,
    ) -> None:
        self.provider = provider
        self.retry = retry or RetryPolicy()
        # Requests beyond ``connections`` wait here rather than in httpcore's pool, whose every
        # request and response scans all queued requests against all connections; and every
        # connection is kept alive (httpx keeps 20 by default and reconnects for the rest).
        self._slots = asyncio.Semaphore(connections)
        self.client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
            verify=provider_tls(),
        )

    async def aclose(self) -> None:
        """Close the underlying client."""
        await self.client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        idempotent: bool,
        describe: Describe = describe_plain,
        secrets: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        acts: bool = False,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise a ``RollbackError``.

        ``acts``: the call asks the provider to change something (a rollback), so an attempt lost
        or answered 5xx may have been carried out. Once one may have, a later refusal is no longer
        proof that nothing happened (``OutcomeUnknown``), and a transient failure says
        ``maybe_acted``.
        """
        last: ProviderUnavailable | None = None
        acted = False
        for attempt in range(self.retry.attempts):
            if attempt:
                await asyncio.sleep(self.retry.delay(attempt - 1, last.retry_after if last else None))
            try:
                async with self._slots:
                    response = await self.client.request(
                        method, url, headers=headers, params=params, json=json_body
                    )
            except httpx.HTTPError as exc:
                self._count(operation, type(exc).__name__)
                last = self._network_failure(exc, operation=operation, idempotent=idempotent, acts=acts)
                acted = acted or last.maybe_acted
                continue
            self._count(operation, str(response.status_code))
            if response.is_success:
                return response
            try:
                last = self._http_failure(
                    response, operation=operation, idempotent=idempotent, describe=describe, secrets=secrets
                )
            except PermanentError as err:
                if acted:
                    raise OutcomeUnknown(
                        f"{err.message}; an earlier attempt may have been carried out"
                    ) from err
                raise
            acted = acted or (acts and response.status_code >= 500)
        assert last is not None
        last.maybe_acted = acted
        raise last

    def _network_failure(
        self, exc: httpx.HTTPError, *, operation: str, idempotent: bool, acts: bool
    ) -> ProviderUnavailable:
        """Classify a transport error; raise at once when a re-send would be unsafe."""
        message = f"{self.provider} {operation}: {type(exc).__name__} talking to the provider"
        if isinstance(exc, _NOT_SENT) or idempotent:
            err = ProviderUnavailable(message, maybe_acted=acts and not isinstance(exc, _NOT_SENT))
            err.__cause__ = exc
            return err
        raise OutcomeUnknown(f"{message}; the request may have reached it") from exc

    def _http_failure(
        self,
        response: httpx.Response,
        *,
        operation: str,
        idempotent: bool,
        describe: Describe,
        secrets: Sequence[str],
    ) -> ProviderUnavailable:
        """Classify a non-2xx answer: return what may be retried, raise what may not."""
        code = response.status_code
        # Redact the whole body before any describe function shortens it: a secret cut in half
        # by a shortened text would no longer match, and its first part would survive.
        response = _redacted(response, secrets)
        try:
            detail = redact(describe(response), secrets)
        except Exception:  # a describe function must never hide the real failure
            detail = describe_plain(response)
        message = f"{self.provider} {operation}: HTTP {code}: {detail}"
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if code == 429 or (code >= 500 and idempotent):
            return ProviderUnavailable(message, retry_after=retry_after)
        if code >= 500:
            raise OutcomeUnknown(f"{message}; the provider may have acted")
        if code in (401, 403):
            raise CredentialsInvalid(message)
        raise ProviderRejected(message, status_code=code)

    def _count(self, operation: str, code: str) -> None:
        metrics.PROVIDER_REQUESTS.labels(self.provider, operation, code).inc()

"""Shared HTTP machinery of the provider adapters: one client, retries, error mapping.

Each adapter owns one ``ProviderHTTP`` (one long-lived ``httpx.AsyncClient`` with explicit
timeouts and an injectable transport, by default ``transport.AiohttpTransport``) and sends every
request through ``request``, which builds the request and hands it to ``send`` →
``_send_with_retries`` (the loop) → ``_send_once`` (one attempt, classified) → ``_fetch`` (the
bytes). Together they:

- refuse a URL that would not be sent as written (``urls.parse``: dot segments, encoded dots),
  with ``EndpointNotAllowed``, before a byte leaves;
- bound every attempt by a total deadline (``CallLimits.deadline``: connecting, sending and
  reading the whole body, however slowly it trickles in) and the body by a size cap
  (``CallLimits.max_response_bytes``: streamed, never read past the cap). A missed deadline is a
  timeout (``ProviderTimedOut``, retried where a timeout may be); an answer over the cap is
  ``ResponseTooLarge``, or ``OutcomeUnknown`` for a call that may have acted;
- retries what is safe to retry, with exponential backoff, full jitter and ``Retry-After``:
  connection failures (the request never left), 429 (the provider did not act), and, for
  idempotent requests only, timeouts, dropped connections and 5xx;
- never re-sends a non-idempotent request that may have reached the provider: a timeout, a
  dropped connection or a 5xx after sending raises ``OutcomeUnknown``;
- maps 401/403 to ``CredentialsInvalid`` and other 4xx to ``ProviderRejected``, carrying the
  provider's own message (extracted by the adapter's ``describe`` function), redacted;
- keeps no cookie: a cookie set in one request's answer is never sent with another;
- counts every attempt in ``rollback_provider_requests_total``.

httpx exceptions never escape; each raised error chains its cause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from rollback_operator import metrics
from rollback_operator.config import provider_tls
from rollback_operator.errors import (
    CredentialsInvalid,
    EndpointNotAllowed,
    OutcomeUnknown,
    PermanentError,
    ProviderRejected,
    ProviderTimedOut,
    ProviderUnavailable,
    ResponseTooLarge,
    redact,
)
from rollback_operator.providers.policy import CallLimits, RetryPolicy
from rollback_operator.providers.responses import (
    BODY_HEADERS,
    Describe,
    decode_json,
    describe_plain,
    endpoint_key,
    header_safe,
    parse_retry_after,
    redacted,
)
from rollback_operator.providers.transport import AiohttpTransport
from rollback_operator.urls import UnsafeURL, parse

__all__ = [
    "CONNECTIONS",
    "DEFAULT_TIMEOUT",
    "Call",
    "CallLimits",
    "ProviderHTTP",
    "RetryPolicy",
    "decode_json",
    "describe_plain",
    "endpoint_key",
    "header_safe",
    "parse_retry_after",
]

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
CONNECTIONS = 8
"""Requests in flight per provider client, each on its own kept-alive connection."""
USER_AGENT = "rollback-operator/0.1"

# Raised before any byte of the request could reach the server: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Call:
    """How one request is treated: its name in metrics and messages, and what it may do."""

    operation: str
    idempotent: bool
    acts: bool = False
    describe: Describe = describe_plain
    secrets: Sequence[str] = ()


class _NoCookies(httpx.Cookies):
    """Cookies that keep nothing and send nothing, without even reading ``Set-Cookie``."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class _Client(httpx.AsyncClient):
    """httpx's client whose cookies are ``_NoCookies``: one client serves every request for a
    provider, each with its own credentials, so a cookie one answer sets must never be sent with
    another request (and reading ``Set-Cookie`` at all costs CPU on every answer)."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._none = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._none

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("this client keeps no cookies")


class _TooLarge(Exception):
    """The body passed ``CallLimits.max_response_bytes``; carries the status code."""

    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.status_code = status_code


class ProviderHTTP:
    """One provider's HTTP client with the retry and error rules of the module docstring."""

    def __init__(
        self,
        *,
        provider: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        limits: CallLimits | None = None,
        connections: int = CONNECTIONS,
    ) -> None:
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self.limits = limits or CallLimits()
        # Requests beyond ``connections`` wait here rather than in httpcore's pool, whose every
        # request and response scans all queued requests against all connections; and every
        # connection is kept alive (httpx keeps 20 by default and reconnects for the rest).
        self._slots = asyncio.Semaphore(connections)
        tls = provider_tls()
        self.client = _Client(
            transport=transport or AiohttpTransport(tls=tls, connections=connections),
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
            verify=tls,  # for httpx's own proxy transports (HTTPS_PROXY)
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
        """Build the request and ``send`` it; a 2xx response or a ``RollbackError``.

        ``acts``: the call asks the provider to change something (a rollback), so an attempt lost
        or answered 5xx may have been carried out. Once one may have, a later refusal is no longer
        proof that nothing happened (``OutcomeUnknown``), and a transient failure says
        ``maybe_acted``.
        """
        try:
            checked = parse(url)
        except UnsafeURL as exc:
            raise EndpointNotAllowed(f"{self.provider} {operation}: refused to send: {exc}") from exc
        # The URL as checked is the URL sent (and httpx does not parse it again).
        request = self.client.build_request(method, checked, headers=headers, params=params, json=json_body)
        call = Call(operation, idempotent, acts, describe, secrets)
        return await self.send(request, call)

    async def send(self, request: httpx.Request, call: Call) -> httpx.Response:
        """Send ``request`` under the rules of the module docstring."""
        return await self._send_with_retries(request, call)

    async def _send_with_retries(self, request: httpx.Request, call: Call) -> httpx.Response:
        """Attempts until one answers 2xx, one fails for good, or the attempts run out."""
        last: ProviderUnavailable | None = None
        acted = False
        for attempt in range(self.retry.attempts):
            if last is not None:
                await asyncio.sleep(self.retry.delay(attempt - 1, last.retry_after))
            try:
                return await self._send_once(request, call)
            except ProviderUnavailable as err:
                last, acted = err, acted or err.maybe_acted
            except PermanentError as err:
                if acted:
                    raise OutcomeUnknown(
                        f"{err.message}; an earlier attempt may have been carried out"
                    ) from err
                raise
        assert last is not None
        last.maybe_acted = acted
        raise last

    async def _send_once(self, request: httpx.Request, call: Call) -> httpx.Response:
        """One attempt: the 2xx response, or the failure classified (returned errors are raised)."""
        try:
            response = await self._fetch(request)
        except (httpx.HTTPError, TimeoutError) as exc:
            self._count(call.operation, type(exc).__name__)
            raise self._network_failure(exc, call) from exc
        except _TooLarge as exc:
            self._count(call.operation, str(exc.status_code))
            raise self._too_large(exc.status_code, call) from None
        self._count(call.operation, str(response.status_code))
        if response.is_success:
            return response
        raise self._http_failure(response, call)

    async def _fetch(self, request: httpx.Request) -> httpx.Response:
        """The whole answer within the deadline and the size cap (``TimeoutError``, ``_TooLarge``)."""
        async with self._slots, asyncio.timeout(self.limits.deadline):
            response = await self.client.send(request, stream=True)
            try:
                body = await self._read_capped(response)
            finally:
                await response.aclose()
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in BODY_HEADERS]
        return httpx.Response(response.status_code, headers=kept, content=body, request=request)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """The (decoded) body, read chunk by chunk; ``_TooLarge`` once it passes the cap."""
        cap = self.limits.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _TooLarge(response.status_code)
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise _TooLarge(response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, status_code: int, call: Call) -> PermanentError | OutcomeUnknown:
        message = (
            f"{self.provider} {call.operation}: HTTP {status_code}: the answer was larger than "
            f"{self.limits.max_response_bytes} bytes (--max-response-bytes); it was not read"
        )
        if call.acts or not call.idempotent:
            return OutcomeUnknown(f"{message}, so whether the provider acted is unknown")
        return ResponseTooLarge(message, status_code=status_code)

    def _network_failure(self, exc: Exception, call: Call) -> ProviderUnavailable | OutcomeUnknown:
        """Classify a transport error or a missed deadline: retryable, or unsafe to re-send."""
        if isinstance(exc, TimeoutError):
            message = (
                f"{self.provider} {call.operation}: no complete answer within {self.limits.deadline:g} s "
                "(--provider-call-timeout)"
            )
        else:
            message = f"{self.provider} {call.operation}: {type(exc).__name__} talking to the provider"
        if not (isinstance(exc, _NOT_SENT) or call.idempotent):
            return OutcomeUnknown(f"{message}; the request may have reached it")
        kind = ProviderTimedOut if isinstance(exc, TimeoutError) else ProviderUnavailable
        return kind(message, maybe_acted=call.acts and not isinstance(exc, _NOT_SENT))

    def _http_failure(self, response: httpx.Response, call: Call) -> Exception:
        """Classify a non-2xx answer: a ``ProviderUnavailable`` may be retried, nothing else."""
        code, operation, describe, secrets = response.status_code, call.operation, call.describe, call.secrets
        # Redact the whole body before any describe function shortens it: a secret cut in half
        # by a shortened text would no longer match, and its first part would survive.
        response = redacted(response, secrets)
        try:
            detail = redact(describe(response), secrets)
        except Exception:  # a describe function must never hide the real failure
            detail = describe_plain(response)
        message = f"{self.provider} {operation}: HTTP {code}: {detail}"
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if code == 429 or (code >= 500 and call.idempotent):
            acted = call.acts and code >= 500
            return ProviderUnavailable(message, retry_after=retry_after, maybe_acted=acted)
        if code >= 500:
            return OutcomeUnknown(f"{message}; the provider may have acted")
        if code in (401, 403):
            return CredentialsInvalid(message)
        return ProviderRejected(message, status_code=code)

    def _count(self, operation: str, code: str) -> None:
        metrics.PROVIDER_REQUESTS.labels(self.provider, operation, code).inc()

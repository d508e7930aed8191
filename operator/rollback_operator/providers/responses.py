"""Reading provider answers and naming endpoints: the helpers ``http.py`` and the adapters share.

``describe_plain`` (the fallback error text), ``redacted`` (a response with secret values replaced
before any text is taken from it), ``parse_retry_after``, ``decode_json`` (``MalformedResponse``
naming what was expected), ``header_safe`` (can a token go into a header as it is) and
``endpoint_key`` (one spelling per host and port, for target keys). ``http.py`` re-exports them.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import ipaddress
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from rollback_operator.errors import MalformedResponse, redact

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


Describe = Callable[[httpx.Response], str]


def describe_plain(response: httpx.Response) -> str:
    """Fallback error text: the start of the body, or the reason phrase."""
    text = response.text.strip()
    return text[:300] if text else response.reason_phrase


BODY_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})
"""Headers that describe the body as sent, not the rewritten one."""


def redacted(response: httpx.Response, secrets: Sequence[str]) -> httpx.Response:
    """``response`` with every secret value in its body replaced (the same response if none is)."""
    text = response.text
    clean = redact(text, secrets)
    if clean == text:
        return response
    kept = [(k, v) for k, v in response.headers.items() if k.lower() not in BODY_HEADERS]
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

"""Operator settings: the endpoint allow-list, the providers' CA bundle, timing, identity. Built once
by the CLI.

The allow-list protects credentials: a spec may name any URL, but the operator sends a request
(and with it a Secret's value) only to URLs that match an allowed prefix. ``endpoint_allowed``
(from ``urls.py``, importable here) decides, with the parser the HTTP client uses.
"""

from __future__ import annotations

import functools
import os
import random
import socket
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rollback_operator.urls import endpoint_allowed as endpoint_allowed  # the reconciler imports it here

DEFAULT_ALLOWED_ENDPOINTS = (
    "https://*.console.facets.cloud",
    "https://api.builtfast.com",
    "https://serverless-containers.api.cloud.yandex.net",
    "https://operation.api.cloud.yandex.net",
    "https://iam.api.cloud.yandex.net",
)
ENV_ALLOWED_ENDPOINTS = "ROLLBACK_OPERATOR_ALLOWED_ENDPOINTS"
ENV_CA_BUNDLE = "ROLLBACK_OPERATOR_CA_BUNDLE"


def allowed_endpoints(extra: Iterable[str] = (), *, environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """The default allow-list plus entries from the environment variable and the CLI flag."""
    env = (environ if environ is not None else dict(os.environ)).get(ENV_ALLOWED_ENDPOINTS, "")
    added = [e.strip() for e in env.split(",") if e.strip()] + [e.strip() for e in extra if e.strip()]
    return DEFAULT_ALLOWED_ENDPOINTS + tuple(added)


def provider_tls(*, environ: dict[str, str] | None = None) -> ssl.SSLContext:
    """How provider calls verify TLS: the public CAs httpx trusts (certifi), plus every certificate in
    the PEM file named by ``$ROLLBACK_OPERATOR_CA_BUNDLE`` (a private CA, a corporate TLS proxy).

    A named file that is missing or holds no certificate raises (``OSError``, ``ssl.SSLError``): the
    CLI calls this at startup, so a wrong path stops the operator instead of failing every request.
    One context per bundle, shared by every provider client (each costs about 0.7 MiB).
    """
    return _tls((environ if environ is not None else os.environ).get(ENV_CA_BUNDLE, ""))


@functools.lru_cache(maxsize=4)
def _tls(bundle: str) -> ssl.SSLContext:
    import certifi  # httpx's own dependency and default trust store

    context = ssl.create_default_context(cafile=certifi.where())
    if bundle:
        context.load_verify_locations(cafile=bundle)
    return context


def default_identity() -> str:
    """This operator instance's name in claims: host, pid and a random suffix (unique per process)."""
    return f"{socket.gethostname()}/{os.getpid()}/{random.randrange(16**6):06x}"


@dataclass(frozen=True)
class Timing:
    """How patiently the reconciler waits; tests shorten these."""

    claim_grace: float = 30.0
    """A claim without a handle, held by another instance, is recovered only after this many seconds;
    the claimant sends its trigger only within the first half of it."""
    settle: float = 3.0
    """After an ambiguous trigger by this process, wait this long before asking the provider."""
    poll_initial: float = 1.0
    poll_max: float = 15.0
    retry_initial: float = 1.0
    retry_max: float = 30.0
    queue_recheck: float = 5.0
    """How often a waiting request re-checks its turn even without a wake-up."""
    secret_cache: float = 5.0
    """A Secret read is reused by other calls for this long (0: every provider call reads it)."""
    provider_call_timeout: float = 30.0
    """One HTTP request to a provider may take this long in all (connect, send, read the whole
    body), however slowly the provider answers; then it counts as a timeout and is retried."""


@dataclass(frozen=True)
class Settings:
    """Everything the reconciler needs to know about this operator instance."""

    identity: str = field(default_factory=default_identity)
    allowed: tuple[str, ...] = DEFAULT_ALLOWED_ENDPOINTS
    timing: Timing = field(default_factory=Timing)
    ready_address: str = "0.0.0.0"  # noqa: S104 - probes come from the kubelet, off the Pod
    ready_port: int = 8081
    """Where ``/readyz`` is served (0: not served)."""
    record_retention: float = 90 * 86400.0
    """Seconds a RollbackRecord is kept after its last moment; then the operator deletes it."""
    allow_self_approval: bool = False
    """Whether a request's own requester may approve it."""
    max_response_bytes: int = 4 * 1024 * 1024
    """A provider answer larger than this is not read: the call fails (``ProviderRejected``)."""
    max_concurrent: int = 200
    """Requests actively resolved, triggered or polled at once (the others wait their turn unwritten:
    no phase yet, which ``kubectl rollback`` shows as Pending)."""


def backoff(
    initial: float, maximum: float, factor: float = 1.6, *, full_jitter: bool = False
) -> Iterator[float]:
    """Delays growing by ``factor`` up to ``maximum``, each jittered by ±20% (or, with
    ``full_jitter``, drawn between 0 and the delay). The one backoff of the operator: the
    reconciler's retries and polls, and ``providers/http.py``'s ``RetryPolicy``."""
    delay = initial
    while True:
        yield random.uniform(0, delay) if full_jitter else delay * random.uniform(0.8, 1.2)
        delay = min(maximum, delay * factor)

"""The contract every provider adapter fulfils, and the value types that cross it.

One adapter object per provider lives for the whole operator process and owns one
``httpx.AsyncClient``; each call receives the request's provider block (a model from
``models.py``) and its credentials, so adapters hold no per-request state.

What each call may do at the provider:

==============  ===========  =============================================================
call            writes?      notes
==============  ===========  =============================================================
``resolve``     no           read-only; safe to repeat at any time
``trigger``     YES, once    the only call that starts a rollback. The reconciler calls it
                             only after a durable claim. Network errors before the request
                             could have been sent, and 429, are retried inside; anything
                             after the request may have reached the provider raises
                             ``OutcomeUnknown`` and is never retried blindly.
``recover``     at most the  after a crash between claim and record: Yandex re-sends with
                same trigger the same ``Idempotency-Key`` (the provider deduplicates);
                             Vector and Facets only read and answer.
``poll``        no           read-only.
==============  ===========  =============================================================

Errors that escape: only ``rollback_operator.errors`` types. httpx exceptions never leave an
adapter (``providers/http.py`` translates them, chaining the cause), and no message carries a
credential value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Generic, Protocol, TypeVar

import httpx

from rollback_operator.models import (
    FacetsProvider,
    ProviderName,
    Target,
    VectorProvider,
    YandexServerlessContainerProvider,
)
from rollback_operator.providers.http import DEFAULT_TIMEOUT, CallLimits, ProviderHTTP, RetryPolicy
from rollback_operator.status_models import OperationState
from rollback_operator.text import printable

SpecT = TypeVar("SpecT", FacetsProvider, VectorProvider, YandexServerlessContainerProvider)
SpecT_contra = TypeVar(
    "SpecT_contra",
    FacetsProvider,
    VectorProvider,
    YandexServerlessContainerProvider,
    contravariant=True,
)


@dataclass(frozen=True, repr=False)
class Credentials:
    """Secret values for one call. ``repr`` and ``str`` never show them."""

    values: Mapping[str, str]

    def __repr__(self) -> str:
        return f"Credentials(keys={sorted(self.values)})"

    __str__ = __repr__

    def secrets(self) -> list[str]:
        """Every value, for redaction of anything that might echo them."""
        return list(self.values.values())


class _EscapesText:
    """Provider text on its way to status and Events: control characters escaped once, on creation."""

    _text: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self._text:
            object.__setattr__(self, name, printable(getattr(self, name)))


@dataclass(frozen=True)
class Version(_EscapesText):
    """One entry of a resource's history, as the provider names it."""

    _text = ("label",)

    id: str
    created_at: datetime | None = None
    label: str = ""
    """A short human description (image tag, status, description) for the resolution line."""


@dataclass(frozen=True)
class Resolution(_EscapesText):
    """The outcome of ``resolve``: which version is live, where to go, and why."""

    _text = ("explanation",)

    current: str
    """The live version id."""
    target: str
    """The version to roll back to (may equal ``current``: then there is nothing to do)."""
    explanation: str
    """One line for ``status.resolution``, e.g. "stepsBack=1: newest of 4 earlier versions"."""
    watermark: str | None = None
    """The newest history entry seen (Vector: newest deployment id); ``recover`` looks past it."""
    candidates: tuple[Version, ...] = field(default=())
    """The earlier versions that were eligible, newest first."""

    @property
    def already_at_target(self) -> bool:
        """True when the live version is already the target."""
        return self.current == self.target


@dataclass(frozen=True)
class Handle(_EscapesText):
    """The provider's handle on the started rollback, recorded as ``status.operation.id``."""

    _text = ("message",)

    id: str
    message: str = ""


class RecoveryState(StrEnum):
    """What ``recover`` found out about a rollback whose outcome was not recorded."""

    TRIGGERED = "triggered"
    NOT_TRIGGERED = "not_triggered"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Recovery(_EscapesText):
    """``recover``'s answer: triggered (with the handle), not triggered, or cannot tell (why)."""

    _text = ("message",)

    state: RecoveryState
    handle: Handle | None = None
    message: str = ""


@dataclass(frozen=True)
class Progress(_EscapesText):
    """One observation of the provider operation."""

    _text = ("message",)

    state: OperationState
    message: str = ""


class Provider(Protocol, Generic[SpecT_contra]):
    """A rollback-capable provider API. See the module docstring for what each call may do."""

    name: ClassVar[ProviderName]
    """The spec key: facets, vector or yandexServerlessContainer."""
    credential_keys: ClassVar[tuple[str, ...]]
    """Secret keys this provider reads (any one suffices where alternatives exist)."""

    def target_key(self, spec: SpecT_contra) -> str:
        """What at most one in-flight request may roll back at a time (a stable string)."""
        ...

    def endpoints(self, spec: SpecT_contra) -> list[str]:
        """Every base URL a call may reach, checked against the allow-list before any call."""
        ...

    def credentials(self, secret_data: Mapping[str, str]) -> Credentials:
        """Pick this provider's keys from decoded Secret data.

        Raises ``CredentialsMissing`` when a needed key is absent and ``CredentialsInvalid``
        when a value cannot be used (e.g. a service-account key that is not JSON).
        """
        ...

    async def resolve(self, spec: SpecT_contra, creds: Credentials, target: Target) -> Resolution:
        """Find the live version and the target; read-only. ``TargetNotFound`` if none fits."""
        ...

    async def trigger(
        self, spec: SpecT_contra, creds: Credentials, resolution: Resolution, idempotency_key: str
    ) -> Handle:
        """Start the rollback to ``resolution.target``; at most one request reaches the provider."""
        ...

    async def recover(
        self, spec: SpecT_contra, creds: Credentials, resolution: Resolution, idempotency_key: str
    ) -> Recovery:
        """Decide whether an unrecorded trigger reached the provider (see the module docstring)."""
        ...

    async def poll(self, spec: SpecT_contra, creds: Credentials, handle: Handle) -> Progress:
        """Observe the operation behind ``handle``; read-only."""
        ...

    async def aclose(self) -> None:
        """Close the adapter's HTTP client."""
        ...


class HTTPAdapter:
    """What the three adapters share: one ``ProviderHTTP`` client, paging bounds, closing it.

    ``page_size`` (entries per list request) and ``max_pages`` (after which resolving stops, so
    a huge history cannot keep it busy) default to each provider's class values.
    """

    name: ClassVar[ProviderName]
    default_page_size: ClassVar[int]
    default_max_pages: ClassVar[int]

    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        limits: CallLimits | None = None,
        page_size: int | None = None,
        max_pages: int | None = None,
    ) -> None:
        self.http = ProviderHTTP(
            provider=self.name, transport=transport, timeout=timeout, retry=retry, limits=limits
        )
        self.page_size = page_size or self.default_page_size
        self.max_pages = max_pages or self.default_max_pages

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

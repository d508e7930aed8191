"""The provider registry: the one place that knows every adapter.

``Registry`` holds one long-lived adapter per provider and hands the reconciler the adapter and
the provider block for a request's spec. Adapters are built once at operator startup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from rollback_operator.config import Settings
from rollback_operator.models import ProviderName, ProviderSpec
from rollback_operator.providers.base import Provider
from rollback_operator.providers.http import CallLimits, RetryPolicy


def adapter_classes() -> dict[ProviderName, Any]:
    """Every adapter class by provider name (imported here so one module's import error stays local)."""
    from rollback_operator.providers.facets import FacetsAdapter
    from rollback_operator.providers.vector import VectorAdapter
    from rollback_operator.providers.yandex import YandexAdapter

    return {cls.name: cls for cls in (FacetsAdapter, VectorAdapter, YandexAdapter)}


def call_limits(settings: Settings) -> CallLimits:
    """The bounds on every provider call that ``settings`` asks for."""
    return CallLimits(
        deadline=settings.timing.provider_call_timeout, max_response_bytes=settings.max_response_bytes
    )


@dataclass
class Registry:
    """One adapter per provider name."""

    adapters: Mapping[ProviderName, Provider[Any]]

    @classmethod
    def build(
        cls,
        *,
        settings: Settings | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Registry:
        """Build every adapter with the same retry policy, the call limits of ``settings``
        (``--provider-call-timeout``, ``--max-response-bytes``) and, in tests, a transport."""
        limits = call_limits(settings or Settings())
        return cls(
            {
                name: adapter(retry=retry, transport=transport, limits=limits)
                for name, adapter in adapter_classes().items()
            }
        )

    def for_spec(self, spec: ProviderSpec) -> tuple[Provider[Any], Any]:
        """The adapter for this provider block, and the block itself."""
        return self.adapters[spec.name], spec.selected

    async def aclose(self) -> None:
        """Close every adapter's HTTP client."""
        for adapter in self.adapters.values():
            await adapter.aclose()

"""The provider registry: the one place that knows every adapter.

``Registry`` holds one long-lived adapter per provider and hands the reconciler the adapter and
the provider block for a request's spec. Adapters are built once at operator startup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from rollback_operator.models import ProviderSpec
from rollback_operator.providers.base import Provider
from rollback_operator.providers.http import RetryPolicy


def adapter_classes() -> dict[str, Any]:
    """Every adapter class by provider name (imported here so one module's import error stays local)."""
    from rollback_operator.providers.facets import FacetsAdapter
    from rollback_operator.providers.vector import VectorAdapter
    from rollback_operator.providers.yandex import YandexAdapter

    return {cls.name: cls for cls in (FacetsAdapter, VectorAdapter, YandexAdapter)}


@dataclass
class Registry:
    """One adapter per provider name."""

    adapters: Mapping[str, Provider[Any]]

    @classmethod
    def build(
        cls,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Registry:
        """Build every adapter with the same retry policy (and transport, in tests)."""
        return cls(
            {name: adapter(retry=retry, transport=transport) for name, adapter in adapter_classes().items()}
        )

    def for_spec(self, spec: ProviderSpec) -> tuple[Provider[Any], Any]:
        """The adapter for this provider block, and the block itself."""
        return self.adapters[spec.name], spec.selected

    async def aclose(self) -> None:
        """Close every adapter's HTTP client."""
        for adapter in self.adapters.values():
            await adapter.aclose()

"""The Kubernetes port: what the reconciler needs of the API server, and the clock it reads.

``Kube`` is a protocol so that the reconciler never imports a Kubernetes client: ``kube.KubeAPI``
implements it in production, ``tests/support/memory.py`` in memory for unit tests. Every call
raises the operator's own errors (``errors.Conflict``, ``errors.Gone``,
``errors.KubernetesUnavailable``). Used by ``reconcile/`` and implemented by ``kube.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def utcnow() -> datetime:
    """Now, in UTC, to the second (Kubernetes timestamps carry no fractions)."""
    return datetime.now(UTC).replace(microsecond=0)


class Kube(Protocol):
    """What the reconciler needs of the Kubernetes API (``kube.KubeAPI`` in production)."""

    def get(self, namespace: str, name: str) -> Awaitable[dict[str, Any]]: ...

    def patch_status(
        self, namespace: str, name: str, status: Mapping[str, Any], *, resource_version: str | None = None
    ) -> Awaitable[dict[str, Any]]: ...

    def read_secret(self, namespace: str, name: str) -> Awaitable[dict[str, str] | None]: ...

    def post_event(
        self, obj: Mapping[str, Any], *, type_: str, reason: str, message: str
    ) -> Awaitable[None]: ...

    def get_record(self, name: str, *, cached: bool = False) -> Awaitable[dict[str, Any] | None]:
        """The RollbackRecord ``name``, or None when there is none (``cached``: may be a moment old)."""
        ...

    def create_record(self, body: Mapping[str, Any]) -> Awaitable[dict[str, Any]]:
        """Create a RollbackRecord; ``Conflict`` when one of that name exists already."""
        ...

    def patch_record(
        self, name: str, patch: Mapping[str, Any], *, resource_version: str | None = None
    ) -> Awaitable[dict[str, Any]]:
        """Merge ``patch`` into the record; guarded by ``resource_version`` when given."""
        ...

    def list_approvals(self, namespace: str) -> Awaitable[list[dict[str, Any]]]:
        """The RollbackApprovals of ``namespace``."""
        ...

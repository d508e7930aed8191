"""A minimal RollbackRequest as the reconciler's unit tests see it (a Vector target, one Secret)."""

from __future__ import annotations

from typing import Any

from rollback_operator.jobs import Job
from rollback_operator.status import Request, StatusWriter


def request(uid: str = "u", **spec: Any) -> Request:
    """A parsed request named ns/r with ``uid``; ``spec`` adds or overrides spec fields."""
    body = {
        "metadata": {
            "name": "r",
            "namespace": "ns",
            "uid": uid,
            "resourceVersion": "1",
            "creationTimestamp": "2026-11-22T10:00:00Z",
        },
        "spec": {
            "reason": "x",
            "provider": {"vector": {"environmentId": "e"}},
            "credentialsSecretRef": {"name": "s"},
            **spec,
        },
    }
    return Request.parse(body)


def job(adapter: Any = None, *, spec: dict[str, Any] | None = None, **fields: Any) -> Job:
    """A job over ``request(**spec)`` whose writer is never used (``fields``: e.g. ``turn_at``)."""
    writer = StatusWriter(kube=None, request=request(**(spec or {})))  # type: ignore[arg-type]
    return Job(writer, adapter=adapter, block=None, **fields)

"""The request the reconciler's unit tests use: ``tests.support.memory.fresh()``, parsed."""

from __future__ import annotations

from typing import Any

from rollback_operator.jobs import Job
from rollback_operator.status import Request, StatusWriter
from tests.support.memory import fresh


def request(uid: str = "0b7f", **spec: Any) -> Request:
    """The parsed request with ``uid``; ``spec`` adds or overrides spec fields."""
    return Request.parse(fresh(uid=uid, **spec))


def job(adapter: Any = None, *, spec: dict[str, Any] | None = None, **fields: Any) -> Job:
    """A job over ``request(**spec)`` whose writer is never used (``fields``: e.g. ``turn_at``)."""
    writer = StatusWriter(kube=None, request=request(**(spec or {})))  # type: ignore[arg-type]
    return Job(writer, adapter=adapter, block=None, **fields)

"""The request the reconciler's unit tests use (``tests.support.memory.fresh()``, parsed), and the
pieces to run reconcile steps over it with time that passes only while the operator waits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rollback_operator.config import Timing
from rollback_operator.reconcile.calls import Calls
from rollback_operator.reconcile.job import Job, Request
from rollback_operator.reconcile.records import Records
from rollback_operator.reconcile.status import StatusWriter
from tests.support.memory import fresh

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def request(uid: str = "0b7f", **spec: Any) -> Request:
    """The parsed request with ``uid``; ``spec`` adds or overrides spec fields."""
    return Request.parse(fresh(uid=uid, **spec))


def job(adapter: Any = None, *, spec: dict[str, Any] | None = None, **fields: Any) -> Job:
    """A job over ``request(**spec)`` whose writer is never used (``fields``: e.g. ``turn_at``)."""
    writer = StatusWriter(kube=None, request=request(**(spec or {})))  # type: ignore[arg-type]
    return Job(writer, adapter=adapter, block=None, **fields)


@dataclass
class Clockwork:
    """A clock that moves only when the operator sleeps; every pause is remembered."""

    now: datetime = START
    pauses: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += timedelta(seconds=seconds)


def calls(kube: Any = None, *, timing: Timing | None = None, clock: Clockwork | None = None) -> Calls:
    """``Calls`` over ``kube`` whose time is ``clock`` (a fresh ``Clockwork`` by default)."""
    clock = clock or Clockwork()
    return Calls(kube, timing or Timing(), clock, Records(kube, clock, "me"), clock.sleep)


def on_kube(kube: Any, clock: Clockwork) -> Job:
    """A job over ``kube``'s object, written through ``kube``, at ``clock``'s time."""
    return Job(StatusWriter(kube, Request.parse(kube.body), clock=clock), adapter=None, block=None)

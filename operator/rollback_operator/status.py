"""A request as the reconciler sees it, and the one writer of its status and Events.

``Request`` wraps the latest object body with its parsed spec and status. ``StatusWriter`` turns
a ``Situation`` plus facts into a status merge-patch: it renders the five conditions, sets
``observedGeneration``, ``startedAt``/``completedAt``, skips writes that would change nothing,
guards the write with ``resourceVersion`` (the claim, and every write before a claim), and posts
(and logs) an Event when the phase or the Ready reason changes. Used only by ``reconciler.py``.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from rollback_operator import conditions, metrics
from rollback_operator.conditions import Reason, Situation
from rollback_operator.models import Phase, RollbackRequestSpec, RollbackRequestStatus

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


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


@dataclass
class Request:
    """The latest body of one RollbackRequest with its spec and status parsed."""

    body: dict[str, Any]
    spec: RollbackRequestSpec
    status: RollbackRequestStatus

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Request:
        """Parse ``body``; raises pydantic's ValidationError for a spec the models reject."""
        spec = RollbackRequestSpec.model_validate(body.get("spec") or {})
        status = RollbackRequestStatus.model_validate(body.get("status") or {})
        return cls(body, spec, status)

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def uid(self) -> str:
        return str(self.body["metadata"]["uid"])

    @property
    def resource_version(self) -> str:
        return str(self.body["metadata"]["resourceVersion"])

    @property
    def generation(self) -> int | None:
        value = self.body["metadata"].get("generation")
        return int(value) if value is not None else None

    @property
    def created(self) -> datetime:
        stamp = str(self.body["metadata"]["creationTimestamp"])
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))

    @property
    def idempotency_key(self) -> str:
        """A UUID (version-4 format) derived from the uid: stable across restarts of the operator."""
        digest = hashlib.sha256(self.uid.encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))


QUIET_REASONS = frozenset({Reason.CLAIMED})
"""Transitions without an Event: the claim is bookkeeping, followed at once by the trigger's Event."""


def _event_type(phase: Phase, reason: str) -> str:
    warning = phase in (Phase.FAILED, Phase.UNKNOWN) or reason.startswith("Credentials")
    return "Warning" if warning else "Normal"


class StatusWriter:
    """Writes one request's status, only when it changes, and the Events that go with it."""

    def __init__(self, kube: Kube, request: Request, *, clock: Clock = utcnow) -> None:
        self.kube = kube
        self.request = request
        self.clock = clock

    async def write(
        self, situation: Situation, *, guard: bool = False, passed: Sequence[Situation] = (), **facts: Any
    ) -> Request:
        """Apply ``situation`` and ``facts`` (status fields, snake_case); returns the updated request.

        ``passed`` are situations the request went through since the last write without a write
        of their own (a trigger whose rollback was finished at the first look): each gets its
        Event, in order, before this one's.

        The patch is guarded by the ``resourceVersion`` last read (``Conflict`` if the object changed
        since) when ``guard`` is set (the claim) and whenever the request is not claimed yet: a run
        that holds no claim may be working from a stale read, and must not overwrite the state of a
        run that does. Once claimed, the claimant's writes need no guard.
        """
        old = self.request.status
        guard = guard or old.operation is None or old.operation.claimed_at is None
        now = self.clock()
        new = old.model_copy(deep=True)
        for key, value in facts.items():
            setattr(new, key, value)
        new.phase = situation.phase
        new.message = situation.message
        new.observed_generation = self.request.generation
        new.provider = self.request.spec.provider.name  # type: ignore[assignment]
        new.started_at = old.started_at or now
        new.completed_at = now if situation.terminal else None
        new.conditions = conditions.render(
            situation, previous=old.conditions, generation=self.request.generation, now=now
        )
        if _same(old, new):  # nothing to write, and so nothing to guard
            return self.request
        body = await self.kube.patch_status(
            self.request.namespace,
            self.request.name,
            new.model_dump(mode="json", by_alias=True, exclude_none=True),
            resource_version=self.request.resource_version if guard else None,
        )
        self.request = Request(body, self.request.spec, new)
        for step in passed:
            await self._announce(old, step)
        changed = old.phase != new.phase or _reasons(old) != _reasons(new)
        if changed and situation.reason not in QUIET_REASONS:
            await self._announce(old, situation)
        return self.request

    async def _announce(self, old: RollbackRequestStatus, situation: Situation) -> None:
        """Post an Event for a transition, and count metrics when it is the last one."""
        message = situation.message
        if situation.reason == Reason.ROLLBACK_TRIGGERED:
            message = f"{message}; reason: {self.request.spec.reason}"
        log.info("%s/%s: %s: %s", self.request.namespace, self.request.name, situation.reason, message)
        await self.kube.post_event(
            self.request.body,
            type_=_event_type(situation.phase, situation.reason),
            reason=situation.reason,
            message=message,
        )
        if situation.terminal:
            provider = self.request.spec.provider.name
            metrics.REQUESTS.labels(provider, situation.reason).inc()
            elapsed = (self.clock() - (old.started_at or self.request.created)).total_seconds()
            metrics.DURATION.labels(provider).observe(max(0.0, elapsed))


def _reasons(status: RollbackRequestStatus) -> list[tuple[str, str]]:
    return [(c.type, c.reason) for c in status.conditions]


def _same(old: RollbackRequestStatus, new: RollbackRequestStatus) -> bool:
    """Equal once the timestamps that only move with real changes are ignored."""
    ignore = {"conditions", "completed_at"}
    if old.model_dump(exclude=ignore) != new.model_dump(exclude=ignore):
        return False
    strip = {"last_transition_time"}
    return [c.model_dump(exclude=strip) for c in old.conditions] == [
        c.model_dump(exclude=strip) for c in new.conditions
    ]

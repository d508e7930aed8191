"""The one writer of a request's status and Events.

``StatusWriter`` turns a ``Situation`` plus facts into a status merge-patch: it renders the
conditions, sets ``observedGeneration``, ``requestedBy``, ``startedAt``/``completedAt``, skips
writes that would change nothing, guards the write with ``resourceVersion`` while the run holds no
claim (every write before a claim), and posts (and logs) an Event when the phase or the Ready reason
changes. ``write_invalid`` is the write for a spec the models refuse, which has no parsed request.
Used by every module of ``reconcile/``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from rollback_operator import conditions, metrics
from rollback_operator.conditions import Reason, Situation
from rollback_operator.messages import CHECK_PROVIDER
from rollback_operator.port import Clock, Kube, utcnow
from rollback_operator.reconcile.job import Request
from rollback_operator.status_models import TERMINAL_PHASES, Phase, RollbackRequestStatus
from rollback_operator.text import printable

log = logging.getLogger(__name__)

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
        since) when ``guard`` is set and whenever the run holds no claim: a run that holds no claim
        may be working from a stale read, and must not overwrite the state of a run that does.
        """
        situation = replace(situation, message=printable(situation.message))  # ids and texts from afar
        old = self.request.status
        guard = guard or old.operation is None or old.operation.claimed_at is None
        now = self.clock()
        new = old.model_copy(deep=True)
        for key, value in facts.items():
            setattr(new, key, value)
        new.phase = situation.phase
        new.message = situation.message
        new.observed_generation = self.request.generation
        new.provider = self.request.spec.provider.name
        new.requested_by = self.request.requested_by
        new.started_at = old.started_at or now
        new.completed_at = now if situation.terminal else None
        new.conditions = conditions.render(
            situation,
            previous=old.conditions,
            generation=self.request.generation,
            now=now,
            approval=self.request.spec.approval_required,
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
            approved = self.request.status.approved_by
            who = f"requested by {self.request.requested_by}" + (
                f", approved by {approved}" if approved else ""
            )
            message = f"{message}; {who}; reason: {self.request.spec.reason}"
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


def invalid_situation(body: dict[str, Any], exc: ValidationError) -> Situation:
    """What a spec the models refuse ends as: Failed, or Unknown when it was claimed already."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
    if ((body.get("status") or {}).get("operation") or {}).get("claimedAt"):  # rules tightened since
        message = (
            f"the spec no longer passes the operator's checks ({problems}), so it cannot follow "
            f"this request, whose rollback may have been sent. {CHECK_PROVIDER}"
        )
        return Situation(Phase.UNKNOWN, Reason.OUTCOME_UNKNOWN, message)
    return Situation(Phase.FAILED, Reason.INVALID_SPEC, f"the spec is invalid: {problems}")


async def write_invalid(kube: Kube, body: dict[str, Any], exc: ValidationError, *, clock: Clock) -> None:
    """Fail a request whose spec the models refuse (e.g. created before the CRD validated it)."""
    status = body.get("status") or {}
    if status.get("phase") in TERMINAL_PHASES:
        return
    situation = invalid_situation(body, exc)
    meta, now = body["metadata"], clock()
    rendered = conditions.render(situation, previous=[], generation=meta.get("generation"), now=now)
    stamp = now.isoformat().replace("+00:00", "Z")
    patch = {
        "observedGeneration": meta.get("generation"),  # else kstatus reads it as still in progress
        "phase": situation.phase.value,
        "message": situation.message,
        "startedAt": status.get("startedAt") or stamp,
        "completedAt": stamp,
        "conditions": [c.model_dump(mode="json", by_alias=True) for c in rendered],
    }
    await kube.patch_status(meta["namespace"], meta["name"], patch)
    await kube.post_event(body, type_="Warning", reason=situation.reason, message=situation.message)

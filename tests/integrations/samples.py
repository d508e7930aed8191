"""RollbackRequest objects whose status the operator's own StatusWriter wrote, for health-check tests.

``written(*steps)`` hands each ``(Situation, facts)`` step to the real ``status.StatusWriter`` (which
renders the conditions with ``conditions.render``) over an in-memory object, and returns the object
as the API server would then serve it. ``SITUATIONS`` names one sample of every phase and of every
way a request ends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rollback_operator.conditions import Reason, Situation
from rollback_operator.reconcile.job import Request
from rollback_operator.reconcile.status import StatusWriter
from rollback_operator.status_models import Operation, OperationState, Phase
from tests.support.memory import MemoryKube, fresh

Step = tuple[Situation, dict[str, Any]]
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


async def written(*steps: Step, generation: int = 1) -> dict[str, Any]:
    """The object after the operator's StatusWriter wrote each step in turn."""
    memory = MemoryKube(fresh(generation))
    writer = StatusWriter(memory, Request.parse(memory.body), clock=lambda: NOW)
    for situation, facts in steps:
        await writer.write(situation, **facts)
    return memory.body


RESOLVED = {
    "current_version": "d5",
    "target_version": "d4",
    "resolution": "stepsBack=1: newest of 3 earlier versions",
}
CLAIMED = {**RESOLVED, "operation": Operation(idempotency_key="k", claimed_at=NOW, claimed_by="op-1")}
TRIGGERED = {
    "operation": Operation(
        idempotency_key="k", claimed_at=NOW, id="d6", triggered_at=NOW, state=OperationState.RUNNING
    )
}


def _s(phase: Phase, reason: str, message: str, triggered: bool = False) -> Situation:
    return Situation(phase, reason, message, triggered=triggered)


CLAIM = (_s(Phase.IN_PROGRESS, Reason.CLAIMED, "rolling back from d5 to d4"), CLAIMED)
TRIGGER = (_s(Phase.IN_PROGRESS, Reason.ROLLBACK_TRIGGERED, "rollback to d4 triggered (d6)", True), TRIGGERED)

SITUATIONS: dict[str, tuple[Step, ...]] = {
    "Waiting": ((_s(Phase.WAITING, Reason.WAITING_FOR_TARGET, "waiting for payments/older to finish"), {}),),
    "Resolving (credentials missing)": (
        (_s(Phase.RESOLVING, "CredentialsMissing", "Secret payments/x does not exist (yet); retrying"), {}),
    ),
    "Pending": ((_s(Phase.PENDING, Reason.PENDING, "queued"), {}),),
    "InProgress (claimed)": (CLAIM,),
    "InProgress (triggered)": (CLAIM, TRIGGER),
    "Succeeded": (CLAIM, TRIGGER, (_s(Phase.SUCCEEDED, Reason.ROLLBACK_SUCCEEDED, "rolled back to d4"), {})),
    "Succeeded (dry run)": (
        (_s(Phase.SUCCEEDED, Reason.DRY_RUN_SUCCEEDED, "dry run: would roll back"), RESOLVED),
    ),
    "Succeeded (already at target)": (
        (_s(Phase.SUCCEEDED, Reason.ALREADY_AT_TARGET, "d4 is already live"), {}),
    ),
    "Failed (target not found)": (
        (_s(Phase.FAILED, "TargetNotFound", "no version d9 among 3 candidates"), {}),
    ),
    "Failed (provider failed the rollback)": (
        CLAIM,
        TRIGGER,
        (
            _s(Phase.FAILED, Reason.ROLLBACK_FAILED, "the provider reports the rollback failed: boom", True),
            {},
        ),
    ),
    "Failed (timed out)": (
        CLAIM,
        TRIGGER,
        (_s(Phase.FAILED, Reason.TIMED_OUT, "no terminal state within 600s", True), {}),
    ),
    "Unknown": (CLAIM, (_s(Phase.UNKNOWN, Reason.OUTCOME_UNKNOWN, "cannot tell whether it was sent"), {})),
    "AwaitingApproval": (
        (
            _s(Phase.AWAITING_APPROVAL, Reason.AWAITING_APPROVAL, "awaiting approval to roll back d5 to d4"),
            RESOLVED,
        ),
    ),
    "Succeeded (already executed)": (
        (_s(Phase.SUCCEEDED, Reason.ALREADY_EXECUTED, "already ran: RollbackRecord x"), RESOLVED),
    ),
    "Failed (already executed)": (
        (_s(Phase.FAILED, Reason.ALREADY_EXECUTED, "already ran and failed: RollbackRecord x"), RESOLVED),
    ),
    "Failed (expired)": ((_s(Phase.FAILED, Reason.EXPIRED, "spec.notAfter passed; nothing was sent"), {}),),
    "Failed (rejected)": (
        (_s(Phase.FAILED, Reason.REJECTED, "rejected by carol; nothing was sent"), RESOLVED),
    ),
    "Failed (plan changed)": (
        (_s(Phase.FAILED, Reason.PLAN_CHANGED, "the plan changed; nothing was sent"), RESOLVED),
    ),
}

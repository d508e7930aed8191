"""Condition types, reasons and the one table that maps a request's situation to its status.

The reconciler never builds conditions by hand: it names a ``Situation`` (phase + reason +
message) and ``render`` turns it into the full list of five conditions, keeping each condition's
``lastTransitionTime`` unless its status flips. kstatus (Flux), Argo CD and ``kubectl wait`` read
these: ``Ready`` is the summary, ``Reconciling`` is True while work remains, ``Stalled`` is True on
a terminal failure. Pure functions; used by the reconciler and its tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rollback_operator.status_models import Condition, ConditionStatus, Phase

RESOLVED, TRIGGERED, READY, RECONCILING, STALLED = "Resolved", "Triggered", "Ready", "Reconciling", "Stalled"
APPROVED = "Approved"
TYPES = (RESOLVED, TRIGGERED, READY, RECONCILING, STALLED)
"""The conditions of every request; ``Approved`` is added when the spec requires an approval."""

T, F, U = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN


class Reason:
    """Every CamelCase reason the operator writes."""

    PENDING = "Pending"
    RESOLVING = "Resolving"
    TARGET_RESOLVED = "TargetResolved"
    ALREADY_AT_TARGET = "AlreadyAtTarget"
    WAITING_FOR_TARGET = "WaitingForTarget"
    CLAIMED = "Claimed"
    ROLLBACK_TRIGGERED = "RollbackTriggered"
    DRY_RUN = "DryRun"
    DRY_RUN_SUCCEEDED = "DryRunSucceeded"
    OUTCOME_UNKNOWN = "OutcomeUnknown"
    IN_PROGRESS = "InProgress"
    ROLLBACK_SUCCEEDED = "RollbackSucceeded"
    ROLLBACK_FAILED = "RollbackFailed"
    TIMED_OUT = "TimedOut"
    INVALID_SPEC = "InvalidSpec"
    PROGRESSING = "Progressing"
    FINISHED = "Finished"
    NO_FAILURE = "NoFailure"
    ALREADY_EXECUTED = "AlreadyExecuted"
    EXPIRED = "Expired"
    AWAITING_APPROVAL = "AwaitingApproval"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    PLAN_CHANGED = "PlanChanged"


@dataclass(frozen=True)
class Situation:
    """Where a request stands: the phase, the reason that explains it, and a human message."""

    phase: Phase
    reason: str
    message: str
    triggered: bool = False
    """Whether the provider accepted the rollback (decides Resolved/Triggered after a failure)."""
    resolved: bool = False
    """Whether the target was known before a failure (keeps ``Resolved=True`` after it)."""
    approved: bool = False
    """Whether an approval of the plan was accepted (``Approved=True``)."""

    @property
    def terminal(self) -> bool:
        """Succeeded, Failed or Unknown."""
        return self.phase in (Phase.SUCCEEDED, Phase.FAILED, Phase.UNKNOWN)


Row = tuple[ConditionStatus, str]


def _rows(s: Situation) -> dict[str, Row]:
    """The (status, reason) of each condition type for a situation: the contract's table."""
    working = {RECONCILING: (T, Reason.PROGRESSING), STALLED: (F, Reason.NO_FAILURE)}
    finished = {RECONCILING: (F, Reason.FINISHED), STALLED: (F, Reason.NO_FAILURE)}
    match s.phase:
        case _ if s.reason == Reason.ALREADY_EXECUTED:
            return _already_executed(s)
        case Phase.IN_PROGRESS if s.reason == Reason.APPROVED:
            rows = {RESOLVED: (T, Reason.TARGET_RESOLVED), TRIGGERED: (F, Reason.PENDING)}
            return {**rows, READY: (F, Reason.IN_PROGRESS), **working}
        case Phase.AWAITING_APPROVAL:
            waiting = (F, Reason.AWAITING_APPROVAL)
            rows = {RESOLVED: (T, Reason.TARGET_RESOLVED), TRIGGERED: waiting, READY: waiting}
            return {**rows, RECONCILING: (T, Reason.AWAITING_APPROVAL), STALLED: (F, Reason.NO_FAILURE)}
        case Phase.PENDING | Phase.RESOLVING | Phase.WAITING:
            resolved = (F, s.reason) if s.reason != Reason.WAITING_FOR_TARGET else (U, s.reason)
            trig = (F, Reason.WAITING_FOR_TARGET if s.phase is Phase.WAITING else Reason.PENDING)
            return {RESOLVED: resolved, TRIGGERED: trig, READY: (F, Reason.IN_PROGRESS), **working}
        case Phase.IN_PROGRESS:
            trig = (T, Reason.ROLLBACK_TRIGGERED) if s.triggered else (U, Reason.CLAIMED)
            return {
                RESOLVED: (T, Reason.TARGET_RESOLVED),
                TRIGGERED: trig,
                READY: (F, Reason.IN_PROGRESS),
                **working,
            }
        case Phase.SUCCEEDED:
            return {**_succeeded(s), **finished}
        case Phase.UNKNOWN:
            unknown = (F, Reason.OUTCOME_UNKNOWN)
            stalled = {STALLED: (T, Reason.OUTCOME_UNKNOWN), RECONCILING: (F, Reason.FINISHED)}
            return {RESOLVED: (T, Reason.TARGET_RESOLVED), TRIGGERED: unknown, READY: unknown, **stalled}
        case _:
            return _failed(s)


def _succeeded(s: Situation) -> dict[str, Row]:
    if s.reason == Reason.DRY_RUN_SUCCEEDED:
        return {RESOLVED: (T, Reason.TARGET_RESOLVED), TRIGGERED: (F, Reason.DRY_RUN), READY: (T, s.reason)}
    if s.reason == Reason.ALREADY_AT_TARGET:
        return {RESOLVED: (T, s.reason), TRIGGERED: (F, s.reason), READY: (T, s.reason)}
    ok = (T, Reason.TARGET_RESOLVED)
    return {RESOLVED: ok, TRIGGERED: (T, Reason.ROLLBACK_TRIGGERED), READY: (T, Reason.ROLLBACK_SUCCEEDED)}


def _already_executed(s: Situation) -> dict[str, Row]:
    """A request whose identity ran before: the earlier run's outcome, under its own reason."""
    mirrored = (T if s.phase is Phase.SUCCEEDED else F, s.reason)
    stalled = (F, Reason.NO_FAILURE) if s.phase is Phase.SUCCEEDED else (T, s.reason)
    return {
        RESOLVED: (T, Reason.TARGET_RESOLVED),
        TRIGGERED: (F, s.reason),
        READY: mirrored,
        RECONCILING: (F, Reason.FINISHED),
        STALLED: stalled,
    }


def _approval(s: Situation, before: dict[str, Condition]) -> Row:
    """The ``Approved`` row: set by the approval steps, otherwise kept as it was."""
    if s.phase is Phase.AWAITING_APPROVAL:
        return (F, Reason.AWAITING_APPROVAL)
    if s.reason in (Reason.REJECTED, Reason.PLAN_CHANGED):
        return (F, s.reason)
    if s.approved:
        return (T, Reason.APPROVED)
    old = before.get(APPROVED)
    return (old.status, old.reason) if old is not None else (U, Reason.PENDING)


def _failed(s: Situation) -> dict[str, Row]:
    stalled = {STALLED: (T, s.reason), RECONCILING: (F, Reason.FINISHED)}
    if s.triggered:
        trig = (T, Reason.ROLLBACK_TRIGGERED)
        return {RESOLVED: (T, Reason.TARGET_RESOLVED), TRIGGERED: trig, READY: (F, s.reason), **stalled}
    if s.resolved:
        ok = (T, Reason.TARGET_RESOLVED)
        return {RESOLVED: ok, TRIGGERED: (F, s.reason), READY: (F, s.reason), **stalled}
    return {RESOLVED: (F, s.reason), TRIGGERED: (F, s.reason), READY: (F, s.reason), **stalled}


def render(
    situation: Situation,
    *,
    previous: Sequence[Condition],
    generation: int | None,
    now: datetime,
    approval: bool = False,
) -> list[Condition]:
    """All conditions for ``situation`` (five, six with ``approval``); ``lastTransitionTime`` moves
    only on a status flip."""
    before = {c.type: c for c in previous}
    rows = _rows(situation)
    if approval:
        rows[APPROVED] = _approval(situation, before)
    origin = next(
        (
            kind
            for kind in (RESOLVED, TRIGGERED, APPROVED)
            if kind in rows and rows[kind][1] == situation.reason
        ),
        None,
    )
    out = []
    for kind in (*TYPES, APPROVED) if approval else TYPES:
        status, reason = rows[kind]
        old = before.get(kind)
        since = old.last_transition_time if old is not None and old.status == status else now
        # The message sits on Ready, on Stalled when stalled, and where the reason originates.
        carries = kind in (READY, origin) or (kind == STALLED and status is T)
        message = situation.message if carries else ""
        out.append(
            Condition(
                type=kind,
                status=status,
                reason=reason,
                message=message,
                last_transition_time=since,
                observed_generation=generation,
            )
        )
    return out


def ready_reason(conditions: Sequence[Condition]) -> str | None:
    """The Ready condition's reason (the REASON printer column), if present."""
    return next((c.reason for c in conditions if c.type == READY), None)

"""The request's RollbackRecord: found before anything is resolved, created as the claim, completed
with the outcome.

The record's name is derived from the request's identity (``record.record_name``), so:
- ``find`` tells a new request whether its identity ran before (then nothing is sent again);
- ``claim`` creates it before the provider call: the API server lets exactly one create succeed,
  and a loser gets ``Conflict`` and re-reads (the claim is the fencing token, as the guarded status
  write was before records existed);
- ``renew`` moves the claim to this instance (a takeover after the grace period, or a renewal
  during a long pause), guarded by the record's ``resourceVersion``;
- ``complete`` writes what the provider answered and how it ended;
- ``mirror`` writes a finished record's outcome into a request of the same identity.
Used by ``calls.py`` (completion), ``actuate.py`` and ``run.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollback_operator.conditions import Reason, Situation
from rollback_operator.messages import RUN_AGAIN
from rollback_operator.models import GROUP, VERSION
from rollback_operator.port import Clock, Kube
from rollback_operator.providers.base import Resolution
from rollback_operator.reconcile.job import Job
from rollback_operator.recordnames import RecordNames
from rollback_operator.status_models import Operation

if TYPE_CHECKING:
    from rollback_operator.reconcile.calls import Calls
from rollback_operator.record import (
    LABEL_NAMESPACE,
    LABEL_PROVIDER,
    RECORD_KIND,
    Outcome,
    RecordSpec,
    RecordStatus,
    RequestRef,
    RollbackRecord,
    dump,
)


def _stamp(value: object) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if hasattr(value, "isoformat") else None


class Records:
    """Reads and writes the RollbackRecords of one operator instance (``me``)."""

    def __init__(self, kube: Kube, clock: Clock, me: str, *, names: RecordNames | None = None) -> None:
        self.kube, self.clock, self.me = kube, clock, me
        self.names = names
        """The records known to exist (``recordnames.py``): a look for a name it lacks is not made."""

    async def find(self, job: Job, *, cached: bool = False) -> RollbackRecord | None:
        """The record of the request's identity, if there is one.

        ``cached``: the answer may be a moment old: from ``names`` when it lacks the name, else from
        the API server's watch cache. Either can miss a record created a moment ago; harmless
        before a claim, whose create then fails with ``Conflict``.
        """
        name = job.req.record_name
        if cached and self.names is not None and self.names.absent(name):
            return None
        body = await self.kube.get_record(name, cached=cached)
        return RollbackRecord.parse(body) if body is not None else None

    async def claim(self, job: Job, resolution: Resolution, *, approved_by: str | None = None) -> None:
        """Create the record, holding the claim; ``Conflict`` when the identity has one already."""
        req = job.req
        spec = RecordSpec(
            request=RequestRef(namespace=req.namespace, name=req.name, uid=req.uid),
            request_ref=f"{req.namespace}/{req.name}",
            identity=req.identity,
            provider=req.spec.provider.name,
            target_key=job.target_key,
            requested_by=req.requested_by,
            approved_by=approved_by,
            from_version=resolution.current,
            to_version=resolution.target,
            resolution=resolution.explanation,
            idempotency_key=job.op.idempotency_key or req.idempotency_key,
            watermark=resolution.watermark,
        )
        status = RecordStatus(claimed_at=self.clock(), claimed_by=self.me)
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": RECORD_KIND,
            "metadata": {
                "name": req.record_name,
                "labels": {LABEL_NAMESPACE: req.namespace, LABEL_PROVIDER: req.spec.provider.name},
            },
            "spec": dump(spec),
            "status": dump(status),
        }
        job.hold(RollbackRecord.parse(await self.kube.create_record(body)))
        if self.names is not None:
            self.names.note(req.record_name)

    async def renew(self, job: Job) -> None:
        """Move the claim to this instance, now; ``Conflict`` when the record changed since read."""
        assert job.record is not None
        patch = {"status": {"claimedAt": _stamp(self.clock()), "claimedBy": self.me}}
        body = await self.kube.patch_record(
            job.record.name, patch, resource_version=job.record.resource_version
        )
        job.hold(RollbackRecord.parse(body))

    async def complete(self, job: Job, situation: Situation, operation: Operation) -> None:
        """Record the outcome (and the handle, when it came with the outcome)."""
        assert job.record is not None
        outcome = Outcome(phase=situation.phase, reason=situation.reason, message=situation.message)
        status = {**_operation(operation), "completedAt": _stamp(self.clock()), "outcome": dump(outcome)}
        job.record = RollbackRecord.parse(await self.kube.patch_record(job.record.name, {"status": status}))


def _operation(op: Operation) -> dict[str, object]:
    fields = {
        "operationId": op.id,
        "triggeredAt": _stamp(op.triggered_at),
        "state": op.state.value if op.state else None,
    }
    return {key: value for key, value in fields.items() if value is not None}


async def mirror(job: Job, record: RollbackRecord, calls: Calls) -> None:
    """Write a finished record's outcome into the request's status; nothing is sent."""
    outcome, status = record.status.outcome, record.status
    assert outcome is not None
    triggered = status.operation_id is not None
    if record.spec.request.uid == job.req.uid:  # this object's own run: only the status write was lost
        situation = Situation(
            outcome.phase, outcome.reason, outcome.message, triggered=triggered, resolved=True
        )
    else:
        when = status.completed_at.isoformat().replace("+00:00", "Z") if status.completed_at else "earlier"
        message = (
            f"this request (same namespace, name and spec) already ran: RollbackRecord {record.name}, "
            f"completed {when}, ended {outcome.reason} ({outcome.message.rstrip('.')}). "
            "Nothing was sent again. " + RUN_AGAIN.format(record=record.name)
        )
        situation = Situation(
            outcome.phase, Reason.ALREADY_EXECUTED, message, triggered=triggered, resolved=True
        )
    operation = Operation(
        id=status.operation_id,
        idempotency_key=record.spec.idempotency_key,
        triggered_at=status.triggered_at,
        state=status.state,
    )
    facts: dict[str, Any] = {
        "current_version": record.spec.from_version,
        "target_version": record.spec.to_version,
        "resolution": record.spec.resolution or None,
        "operation": operation,
    }
    await calls.kube_retrying(lambda: job.writer.write(situation, **facts))

"""The facts of one request: its latest body (``Request``), and one run over it (``Job``).

``Request`` wraps the latest object body with its parsed spec and status; ``Job`` adds the
provider adapter and, once claimed or found, the request's ``RollbackRecord``. Pure data with a few
derived values; used by every module of ``reconcile/``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rollback_operator.errors import OutcomeUnknown
from rollback_operator.models import RollbackRequestSpec
from rollback_operator.port import Clock
from rollback_operator.providers.base import Provider, Resolution
from rollback_operator.record import RollbackRecord, identity, record_name
from rollback_operator.status_models import Operation, OperationState, RollbackRequestStatus

if TYPE_CHECKING:
    from rollback_operator.reconcile.status import StatusWriter

REQUESTED_BY = "rollback.dev/requested-by"
"""The annotation that names who created a request (stamped by the admission policy in deploy/)."""


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
    def requested_by(self) -> str:
        """Who created the request: the status' copy, else the annotation, else ``unknown``."""
        if self.status.requested_by:
            return self.status.requested_by
        annotations = self.body["metadata"].get("annotations") or {}
        return str(annotations.get(REQUESTED_BY) or "unknown")

    @property
    def idempotency_key(self) -> str:
        """A UUID (version-4 format) derived from the uid: stable across restarts of the operator."""
        digest = hashlib.sha256(self.uid.encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    @property
    def identity(self) -> str:
        """The identity hash: namespace, name and spec as stored (see ``record.identity``)."""
        return identity(self.namespace, self.name, self.body.get("spec") or {})

    @property
    def record_name(self) -> str:
        """The name of this identity's RollbackRecord."""
        return record_name(self.namespace, self.name, self.identity)


@dataclass
class Job:
    """One run over one request: the writer (holding the latest body), its provider, its record."""

    writer: StatusWriter
    adapter: Provider[Any]
    block: Any
    turn_at: datetime | None = None
    """When this run's turn on the target came (time spent queued does not count against it)."""
    record: RollbackRecord | None = None
    """The identity's record, once found or created."""

    @property
    def req(self) -> Request:
        return self.writer.request

    @property
    def op(self) -> Operation:
        return self.req.status.operation or Operation()

    @property
    def label(self) -> str:
        return f"{self.req.namespace}/{self.req.name}"

    @property
    def target_key(self) -> str:
        return str(self.adapter.target_key(self.block))

    def hold(self, record: RollbackRecord) -> None:
        """Adopt ``record``'s claim: its facts become this run's operation (written with the next
        status write), and status writes need no guard any more (the record is the fence)."""
        self.record = record
        status, spec = record.status, record.spec
        self.req.status.operation = self.op.model_copy(
            update={
                "idempotency_key": spec.idempotency_key,
                "claimed_at": status.claimed_at,
                "claimed_by": status.claimed_by,
                "watermark": spec.watermark,
                "id": self.op.id or status.operation_id,
                "triggered_at": self.op.triggered_at or status.triggered_at,
                "state": self.op.state or status.state,
            }
        )
        self.req.status.current_version = spec.from_version
        self.req.status.target_version = spec.to_version
        self.req.status.resolution = self.req.status.resolution or spec.resolution or None


def resolution_facts(resolution: Resolution) -> dict[str, Any]:
    """The status fields that record what ``resolve`` found."""
    return {
        "current_version": resolution.current,
        "target_version": resolution.target,
        "resolution": resolution.explanation,
    }


def resolution_from_status(job: Job) -> Resolution:
    """Rebuild what ``resolve`` found from the claim (without candidates)."""
    status = job.req.status
    if not status.current_version or not status.target_version:
        raise OutcomeUnknown("the claim carries no resolved versions")
    return Resolution(
        status.current_version, status.target_version, status.resolution or "", job.op.watermark
    )


def with_state(op: Operation, state: OperationState, message: str) -> Operation:
    """``op`` with the provider's latest state and message."""
    return op.model_copy(update={"state": state, "message": message or None})


def deadline_after(start: datetime | None, seconds: int, clock: Clock) -> datetime:
    """``start`` (or now) plus ``seconds``."""
    return (start or clock()) + timedelta(seconds=seconds)

"""The RollbackRecord resource: the durable, cluster-scoped record of one request identity.

A request's identity is its namespace, its name and its spec as stored (after defaults). The
record of an identity is created **before** the provider is called, under a name derived from the
identity, so creating it is the claim itself: of two writers (a restarted operator, a second
replica, a re-created request) exactly one succeeds, and the others find the earlier record. It is
completed with the outcome, and it outlives the request and its namespace, so a request deleted
and applied again by GitOps finds it and never rolls back a second time. ``crd.py`` renders these
models into ``crds/rollbackrecords.rollback.dev.yaml``. Used by ``reconcile/records.py``, the
kubectl plugin (``history``) and the CRD renderer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from rollback_operator.status_models import OperationState, Phase

RECORD_KIND = "RollbackRecord"
RECORD_PLURAL = "rollbackrecords"
RECORD_SINGULAR = "rollbackrecord"
RECORD_SHORT_NAME = "rbrec"
LABEL_NAMESPACE = "rollback.dev/request-namespace"
LABEL_PROVIDER = "rollback.dev/provider"
NAME_MAX = 253
HASH_CHARS = 16


def identity(namespace: str, name: str, spec: Mapping[str, Any]) -> str:
    """The identity hash of a request: sha256 over namespace, name and the spec as stored."""
    canonical = json.dumps(
        {"namespace": namespace, "name": name, "spec": spec}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_name(namespace: str, name: str, digest: str) -> str:
    """``<namespace>.<name>.<hash>``: readable, and one name per identity (the hash decides)."""
    prefix = f"{namespace}.{name}"[: NAME_MAX - HASH_CHARS - 1].rstrip(".-")
    return f"{prefix}.{digest[:HASH_CHARS]}"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", use_attribute_docstrings=True
    )


class RequestRef(_Model):
    """The RollbackRequest object that made the claim."""

    namespace: str
    """Its namespace."""
    name: str
    """Its name."""
    uid: str
    """The uid of the object that claimed; a re-created request has another."""


class RecordSpec(_Model):
    """What was (or is being) rolled back, for which request, by whom: fixed at the claim."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "a record's spec is immutable"}
            ]
        }
    )

    request: RequestRef
    """The request that claimed the rollback."""
    request_ref: str
    """``namespace/name`` of the request (the REQUEST printer column)."""
    identity: str
    """sha256 of the request's namespace, name and spec as stored: one record per identity."""
    provider: str
    """facets, vector or yandexServerlessContainer."""
    target_key: str
    """The provider target (environment, resource or container) the rollback applies to."""
    requested_by: str = "unknown"
    """Who created the request (the rollback.dev/requested-by annotation), or unknown."""
    approved_by: str | None = None
    """Who approved it, when the request required an approval."""
    from_version: str = Field(alias="from")
    """The live version when the rollback was claimed."""
    to_version: str = Field(alias="to")
    """The version rolled back to."""
    resolution: str = ""
    """Why this target was chosen."""
    idempotency_key: str
    """The key sent with the rollback call (Yandex); a re-created request re-sends with it."""
    watermark: str | None = None
    """The newest provider history entry seen while resolving; recovery looks past it (Vector)."""


class Outcome(_Model):
    """How the rollback ended."""

    phase: Phase
    """Succeeded, Failed or Unknown."""
    reason: str
    """The request's terminal reason, e.g. RollbackSucceeded."""
    message: str = ""
    """The request's terminal message."""


class RecordStatus(_Model):
    """The claim and what became of it."""

    claimed_at: datetime | None = None
    """When the claim was made (before the provider call); renewed while the claimant waits."""
    claimed_by: str | None = None
    """The operator instance holding the claim."""
    operation_id: str | None = None
    """The provider's handle of the rollback, once triggered."""
    triggered_at: datetime | None = None
    """When the provider accepted the rollback."""
    state: OperationState | None = None
    """Running, Succeeded or Failed: the provider operation's latest state."""
    completed_at: datetime | None = None
    """When the outcome was recorded."""
    outcome: Outcome | None = None
    """The outcome; absent while the rollback is in flight (or was abandoned mid-flight)."""


class RollbackRecord(_Model):
    """A RollbackRecord as read from the API server."""

    name: str
    resource_version: str
    created: str
    spec: RecordSpec
    status: RecordStatus = Field(default_factory=RecordStatus)

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> RollbackRecord:
        """Parse the API server's body of a record."""
        meta = body["metadata"]
        return cls(
            name=meta["name"],
            resource_version=str(meta.get("resourceVersion", "")),
            created=str(meta.get("creationTimestamp", "")),
            spec=RecordSpec.model_validate(body.get("spec") or {}),
            status=RecordStatus.model_validate(body.get("status") or {}),
        )

    @property
    def finished(self) -> bool:
        """True once an outcome is recorded."""
        return self.status.outcome is not None


def dump(model: BaseModel) -> dict[str, Any]:
    """A record model as the API server takes it (camelCase, no nulls)."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)

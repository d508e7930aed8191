"""The RollbackApproval resource: a person's decision on one request's resolved plan.

An approval lives in the request's namespace (so RBAC can grant "may approve" apart from "may
request"), names the request and binds to its ``uid`` (a re-created request is a new object and
needs a new approval) and to the plan it approves (``from`` → ``to``). ``approvedBy`` must be the
user who creates it: the ValidatingAdmissionPolicy in ``deploy/admission/`` checks it against
``request.userInfo.username``, and makes approvals immutable. ``crd.py`` renders these models into
``crds/rollbackapprovals.rollback.dev.yaml``. Used by ``reconcile/approvals.py``, the kubectl plugin
(``approve``/``reject``) and the CRD renderer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from rollback_operator.fields import Identifier, KubeName, cel_rule, validations

APPROVAL_KIND = "RollbackApproval"
APPROVAL_PLURAL = "rollbackapprovals"
APPROVAL_SINGULAR = "rollbackapproval"
APPROVAL_SHORT_NAME = "rbapp"
APPROVAL_IMMUTABLE = "an approval is immutable; create a new RollbackApproval"
USER_MAX_LENGTH = 256
COMMENT_MAX_LENGTH = 1024


class Decision(StrEnum):
    """What the approver decided."""

    APPROVE = "Approve"
    REJECT = "Reject"


class ApprovalSpec(BaseModel):
    """One decision on one request's plan. Immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        json_schema_extra=validations(
            cel_rule("self == oldSelf", APPROVAL_IMMUTABLE, reason="FieldValueForbidden")
        ),
    )

    request_name: KubeName
    """The RollbackRequest, in this namespace, whose plan this decides."""
    request_uid: str = Field(alias="requestUID", min_length=1, max_length=64)
    """The request object's uid: binds the decision to this object, not to a re-created namesake."""
    from_version: Identifier = Field(alias="from")
    """The live version in the plan (the request's status.currentVersion)."""
    to_version: Identifier = Field(alias="to")
    """The version the plan rolls back to (the request's status.targetVersion)."""
    decision: Decision
    """Approve or Reject."""
    approved_by: str = Field(min_length=1, max_length=USER_MAX_LENGTH)
    """The user who decides; must be the user creating this object (checked at admission)."""
    comment: str | None = Field(default=None, max_length=COMMENT_MAX_LENGTH)
    """Why, for the audit trail."""


class ApprovalStatus(BaseModel):
    """Approvals carry no status; the request's status and record say what came of them."""

    model_config = ConfigDict(extra="ignore")


def parse(body: dict[str, Any]) -> tuple[str, str, ApprovalSpec] | None:
    """``(name, creationTimestamp, spec)`` of an approval body, or None when its spec is unusable."""
    try:
        spec = ApprovalSpec.model_validate(body.get("spec") or {})
    except ValueError:
        return None
    meta = body["metadata"]
    return str(meta["name"]), str(meta.get("creationTimestamp", "")), spec

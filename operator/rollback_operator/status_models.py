"""The RollbackRequest's status as pydantic models: phases, the operation, conditions.

Read tolerantly (unknown fields are ignored) because other writers, or older operator versions,
may have left fields behind. ``crd.py`` renders them into the CRD's status schema next to the spec
of ``models.py``. Read by the reconciler, the handlers, the plugin and the CRD renderer.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from rollback_operator.models import ProviderName


class Phase(StrEnum):
    """The coarse state shown in printer columns; conditions are the contract."""

    PENDING = "Pending"
    WAITING = "Waiting"
    RESOLVING = "Resolving"
    AWAITING_APPROVAL = "AwaitingApproval"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.UNKNOWN})

UNFINISHED_SELECTOR = ",".join(f"status.phase!={phase.value}" for phase in sorted(TERMINAL_PHASES))
"""A field selector matching requests that are not finished: the operator watches only these, so
finished requests cost it nothing (the CRD makes ``.status.phase`` selectable)."""

STATUS_DEFAULT = {"observedGeneration": 0}
"""What the API server serves as status before the operator first writes one: observedGeneration 0
differs from generation 1, so kstatus (Flux) and Argo CD read a new request as in progress, and
``kubectl wait`` keeps waiting, without costing a write."""


class _Status(BaseModel):
    """Base of status models: camelCase aliases, tolerant of unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )


class OperationState(StrEnum):
    """The provider operation's state."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class Operation(_Status):
    """The one provider operation this request caused (or claimed)."""

    id: str | None = None
    """The provider's handle: Vector deployment id, Yandex operation id, Facets restored version id."""
    idempotency_key: str | None = None
    """The key sent with (or derived for) the rollback call."""
    claimed_at: datetime | None = None
    """When the operator claimed the rollback, written before calling the provider."""
    claimed_by: str | None = None
    """The operator instance that holds the claim."""
    watermark: str | None = None
    """The newest provider history entry seen while resolving; recovery looks past it."""
    triggered_at: datetime | None = None
    """When the provider accepted the rollback."""
    state: OperationState | None = None
    """Running, Succeeded or Failed."""
    message: str | None = None
    """The provider's latest word on the operation."""


class ConditionStatus(StrEnum):
    """A condition's status."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(_Status):
    """A Kubernetes-style condition."""

    type: str
    """Resolved, Triggered, Ready, Reconciling or Stalled."""
    status: ConditionStatus
    """True, False or Unknown."""
    reason: str
    """A CamelCase reason."""
    message: str = ""
    """A human-readable explanation."""
    last_transition_time: datetime
    """When status last changed."""
    observed_generation: int | None = None
    """The generation this condition was computed from."""


class RollbackRequestStatus(_Status):
    """What the operator found and did."""

    observed_generation: int | None = None
    """The spec generation the status describes."""
    phase: Phase | None = None
    """Pending, Waiting, Resolving, AwaitingApproval, InProgress, Succeeded, Failed or Unknown."""
    provider: ProviderName | None = None
    """The provider handling the request."""
    current_version: str | None = None
    """The live version found when resolving."""
    target_version: str | None = None
    """The version rolled back to."""
    resolution: str | None = None
    """One line on why this target was chosen."""
    operation: Operation | None = None
    """The provider operation, once claimed."""
    requested_by: str | None = None
    """Who created the request (the rollback.dev/requested-by annotation at first sight), or unknown."""
    approved_by: str | None = None
    """Who approved the plan, when the request required an approval."""
    started_at: datetime | None = None
    """When the operator started working on the request."""
    completed_at: datetime | None = None
    """When the request reached a terminal phase."""
    message: str | None = None
    """A human summary of the latest step."""
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Resolved, Triggered, Ready, Reconciling and Stalled."""

    @property
    def terminal(self) -> bool:
        """True once the request is Succeeded, Failed or Unknown."""
        return self.phase in TERMINAL_PHASES

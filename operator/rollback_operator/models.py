"""The RollbackRequest resource as pydantic models: the single source of the CRD schema.

Python names are snake_case, the wire is camelCase. The spec forbids unknown fields and is
immutable once created; the status is read tolerantly (unknown fields are ignored) because other
writers, or older operator versions, may have left fields behind. ``crd.py`` renders these models
into ``crds/rollbackrequests.rollback.dev.yaml``; every field's docstring becomes the description
that ``kubectl explain`` shows. Read by the reconciler, the handlers and the provider adapters.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "rollback.dev"
VERSION = "v1alpha1"
KIND = "RollbackRequest"
PLURAL = "rollbackrequests"
SINGULAR = "rollbackrequest"
SHORT_NAME = "rbr"
CATEGORY = "rollback"


class _Spec(BaseModel):
    """Base of spec models: camelCase aliases, unknown fields rejected, immutable instances."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )


class FacetsProvider(_Spec):
    """Roll a Facets.cloud resource back to an earlier artifact version."""

    control_plane_url: str = Field(alias="controlPlaneURL")
    """Your Facets control plane, e.g. https://acme.console.facets.cloud."""
    environment_id: str
    """The environment (Facets calls it clusterId) that holds the resource."""
    resource_type: str
    """The resource type exactly as written in the blueprint, e.g. service."""
    resource_name: str
    """The resource name in the blueprint."""


class VectorProvider(_Spec):
    """Roll a Vector Pro environment back to an earlier successful deployment."""

    environment_id: str
    """The Vector Pro environment ID (a 26-character ULID)."""
    api_url: str = Field(default="https://api.builtfast.com", alias="apiURL")
    """The Vector Pro API base URL."""


class YandexServerlessContainerProvider(_Spec):
    """Roll a Yandex Cloud Serverless Container back to an earlier revision."""

    container_id: str
    """The Serverless Container ID."""
    api_url: str = Field(default="https://serverless-containers.api.cloud.yandex.net", alias="apiURL")
    """The Serverless Containers API base URL."""
    operations_url: str = Field(default="https://operation.api.cloud.yandex.net", alias="operationsURL")
    """The Operation service base URL, used to follow the rollback operation."""
    iam_url: str = Field(default="https://iam.api.cloud.yandex.net", alias="iamURL")
    """The IAM API base URL, used to exchange a service-account key for an IAM token."""


class ProviderSpec(_Spec):
    """Which provider performs the rollback and on what; exactly one key is set."""

    facets: FacetsProvider | None = None
    """A Facets.cloud resource (environment, resource type and name)."""
    vector: VectorProvider | None = None
    """A Vector Pro environment."""
    yandex_serverless_container: YandexServerlessContainerProvider | None = None
    """A Yandex Cloud Serverless Container."""

    @property
    def name(self) -> str:
        """The provider key that is set: facets, vector or yandexServerlessContainer."""
        if self.facets is not None:
            return "facets"
        if self.vector is not None:
            return "vector"
        return "yandexServerlessContainer"

    @property
    def selected(self) -> FacetsProvider | VectorProvider | YandexServerlessContainerProvider:
        """The one provider block that is set."""
        block = self.facets or self.vector or self.yandex_serverless_container
        assert block is not None, "the CRD and the model both require exactly one provider"
        return block


class SecretRef(_Spec):
    """A Secret in the same namespace as the RollbackRequest."""

    name: str
    """The Secret's name."""


class Target(_Spec):
    """Which earlier version to return to; at most one key. Default: one step back."""

    version: str | None = None
    """An exact version: Facets versionId, Vector deployment id or Yandex revision id."""
    steps_back: int | None = None
    """The version that was live N versions before the current one (1..50)."""


class RollbackRequestSpec(_Spec):
    """What to roll back, where to, and why. Immutable after creation."""

    reason: str
    """Why this rollback happens; copied into events (1..1024 characters)."""
    provider: ProviderSpec
    """The provider and the resource to roll back."""
    credentials_secret_ref: SecretRef
    """The Secret, in this namespace, holding the provider credentials."""
    target: Target = Field(default_factory=lambda: Target(steps_back=1))
    """The version to return to; defaults to one step back."""
    expected_current_version: str | None = None
    """If set, fail unless this is the live version when resolving."""
    dry_run: bool = False
    """Resolve and report the target only; never trigger a rollback."""
    timeout_seconds: int = 1800
    """Seconds from the trigger to a terminal provider state before the request fails (10..86400)."""


# ---------------------------------------------------------------------------------------- status


class Phase(StrEnum):
    """The coarse state shown in printer columns; conditions are the contract."""

    PENDING = "Pending"
    WAITING = "Waiting"
    RESOLVING = "Resolving"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.UNKNOWN})


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
    """Pending, Waiting, Resolving, InProgress, Succeeded, Failed or Unknown."""
    provider: Literal["facets", "vector", "yandexServerlessContainer"] | None = None
    """The provider handling the request."""
    current_version: str | None = None
    """The live version found when resolving."""
    target_version: str | None = None
    """The version rolled back to."""
    resolution: str | None = None
    """One line on why this target was chosen."""
    operation: Operation | None = None
    """The provider operation, once claimed."""
    started_at: datetime | None = None
    """When the operator started working on the request."""
    completed_at: datetime | None = None
    """When the request reached a terminal phase."""
    message: str | None = None
    """A human summary of the latest step."""
    conditions: list[Condition] = Field(default_factory=list)
    """Resolved, Triggered, Ready, Reconciling and Stalled."""

    @property
    def terminal(self) -> bool:
        """True once the request is Succeeded, Failed or Unknown."""
        return self.phase in TERMINAL_PHASES

"""The RollbackRequest's names and spec as pydantic models: the single source of the CRD schema.

Python names are snake_case, the wire is camelCase. The spec forbids unknown fields and is
immutable once created; the status models live in ``status_models.py``. ``crd.py`` renders these models
into ``crds/rollbackrequests.rollback.dev.yaml``; every field's docstring becomes the description
that ``kubectl explain`` shows. Read by the reconciler, the handlers and the provider adapters.

Each admission rule is written twice, side by side: as a pydantic constraint or validator, and as
the CEL rule (``x-kubernetes-validations``) the API server evaluates. Both share one message, and
one table of cases (``tests/api/cases.py``) checks that they agree. The shared field types, their
bounds and messages, and the CEL helpers live in ``fields.py``, where their users import them from.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from rollback_operator.fields import (
    DEFAULT_TIMEOUT_SECONDS,
    REASON_MAX_LENGTH,
    STEPS_BACK_MAX,
    TIMEOUT_SECONDS_MAX,
    TIMEOUT_SECONDS_MIN,
    HttpsURL,
    Identifier,
    KubeName,
    Timestamp,
    cel_rule,
    validations,
)

GROUP = "rollback.dev"
VERSION = "v1alpha1"
KIND = "RollbackRequest"
PLURAL = "rollbackrequests"
SINGULAR = "rollbackrequest"
SHORT_NAME = "rbr"
CATEGORY = "rollback"


# ---------------------------------------------------------------------------------------- spec


class ProviderName(StrEnum):
    """The provider keys of ``spec.provider``: adapter names, ``status.provider`` and metric labels."""

    FACETS = "facets"
    VECTOR = "vector"
    YANDEX = "yandexServerlessContainer"


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

    control_plane_url: HttpsURL = Field(alias="controlPlaneURL")
    """Your Facets control plane, e.g. https://acme.console.facets.cloud (https, or http to loopback)."""
    environment_id: Identifier
    """The environment (Facets calls it clusterId) that holds the resource."""
    resource_type: Identifier
    """The resource type exactly as written in the blueprint, e.g. service."""
    resource_name: Identifier
    """The resource name in the blueprint."""


class VectorProvider(_Spec):
    """Roll a Vector Pro environment back to an earlier successful deployment."""

    environment_id: Identifier
    """The Vector Pro environment ID (a 26-character ULID)."""
    api_url: HttpsURL = Field(default="https://api.builtfast.com", alias="apiURL")
    """The Vector Pro API base URL (https, or http to loopback)."""


class YandexServerlessContainerProvider(_Spec):
    """Roll a Yandex Cloud Serverless Container back to an earlier revision."""

    container_id: Identifier
    """The Serverless Container ID."""
    api_url: HttpsURL = Field(default="https://serverless-containers.api.cloud.yandex.net", alias="apiURL")
    """The Serverless Containers API base URL (https, or http to loopback)."""
    operations_url: HttpsURL = Field(default="https://operation.api.cloud.yandex.net", alias="operationsURL")
    """The Operation service base URL, for following the rollback operation (https, or http to loopback)."""
    iam_url: HttpsURL = Field(default="https://iam.api.cloud.yandex.net", alias="iamURL")
    """The IAM API base URL: turns a service-account key into an IAM token (https, or http to loopback)."""


PROVIDER_MISSING = "spec.provider must set one of facets, vector or yandexServerlessContainer"
PROVIDER_TOO_MANY = "spec.provider must set only one of facets, vector or yandexServerlessContainer"
_PROVIDER_SET = "[has(self.facets), has(self.vector), has(self.yandexServerlessContainer)]"


class ProviderSpec(_Spec):
    """Which provider performs the rollback and on what; exactly one key is set."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel_rule(f"{_PROVIDER_SET}.exists(x, x)", PROVIDER_MISSING, reason="FieldValueRequired"),
            cel_rule(
                f"{_PROVIDER_SET}.filter(x, x).size() <= 1", PROVIDER_TOO_MANY, reason="FieldValueForbidden"
            ),
        )
    )

    facets: FacetsProvider | None = None
    """A Facets.cloud resource (environment, resource type and name)."""
    vector: VectorProvider | None = None
    """A Vector Pro environment."""
    yandex_serverless_container: YandexServerlessContainerProvider | None = None
    """A Yandex Cloud Serverless Container."""

    @model_validator(mode="after")
    def _exactly_one(self) -> ProviderSpec:
        count = sum(
            block is not None for block in (self.facets, self.vector, self.yandex_serverless_container)
        )
        if count != 1:
            raise ValueError(PROVIDER_MISSING if count == 0 else PROVIDER_TOO_MANY)
        return self

    @property
    def name(self) -> ProviderName:
        """The provider key that is set: facets, vector or yandexServerlessContainer."""
        if self.facets is not None:
            return ProviderName.FACETS
        if self.vector is not None:
            return ProviderName.VECTOR
        return ProviderName.YANDEX

    @property
    def selected(self) -> FacetsProvider | VectorProvider | YandexServerlessContainerProvider:
        """The one provider block that is set."""
        block = self.facets or self.vector or self.yandex_serverless_container
        assert block is not None, "the CRD and the model both require exactly one provider"
        return block


class SecretRef(_Spec):
    """A Secret in the same namespace as the RollbackRequest."""

    name: KubeName
    """The Secret's name (a Kubernetes object name: lowercase letters, digits, '-' and '.')."""


TARGET_BOTH = "spec.target may set version or stepsBack, not both"


class Target(_Spec):
    """Which earlier version to return to; at most one key. Default: one step back."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel_rule("!(has(self.version) && has(self.stepsBack))", TARGET_BOTH, reason="FieldValueForbidden")
        )
    )

    version: Identifier | None = None
    """An exact version: Facets versionId, Vector deployment id or Yandex revision id."""
    steps_back: int | None = Field(default=None, ge=1, le=STEPS_BACK_MAX, strict=True)
    """The version that was live N versions before the current one (1..50)."""

    @model_validator(mode="after")
    def _at_most_one(self) -> Target:
        if self.version is not None and self.steps_back is not None:
            raise ValueError(TARGET_BOTH)
        return self


class Approval(_Spec):
    """Whether a person must approve the resolved plan before the rollback is triggered."""

    required: bool = Field(default=False, strict=True)
    """Wait in AwaitingApproval after resolving until a RollbackApproval approves the plan (default false)."""


SPEC_IMMUTABLE = "spec is immutable; create a new RollbackRequest"


class RollbackRequestSpec(_Spec):
    """What to roll back, where to, and why. Immutable after creation."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel_rule("self == oldSelf", SPEC_IMMUTABLE, reason="FieldValueForbidden")
        )
    )

    reason: str = Field(min_length=1, max_length=REASON_MAX_LENGTH)
    """Why this rollback happens; copied into events (1..1024 characters)."""
    provider: ProviderSpec
    """The provider and the resource to roll back; exactly one of its keys is set."""
    credentials_secret_ref: SecretRef
    """The Secret, in this namespace, holding the provider credentials."""
    target: Target = Field(
        default_factory=lambda: Target(steps_back=1), json_schema_extra={"default": {"stepsBack": 1}}
    )
    """The version to return to: version or stepsBack (default: stepsBack 1, the previous version)."""
    expected_current_version: Identifier | None = None
    """If set, fail unless this is the live version when resolving."""
    dry_run: bool = Field(default=False, strict=True)
    """Resolve and report the target only; never trigger a rollback (default false)."""
    timeout_seconds: int = Field(
        default=DEFAULT_TIMEOUT_SECONDS, ge=TIMEOUT_SECONDS_MIN, le=TIMEOUT_SECONDS_MAX, strict=True
    )
    """Seconds from the trigger to a terminal provider state before the request fails (10..86400,
    default 1800)."""
    not_after: Timestamp | None = None
    """RFC 3339 time: if the rollback has not been claimed by then, the request fails (Expired) and
    nothing is sent. Protects re-creations after the records are gone (a rebuilt cluster)."""
    approval: Approval | None = None
    """Require a RollbackApproval of the resolved plan before the rollback is triggered."""

    @property
    def not_after_time(self) -> datetime | None:
        """``not_after`` as an aware datetime."""
        return datetime.fromisoformat(self.not_after.upper()) if self.not_after else None

    @property
    def approval_required(self) -> bool:
        """True when the request must be approved before the trigger."""
        return self.approval is not None and self.approval.required

"""A RollbackRequest after creation, against the real API server: the spec cannot change, the status
subresource takes everything the operator writes without touching the spec, and kubectl shows the
printer columns and the field descriptions generated from the models.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes.client import ApiClient, CustomObjectsApi

from rollback_operator.models import GROUP, PLURAL, VERSION, RollbackRequestSpec
from rollback_operator.status_models import (
    Condition,
    ConditionStatus,
    Operation,
    OperationState,
    Phase,
    RollbackRequestStatus,
)
from tests.api.cases import manifest, spec_with
from tests.support.controlplane import ControlPlane

ORIGINAL = spec_with(target={"version": "v-41"})
pytestmark = pytest.mark.usefixtures("crd")
T0 = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)


def _create(cluster: ControlPlane, *, name: str, namespace: str, spec: dict[str, Any] = ORIGINAL) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest(spec, name=name)))


def _get(cluster: ControlPlane, *, name: str, namespace: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        cluster.kubectl("get", "rbr", name, "-n", namespace, "-o", "json").stdout
    )
    return document


def _condition(kind: str, status: ConditionStatus, reason: str) -> Condition:
    return Condition(
        type=kind,
        status=status,
        reason=reason,
        message=f"{kind}: {reason}",
        last_transition_time=T0,
        observed_generation=1,
    )


FULL_STATUS = RollbackRequestStatus(  # every field set, as the operator writes it after a rollback
    observed_generation=1,
    phase=Phase.SUCCEEDED,
    provider="facets",
    current_version="v-42",
    target_version="v-41",
    resolution="version=v-41: 1st newest of 4 earlier versions",
    operation=Operation(
        id="v-41-restored",
        idempotency_key="rbr-7f3a-1",
        claimed_at=T0,
        claimed_by="rollback-operator-5d9c7",
        watermark="v-42",
        triggered_at=T0 + timedelta(seconds=1),
        state=OperationState.SUCCEEDED,
        message="restored",
    ),
    started_at=T0,
    completed_at=T0 + timedelta(seconds=5),
    message="rolled back to v-41",
    conditions=[
        _condition("Resolved", ConditionStatus.TRUE, "TargetResolved"),
        _condition("Triggered", ConditionStatus.TRUE, "RollbackTriggered"),
        _condition("Ready", ConditionStatus.TRUE, "RollbackSucceeded"),
        _condition("Reconciling", ConditionStatus.FALSE, "Finished"),
        _condition("Stalled", ConditionStatus.FALSE, "NoFailure"),
    ],
)


CHANGES = {  # each key names the object the change is tried on
    "reason": spec_with(target={"version": "v-41"}, reason="another reason"),
    "target-version": spec_with(target={"version": "v-40"}),
    "target-kind": spec_with(target={"stepsBack": 2}),
    "target-removed-so-defaulted-to-one-step-back": spec_with(),
    "dry-run": spec_with(target={"version": "v-41"}, dryRun=True),
    "timeout-seconds": spec_with(target={"version": "v-41"}, timeoutSeconds=60),
    "expected-current-version-added": spec_with(target={"version": "v-41"}, expectedCurrentVersion="v-42"),
    "provider-url": spec_with(
        target={"version": "v-41"}, provider__facets__controlPlaneURL="https://other.console.facets.cloud"
    ),
    "secret": spec_with(target={"version": "v-41"}, credentialsSecretRef={"name": "other"}),
}


@pytest.mark.parametrize(("name", "changed"), CHANGES.items(), ids=CHANGES.keys())
def test_any_change_of_spec_after_creation_is_refused(
    cluster: ControlPlane, module_namespace: str, name: str, changed: dict[str, Any]
) -> None:
    _create(cluster, name=name, namespace=module_namespace)
    before = _get(cluster, name=name, namespace=module_namespace)["spec"]

    result = cluster.kubectl(
        "apply",
        "-n",
        module_namespace,
        "-f",
        "-",
        input=json.dumps(manifest(changed, name=name)),
        check=False,
    )

    assert result.returncode != 0
    assert "spec: Forbidden: spec is immutable; create a new RollbackRequest" in result.stderr
    assert _get(cluster, name=name, namespace=module_namespace)["spec"] == before


def test_reapplying_the_same_manifest_and_labelling_are_allowed(
    cluster: ControlPlane, namespace: str
) -> None:
    _create(cluster, name="same", namespace=namespace, spec=spec_with())

    again = cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", input=json.dumps(manifest(spec_with(), name="same"))
    )
    cluster.kubectl("label", "rbr", "same", "-n", namespace, "team=payments")

    assert "unchanged" in again.stdout
    assert _get(cluster, name="same", namespace=namespace)["metadata"]["labels"] == {"team": "payments"}


def test_the_status_subresource_takes_a_full_status_and_never_touches_spec(
    cluster: ControlPlane, k8s_api: ApiClient, namespace: str
) -> None:
    _create(cluster, name="status", namespace=namespace)
    before = _get(cluster, name="status", namespace=namespace)
    body = {
        "spec": {"reason": "sneaked in"},
        "status": FULL_STATUS.model_dump(mode="json", by_alias=True, exclude_none=True),
    }

    CustomObjectsApi(k8s_api).patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "status", body
    )

    after = _get(cluster, name="status", namespace=namespace)
    assert after["spec"] == before["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert RollbackRequestStatus.model_validate(after["status"]) == FULL_STATUS
    assert RollbackRequestSpec.model_validate(after["spec"]).reason == ORIGINAL["reason"]


def test_kubectl_get_shows_provider_phase_target_and_ready_reason(
    cluster: ControlPlane, k8s_api: ApiClient, namespace: str
) -> None:
    _create(cluster, name="columns", namespace=namespace)
    body = {"status": FULL_STATUS.model_dump(mode="json", by_alias=True, exclude_none=True)}
    CustomObjectsApi(k8s_api).patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "columns", body
    )

    header, row = cluster.kubectl("get", "rbr", "-n", namespace).stdout.splitlines()
    by_category = cluster.kubectl("get", "rollback", "-n", namespace, "-o", "name").stdout

    assert header.split() == ["NAME", "PROVIDER", "PHASE", "TARGET", "REASON", "AGE"]
    assert row.split()[:5] == ["columns", "facets", "Succeeded", "v-41", "RollbackSucceeded"]
    # The category also lists the cluster-scoped RollbackRecords other tests left behind.
    requests_in_category = [line for line in by_category.split() if line.startswith("rollbackrequest.")]
    assert requests_in_category == ["rollbackrequest.rollback.dev/columns"]


def _explain(cluster: ControlPlane, field: str, *, expected: str, deadline: float = 30) -> str:
    """`kubectl explain`, polled: the OpenAPI document includes a new CRD a moment after Established."""
    stop = time.monotonic() + deadline
    while True:
        result = cluster.kubectl("explain", field, check=False)
        flat = " ".join(result.stdout.split())
        if expected in flat or time.monotonic() > stop:
            return flat
        time.sleep(0.5)


@pytest.mark.parametrize(
    ("path", "model"),
    [("rollbackrequest.spec", RollbackRequestSpec), ("rollbackrequest.status", RollbackRequestStatus)],
)
def test_kubectl_explain_shows_every_field_description(
    cluster: ControlPlane, path: str, model: type[RollbackRequestSpec | RollbackRequestStatus]
) -> None:
    descriptions = [" ".join(str(field.description).split()) for field in model.model_fields.values()]

    shown = _explain(cluster, path, expected=descriptions[0])

    for description in descriptions:
        assert description in shown

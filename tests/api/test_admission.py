"""Admission of RollbackRequests by the real API server: every case of ``cases.py`` through ``kubectl``.

The same table is judged by pydantic in ``tests/unit/test_models.py``; here the CRD schema and its CEL
rules must agree: valid specs are created, invalid ones are refused with a message naming the field.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from rollback_operator.models import RollbackRequestSpec
from tests.api.cases import (
    INVALID,
    SAMPLE_NAMES,
    SAMPLES,
    VALID,
    VECTOR,
    YANDEX,
    Invalid,
    Valid,
    load_sample,
    manifest,
    spec_with,
)
from tests.support.controlplane import ControlPlane

pytestmark = pytest.mark.usefixtures("crd")


def _apply(cluster: ControlPlane, document: dict[str, Any], *, namespace: str) -> tuple[int, str]:
    result = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(document), check=False)
    return result.returncode, result.stdout + result.stderr


def _object_name(case_id: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", case_id.lower()).strip("-")[:60]


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.id)
def test_kubectl_apply_refuses_an_invalid_spec_naming_the_field(
    cluster: ControlPlane, module_namespace: str, case: Invalid
) -> None:
    code, output = _apply(
        cluster, manifest(case.spec, name=_object_name(case.id)), namespace=module_namespace
    )

    assert code != 0, f"accepted: {output}"
    assert case.field in output
    assert case.message in output


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.id)
def test_kubectl_apply_accepts_a_valid_spec(
    cluster: ControlPlane, module_namespace: str, case: Valid
) -> None:
    code, output = _apply(
        cluster, manifest(case.spec, name=_object_name(case.id)), namespace=module_namespace
    )

    assert code == 0, output
    assert "created" in output


def test_every_sample_file_applies_together_with_the_example_secrets(
    cluster: ControlPlane, namespace: str
) -> None:
    applied = cluster.kubectl("apply", "-n", namespace, "-f", str(SAMPLES)).stdout

    for name in SAMPLE_NAMES:
        assert f"rollbackrequest.rollback.dev/{load_sample(name)['metadata']['name']} created" in applied
    for secret in ("facets-credentials", "vector-credentials", "yandex-credentials"):
        assert f"secret/{secret} created" in applied


@pytest.mark.parametrize(
    "spec",
    [
        spec_with(),
        spec_with(provider={"vector": VECTOR}),
        spec_with(provider={"yandexServerlessContainer": YANDEX}),
    ],
    ids=["facets", "vector", "yandexServerlessContainer"],
)
def test_the_api_server_fills_the_same_defaults_as_the_model(
    cluster: ControlPlane, namespace: str, spec: dict[str, Any]
) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest(spec, name="defaults")))

    stored = json.loads(cluster.kubectl("get", "rbr", "defaults", "-n", namespace, "-o", "json").stdout)[
        "spec"
    ]
    expected = RollbackRequestSpec.model_validate(spec).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    assert stored == expected
    assert stored["target"] == {"stepsBack": 1}

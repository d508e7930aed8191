"""The pydantic models of the RollbackRequest API (``rollback_operator.models``) without a server.

The admission table in ``tests/api/cases.py`` is judged here by pydantic (the API server judges it in
``tests/api/test_admission.py``): every valid spec parses, every invalid one fails at the same field.
Also: camelCase on the wire, snake_case in Python, the defaults, and the status round trip.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from rollback_operator.models import (
    FacetsProvider,
    ProviderSpec,
    RollbackRequestSpec,
    Target,
    VectorProvider,
    YandexServerlessContainerProvider,
)
from rollback_operator.status_models import Condition, ConditionStatus, Phase, RollbackRequestStatus
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
    spec_with,
)


def _error_paths(error: ValidationError) -> list[str]:
    return [".".join(["spec", *(str(part) for part in detail["loc"])]) for detail in error.errors()]


def _without_defaults(wire: dict[str, Any], *, like: dict[str, Any]) -> dict[str, Any]:
    """``wire`` cut down to the keys of ``like``, recursively: what the dump adds are defaults."""
    return {
        key: _without_defaults(value, like=like[key]) if isinstance(value, dict) else value
        for key, value in wire.items()
        if key in like
    }


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.id)
def test_a_valid_spec_parses(case: Valid) -> None:
    RollbackRequestSpec.model_validate(case.spec)


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.id)
def test_an_invalid_spec_is_refused_at_the_same_field_as_by_the_api_server(case: Invalid) -> None:
    with pytest.raises(ValidationError) as caught:
        RollbackRequestSpec.model_validate(case.spec)

    assert case.field in _error_paths(caught.value)


def test_the_shared_table_has_at_least_thirty_distinct_invalid_cases() -> None:
    assert len({case.id for case in INVALID}) == len(INVALID) >= 30


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_is_a_rollback_request_that_round_trips_in_camel_case(name: str) -> None:
    sample = load_sample(name)
    spec = RollbackRequestSpec.model_validate(sample["spec"])

    wire = spec.model_dump(mode="json", by_alias=True, exclude_none=True)

    assert (sample["apiVersion"], sample["kind"]) == ("rollback.dev/v1alpha1", "RollbackRequest")
    assert "namespace" not in sample["metadata"]
    assert RollbackRequestSpec.model_validate(wire) == spec
    assert _without_defaults(wire, like=sample["spec"]) == sample["spec"]


SECRET_KEYS = {  # api.md: which keys each provider reads from its Secret (yandex: either one)
    "facets": [{"username", "token"}],
    "vector": [{"token"}],
    "yandexServerlessContainer": [{"iamToken"}, {"serviceAccountKey"}],
}


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_names_an_example_secret_with_its_providers_keys(name: str) -> None:
    spec = RollbackRequestSpec.model_validate(load_sample(name)["spec"])
    examples = yaml.safe_load_all((SAMPLES / "secrets.example.yaml").read_text())
    secrets = {doc["metadata"]["name"]: set(doc["stringData"]) for doc in examples}

    keys = secrets[spec.credentials_secret_ref.name]

    assert any(required <= keys for required in SECRET_KEYS[spec.provider.name])


def test_the_wire_is_camel_case_and_python_is_snake_case() -> None:
    spec = RollbackRequestSpec.model_validate(spec_with(dryRun=True, expectedCurrentVersion="v-42"))

    wire = spec.model_dump(mode="json", by_alias=True, exclude_none=True)

    assert spec.credentials_secret_ref.name == "facets-credentials"
    assert (spec.dry_run, spec.expected_current_version, spec.timeout_seconds) == (True, "v-42", 1800)
    assert {"credentialsSecretRef", "dryRun", "expectedCurrentVersion", "timeoutSeconds"} <= wire.keys()
    assert "controlPlaneURL" in wire["provider"]["facets"]


def test_python_code_can_build_specs_by_field_name() -> None:
    target = Target(steps_back=3)
    provider = ProviderSpec(vector=VectorProvider(environment_id=VECTOR["environmentId"]))

    assert target.model_dump(by_alias=True, exclude_none=True) == {"stepsBack": 3}
    assert provider.selected == VectorProvider(environment_id=VECTOR["environmentId"])
    assert provider.vector is not None
    assert provider.vector.api_url == "https://api.builtfast.com"


def test_an_omitted_target_means_one_step_back_and_other_defaults_apply() -> None:
    spec = RollbackRequestSpec.model_validate(spec_with())

    assert spec.target == Target(steps_back=1)
    assert (spec.dry_run, spec.timeout_seconds, spec.expected_current_version) == (False, 1800, None)


@pytest.mark.parametrize(
    ("provider", "name", "kind"),
    [
        (spec_with()["provider"], "facets", FacetsProvider),
        ({"vector": VECTOR}, "vector", VectorProvider),
        (
            {"yandexServerlessContainer": YANDEX},
            "yandexServerlessContainer",
            YandexServerlessContainerProvider,
        ),
    ],
)
def test_the_provider_block_knows_its_name_and_selected_block(
    provider: dict[str, Any], name: str, kind: type
) -> None:
    parsed = ProviderSpec.model_validate(provider)

    assert parsed.name == name
    assert isinstance(parsed.selected, kind)


def test_yandex_urls_default_to_the_public_endpoints() -> None:
    block = YandexServerlessContainerProvider.model_validate(YANDEX)

    assert (block.api_url, block.operations_url, block.iam_url) == (
        "https://serverless-containers.api.cloud.yandex.net",
        "https://operation.api.cloud.yandex.net",
        "https://iam.api.cloud.yandex.net",
    )


def test_the_status_round_trips_and_tolerates_unknown_fields() -> None:
    when = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    status = RollbackRequestStatus(
        phase=Phase.FAILED,
        conditions=[
            Condition(
                type="Ready", status=ConditionStatus.FALSE, reason="TimedOut", last_transition_time=when
            )
        ],
    )

    wire = status.model_dump(mode="json", by_alias=True, exclude_none=True)

    assert wire["conditions"][0]["lastTransitionTime"] == "2026-11-22T10:00:00Z"
    assert RollbackRequestStatus.model_validate({**wire, "writtenByANewerOperator": 1}) == status
    assert status.terminal
    assert not RollbackRequestStatus(phase=Phase.IN_PROGRESS).terminal

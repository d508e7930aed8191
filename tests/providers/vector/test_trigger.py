"""Triggering a Vector rollback: one POST, the new deployment as handle, Vector's refusals."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rollback_operator.errors import OutcomeUnknown, ProviderRejected
from rollback_operator.models import Target, VectorProvider
from rollback_operator.providers.base import Credentials
from rollback_operator.providers.vector import VectorAdapter
from rollback_sandbox.common import Faults
from rollback_sandbox.vector import VectorState
from tests.providers.vector.scenario import ACTOR, BUSY, KEY, PROD, STAGING, SUSPENDED, dep, resolution

ROLLBACK_ROUTE = "POST /api/v1/vector/environments/{env}/rollback"


@pytest.mark.parametrize(
    ("status", "body"),
    [(201, "openapi"), (202, "prose")],
    ids=["201-as-in-the-openapi-spec", "202-as-in-the-prose-docs"],
)
async def test_a_rollback_to_the_resolved_target_is_one_new_deployment(
    adapter: VectorAdapter,
    spec: VectorProvider,
    creds: Credentials,
    state: VectorState,
    status: int,
    body: str,
) -> None:
    state.settings.success_status, state.settings.rollback_body = status, body
    resolved = await adapter.resolve(spec, creds, Target(steps_back=1))

    handle = await adapter.trigger(spec, creds, resolved, KEY)

    record = state.deployments[handle.id]
    assert record.target is not None
    assert record.target.id == dep("p", 4)
    assert record.actor == ACTOR
    assert f"to {dep('p', 4)} started as deployment {handle.id}" in handle.message
    assert state.rollbacks == {PROD: 1}
    assert state.requests[ROLLBACK_ROUTE] == 1


async def test_a_second_rollback_while_one_is_in_progress_is_rejected_with_vectors_message(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    await adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY)

    with pytest.raises(ProviderRejected, match="already in progress for this environment") as caught:
        await adapter.trigger(spec, creds, resolution(dep("p", 2)), KEY)
    assert caught.value.status_code == 422
    assert state.rollbacks == {PROD: 1}


async def test_a_running_deployment_blocks_a_rollback(
    adapter: VectorAdapter, spec_for: Callable[[str], VectorProvider], creds: Credentials, state: VectorState
) -> None:
    with pytest.raises(ProviderRejected, match="HTTP 422: deployment: A deployment or rollback is already"):
        await adapter.trigger(spec_for(BUSY), creds, resolution(dep("b", 1)), KEY)
    assert not state.rollbacks


async def test_an_inactive_environment_refuses_the_rollback(
    adapter: VectorAdapter, spec_for: Callable[[str], VectorProvider], creds: Credentials, state: VectorState
) -> None:
    with pytest.raises(ProviderRejected, match=r"status: Environment must be active .* 'suspended'"):
        await adapter.trigger(spec_for(SUSPENDED), creds, resolution(dep("t", 1)), KEY)
    assert not state.rollbacks


@pytest.mark.parametrize(
    "target",
    [dep("s", 1), dep("p", 3), "01jnosuchdeployment0000000"],
    ids=["another-environments-deployment", "a-failed-deployment", "an-unknown-id"],
)
async def test_a_target_vector_cannot_roll_back_to_is_rejected_with_the_field_message(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState, target: str
) -> None:
    with pytest.raises(
        ProviderRejected, match="target_deployment_id: The specified deployment does not exist"
    ):
        await adapter.trigger(spec, creds, resolution(target), KEY)
    assert not state.rollbacks


async def test_the_rollback_request_is_sent_once_even_when_vector_answers_5xx(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    state.faults = Faults(error_rate=1.0, error_status=502, methods=("POST",))

    with pytest.raises(OutcomeUnknown, match="HTTP 502: injected fault; the provider may have acted"):
        await adapter.trigger(spec, creds, resolution(dep("p", 4)), KEY)
    assert state.requests[ROLLBACK_ROUTE] == 1
    assert not state.rollbacks  # the fault answered before the sandbox acted


async def test_rollbacks_are_counted_per_environment(
    adapter: VectorAdapter, spec_for: Callable[[str], VectorProvider], creds: Credentials, state: VectorState
) -> None:
    await adapter.trigger(spec_for(PROD), creds, resolution(dep("p", 4)), KEY)
    await adapter.trigger(spec_for(STAGING), creds, resolution(dep("s", 1)), KEY)

    assert state.rollbacks == {PROD: 1, STAGING: 1}


def test_every_spelling_of_one_api_shares_one_target_key() -> None:
    """One rollback at a time per environment, however the spec writes the API's URL."""
    adapter = VectorAdapter()
    keys = {
        adapter.target_key(VectorProvider(environment_id=PROD, api_url=url))
        for url in (
            "https://api.builtfast.com",
            "https://API.builtfast.com:443/",
            "https://api.builtfast.com./",
        )
    }

    assert keys == {f"vector:api.builtfast.com/{PROD}"}
    other_port = VectorProvider(environment_id=PROD, api_url="https://api.builtfast.com:8443")
    assert adapter.target_key(other_port) == f"vector:api.builtfast.com:8443/{PROD}"

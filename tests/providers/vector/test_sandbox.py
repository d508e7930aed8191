"""The Vector sandbox's own behaviour: routes, paging, seeding, limits and the demo seed."""

from __future__ import annotations

import re
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from rollback_operator.models import Target, VectorProvider
from rollback_operator.providers.vector import VectorAdapter
from rollback_operator.status_models import OperationState
from rollback_sandbox.common import SandboxServer
from rollback_sandbox.serve import Sandboxes
from rollback_sandbox.vector import VectorState, demo_seed
from tests.providers.vector.scenario import FAST, KEY, PROD, STAGING, STEP, TOKEN, Clock, dep

V = "/api/v1/vector"


@pytest.fixture
async def client(server: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


async def _ids(client: httpx.AsyncClient, path: str) -> list[str]:
    response = await client.get(path)
    assert response.status_code == 200
    return [item["id"] for item in response.json()["data"]]


async def test_deployments_are_listed_newest_first_with_laravel_paging(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V}/environments/{PROD}/deployments", params={"per_page": 4, "page": 2})

    body = response.json()
    assert [item["id"] for item in body["data"]] == [dep("p", 2), dep("p", 1)]
    assert body["meta"] == {"current_page": 2, "from": 5, "to": 6, "total": 6, "per_page": 4, "last_page": 2}
    assert body["links"]["prev"].endswith("?page=1")
    assert body["links"]["next"] is None


async def test_the_default_page_size_is_15(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V}/environments/{PROD}/deployments")

    assert response.json()["meta"]["per_page"] == 15


async def test_the_nested_routes_answer_like_the_flat_ones_until_switched_off(
    client: httpx.AsyncClient, state: VectorState
) -> None:
    nested = f"{V}/sites/{state.environments[PROD].site_id}/environments/{PROD}"
    flat = await _ids(client, f"{V}/environments/{PROD}/deployments")

    assert await _ids(client, f"{nested}/deployments") == flat
    assert (await client.get(f"{nested}/deployments/{dep('p', 5)}")).json()["data"]["id"] == dep("p", 5)
    assert (await client.get(f"{nested}/deployments/{dep('s', 1)}")).status_code == 404
    state.settings.legacy_routes = False
    assert (await client.get(f"{nested}/deployments")).status_code == 404


async def test_an_environment_is_found_by_its_subdomain_too(client: httpx.AsyncClient) -> None:
    assert await _ids(client, f"{V}/environments/quiet-harbor/deployments") == await _ids(
        client, f"{V}/environments/{PROD}/deployments"
    )


async def test_a_rollback_without_target_goes_to_the_previous_successful_deployment(
    client: httpx.AsyncClient, state: VectorState
) -> None:
    response = await client.post(f"{V}/environments/{PROD}/rollback")

    record = state.deployments[response.json()["data"]["id"]]
    assert record.target is not None
    assert record.target.id == dep("p", 4)
    assert state.rollbacks == {PROD: 1}


async def test_a_forward_deploy_is_not_counted_as_a_rollback(
    client: httpx.AsyncClient, state: VectorState, clock: Clock
) -> None:
    response = await client.post(f"{V}/environments/{PROD}/deployments")
    clock.advance(2 * STEP)

    assert response.status_code == 201
    assert (await _ids(client, f"{V}/environments/{PROD}/deployments"))[0] == response.json()["data"]["id"]
    assert not state.rollbacks


async def test_new_deployments_get_lowercase_ulids_that_sort_by_time(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    first = (await client.post(f"{V}/environments/{STAGING}/deployments")).json()["data"]["id"]
    clock.advance(2 * STEP)
    second = (await client.post(f"{V}/environments/{STAGING}/deployments")).json()["data"]["id"]

    assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{26}", first)
    assert first[:10] < second[:10]


async def test_the_rate_limit_headers_count_down(client: httpx.AsyncClient) -> None:
    first = await client.get(f"{V}/environments/{PROD}/deployments")
    second = await client.get(f"{V}/deployments/{dep('p', 1)}")

    assert first.headers["X-RateLimit-Limit"] == "120"
    assert int(first.headers["X-RateLimit-Remaining"]) - int(second.headers["X-RateLimit-Remaining"]) == 1


async def test_the_rate_limit_answers_429_with_retry_after_when_enforced(
    client: httpx.AsyncClient, state: VectorState
) -> None:
    state.settings.rate_limit, state.settings.enforce_rate_limit = 2, True
    answers = [await client.get(f"{V}/deployments/{dep('p', 1)}") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60


@pytest.mark.parametrize(
    ("seed", "problem"),
    [
        ({"settings": {"speed": 1}}, "unknown settings"),
        ({"settings": {"success_status": 404}}, "success_status must be a 2xx"),
        ({"settings": {"status_words": "going"}}, "status_words"),
        (
            {
                "environments": [
                    {"id": "e", "name": "x", "deployments": [{"id": "d", "status": "x", "kind": 1}]}
                ]
            },
            "unknown deployment fields",
        ),
        ({"environments": [{"name": "no id"}]}, "bad seed"),
    ],
    ids=["unknown-setting", "non-2xx-status", "unknown-words", "unknown-deployment-field", "missing-id"],
)
async def test_a_bad_seed_is_refused_with_a_reason(
    server: SandboxServer, seed: dict[str, Any], problem: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as control:
        response = await control.post("/_sandbox/seed", json=seed)

    assert response.status_code == 400
    assert problem in response.json()["error"]


async def test_the_state_snapshot_shows_environments_and_rollbacks(
    client: httpx.AsyncClient, server: SandboxServer
) -> None:
    await client.post(f"{V}/environments/{PROD}/rollback", json={"target_deployment_id": dep("p", 4)})

    snapshot = (await client.get(f"{server.url}/_sandbox/state")).json()

    assert snapshot["rollbacks"] == {PROD: 1}
    assert snapshot["environments"][PROD]["deployments"][0]["status"] == "pending"
    assert snapshot["settings"]["step_seconds"] == STEP


def test_a_reset_keeps_the_clock_and_forgets_the_data(state: VectorState, clock: Clock) -> None:
    state.rollbacks[PROD] += 1
    state.reset()

    assert state.clock is clock
    assert not state.environments
    assert not state.rollbacks


async def test_the_demo_seed_supports_a_rollback_to_success_and_one_to_failure(
    server: SandboxServer, state: VectorState, clock: Clock
) -> None:
    demo = demo_seed(clock())
    state.seed(demo)
    (token,) = demo["tokens"]
    production = demo["environments"][0]
    adapter = VectorAdapter(retry=FAST)
    spec = VectorProvider(environment_id=production["id"], api_url=server.url)
    creds = adapter.credentials({"token": token})
    try:
        resolved = await adapter.resolve(spec, creds, Target(steps_back=1))
        handle = await adapter.trigger(spec, creds, resolved, KEY)
        clock.advance(2 * state.settings.step_seconds)
        succeeded = await adapter.poll(spec, creds, handle)
        failing = await adapter.resolve(spec, creds, Target(steps_back=3))
        second = await adapter.trigger(spec, creds, failing, KEY)
        clock.advance(2 * state.settings.step_seconds)
        failed = await adapter.poll(spec, creds, second)
    finally:
        await adapter.aclose()

    assert succeeded.state is OperationState.SUCCEEDED
    assert failed.state is OperationState.FAILED
    assert failed.message == "Snapshot restore failed: the artifact expired from storage."
    assert state.rollbacks == {production["id"]: 2}


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_page_links_name_the_scheme_clients_use_behind_a_tls_front(scheme: str) -> None:
    """Behind the node tier's TLS front the sandbox serves plain http; its links still say https."""
    boxes = Sandboxes(scheme=scheme)
    token = next(iter(demo_seed()["tokens"]))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "shutdown_timeout should be set", DeprecationWarning)
        await boxes.start()
    try:
        environment = demo_seed()["environments"][0]["id"]
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=boxes.url("vector"), headers=headers) as client:
            response = await client.get(f"{V}/environments/{environment}/deployments", params={"per_page": 2})
    finally:
        await boxes.stop()

    links = response.json()["links"]
    host = boxes.url("vector").split("://", 1)[1]
    assert links["next"] == f"{scheme}://{host}{V}/environments/{environment}/deployments?page=2"
    assert links["first"].startswith(f"{scheme}://{host}/")

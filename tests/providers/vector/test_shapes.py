"""The sandbox speaks Vector's documented shapes (no official Python client exists to check against).

The models below are written from the OpenAPI spec and the response-format docs, strictly: every
documented field, nothing else (``extra="forbid"``). Every kind of answer the sandbox gives is
requested over HTTP and validated, with its ``http_status`` equal to the real status code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rollback_sandbox.common import SandboxServer
from rollback_sandbox.vector import BAD_TARGET, VectorState
from tests.providers.vector.scenario import BUSY, EMPTY, PROD, STEP, SUSPENDED, TOKEN, Clock, dep

Ulid = Annotated[str, StringConstraints(pattern=r"^[0-9a-hjkmnp-tv-z]{26}$")]
OffsetTime = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")]
ZuluTime = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")]
Status = Literal["pending", "deploying", "deployed", "running", "completed", "failed", "cancelled"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Environment(Strict):
    """The full environment object; the rollback answer carries only id, name, is_production."""

    id: str
    name: str
    is_production: bool
    vector_site_id: str | None = None
    your_customer_id: str | None = None
    status: str | None = None
    status_label: str | None = None
    php_version: str | None = None
    tags: list[str] | None = None
    fqdn: str | None = None
    custom_domain: str | None = None
    subdomain: str | None = None
    created_at: OffsetTime | None = None
    updated_at: OffsetTime | None = None


class Deployment(Strict):
    id: Ulid
    vector_environment_id: str
    status: Status
    status_label: str
    stdout: str | None
    stderr: str | None
    actor: str
    environment: Environment
    created_at: OffsetTime
    updated_at: OffsetTime


class ProseDeployment(Strict):
    """The rollback answer of the prose docs (D1)."""

    id: Ulid
    environment_id: str
    status: Literal["pending"]
    target_deployment_id: Ulid
    stdout: None
    stderr: None
    created_at: ZuluTime
    updated_at: ZuluTime


class Links(Strict):
    first: str
    last: str
    prev: str | None
    next: str | None


class Meta(Strict):
    current_page: int
    from_: int | None = Field(alias="from")
    to: int | None
    total: int
    per_page: int
    last_page: int


class Empty(Strict):
    pass


class DeploymentList(Strict):
    data: list[Deployment]
    links: Links
    meta: Meta
    message: Literal["Deployments retrieved successfully"]
    http_status: Literal[200]


class OneDeployment(Strict):
    data: Deployment
    message: str
    http_status: int


class ProseRollback(Strict):
    data: ProseDeployment
    message: Literal["Rollback initiated successfully"]
    http_status: Literal[202]


class Error(Strict):
    data: Empty
    message: str
    http_status: int
    errors: dict[str, list[str]] | None = None


Call = Callable[[httpx.AsyncClient, VectorState, Clock], Awaitable[httpx.Response]]
V = "/api/v1/vector"
A = f"{V}/environments/{PROD}"


def get(path: str, **headers: str) -> Call:
    return lambda client, state, clock: client.get(path, headers=headers)


def post(path: str, target: str | None = None) -> Call:
    body = {"target_deployment_id": target} if target else None
    return lambda client, state, clock: client.post(path, json=body)


def rollback_then_get(to: int, *, wait: float) -> Call:
    async def call(client: httpx.AsyncClient, state: VectorState, clock: Clock) -> httpx.Response:
        created = await client.post(f"{A}/rollback", json={"target_deployment_id": dep("p", to)})
        clock.advance(wait)
        return await client.get(f"{V}/deployments/{created.json()['data']['id']}")

    return call


async def prose_rollback(client: httpx.AsyncClient, state: VectorState, clock: Clock) -> httpx.Response:
    state.settings.success_status, state.settings.rollback_body = 202, "prose"
    return await client.post(f"{A}/rollback", json={"target_deployment_id": dep("p", 4)})


async def nested_list(client: httpx.AsyncClient, state: VectorState, clock: Clock) -> httpx.Response:
    return await client.get(f"{V}/sites/{state.environments[PROD].site_id}/environments/{PROD}/deployments")


async def rate_limited(client: httpx.AsyncClient, state: VectorState, clock: Clock) -> httpx.Response:
    state.settings.rate_limit, state.settings.enforce_rate_limit = 1, True
    await client.get(f"{A}/deployments")
    return await client.get(f"{A}/deployments")


CASES: dict[str, tuple[Call, int, type[BaseModel], dict[str, Any]]] = {
    "list-first-page": (get(f"{A}/deployments?per_page=4"), 200, DeploymentList, {}),
    "list-last-page": (get(f"{A}/deployments?per_page=4&page=2"), 200, DeploymentList, {}),
    "list-past-the-end": (get(f"{A}/deployments?page=9"), 200, DeploymentList, {}),
    "list-empty-environment": (get(f"{V}/environments/{EMPTY}/deployments"), 200, DeploymentList, {}),
    "list-nested-route": (nested_list, 200, DeploymentList, {}),
    "get-seeded": (
        get(f"{V}/deployments/{dep('p', 5)}"),
        200,
        OneDeployment,
        {"message": "Deployment retrieved successfully"},
    ),
    "get-rollback-pending": (rollback_then_get(4, wait=0), 200, OneDeployment, {}),
    "get-rollback-deploying": (rollback_then_get(4, wait=STEP), 200, OneDeployment, {}),
    "get-rollback-deployed": (rollback_then_get(4, wait=2 * STEP), 200, OneDeployment, {}),
    "get-rollback-failed": (rollback_then_get(2, wait=2 * STEP), 200, OneDeployment, {}),
    "rollback-201": (
        post(f"{A}/rollback", dep("p", 4)),
        201,
        OneDeployment,
        {"message": "Rollback initiated"},
    ),
    "rollback-202-prose": (prose_rollback, 202, ProseRollback, {}),
    "rollback-without-target": (post(f"{A}/rollback"), 201, OneDeployment, {}),
    "forward-deploy": (post(f"{A}/deployments"), 201, OneDeployment, {}),
    "401-no-token": (get(f"{A}/deployments", Authorization=""), 401, Error, {"message": "Unauthenticated"}),
    "401-wrong-token": (
        get(f"{A}/deployments", Authorization="Bearer nope"),
        401,
        Error,
        {"message": "Unauthenticated"},
    ),
    "404-environment": (
        post(f"{V}/environments/nope/rollback"),
        404,
        Error,
        {"message": "Environment not found"},
    ),
    "404-deployment": (get(f"{V}/deployments/nope"), 404, Error, {"message": "Deployment not found"}),
    "404-route": (get(f"{V}/nothing-here"), 404, Error, {}),
    "422-target": (
        post(f"{A}/rollback", dep("s", 1)),
        422,
        Error,
        {"message": "Validation failed", "errors": {"target_deployment_id": [BAD_TARGET]}},
    ),
    "422-per-page": (
        get(f"{A}/deployments?per_page=101"),
        422,
        Error,
        {"errors": {"per_page": ["Maximum items per page is 100."]}},
    ),
    "422-page": (get(f"{A}/deployments?page=0"), 422, Error, {}),
    "422-in-progress": (post(f"{V}/environments/{BUSY}/rollback"), 422, Error, {}),
    "422-inactive": (post(f"{V}/environments/{SUSPENDED}/rollback"), 422, Error, {}),
    "422-no-previous": (post(f"{V}/environments/{EMPTY}/rollback"), 422, Error, {}),
    "429": (rate_limited, 429, Error, {"message": "Too Many Attempts."}),
}


@pytest.fixture
async def client(server: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
        yield client


@pytest.mark.parametrize(("call", "status", "model", "fields"), CASES.values(), ids=CASES.keys())
async def test_every_sandbox_answer_has_the_documented_shape(
    client: httpx.AsyncClient,
    state: VectorState,
    clock: Clock,
    call: Call,
    status: int,
    model: type[BaseModel],
    fields: dict[str, Any],
) -> None:
    response = await call(client, state, clock)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    model.model_validate(body)
    assert body["http_status"] == status
    assert {key: body[key] for key in fields} == fields


def test_the_strict_models_reject_an_undocumented_field() -> None:
    good = {"data": {}, "message": "Unauthenticated", "http_status": 401}
    Error.model_validate(good)

    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        Error.model_validate({**good, "exception": "AuthenticationException"})

"""The Facets sandbox as a plain HTTP client sees it: auth, shapes, paging, restore, seeding."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from rollback_sandbox.common import SandboxServer
from rollback_sandbox.facets import FacetsState, demo_seed
from tests.providers.facets.support import (
    CLUSTER,
    TOKEN,
    USERNAME,
    resource,
    rollback_count,
    version_id,
    versions,
)

API = "/cc-ui/v1"
ARTIFACT = f"{API}/artifacts/cluster/{CLUSTER}/resourceType/service/resourceName/api"
HISTORY = f"{API}/clusters/{CLUSTER}/resourceType/service/resourceName/api/resource-history"


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, auth=(USERNAME, TOKEN)) as http:
        yield http


async def key_of(client: httpx.AsyncClient) -> str:
    return str((await client.get(ARTIFACT)).json()["versioningKey"])


async def listed(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/versions/{await key_of(client)}", params=params)
    assert response.status_code == 200
    return list(response.json())


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer " + TOKEN}, {"Authorization": "Basic !!!"}],
    ids=["none", "bearer", "garbage"],
)
async def test_requests_without_valid_basic_auth_get_401_plain_unauthorized(
    sandbox: SandboxServer, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url, headers=headers) as anonymous:
        response = await anonymous.get(ARTIFACT)

    assert (response.status_code, response.text) == (401, "Unauthorized")
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_a_wrong_token_gets_401(sandbox: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url, auth=(USERNAME, "fpt_wrong")) as wrong:
        assert (await wrong.post(f"{API}/versions/{version_id(5)}/restore")).status_code == 401


async def test_the_artifact_carries_the_versioning_key_and_the_live_snapshot(
    client: httpx.AsyncClient,
) -> None:
    artifact = (await client.get(ARTIFACT)).json()

    assert artifact["versioningKey"] == "com.capillary.ops.cp.bo.Artifact" + artifact["id"]
    assert (artifact["tag"], artifact["clusterId"], artifact["numberOfVersions"]) == ("1.6.0", CLUSTER, 6)


async def test_versions_come_newest_first_with_a_global_version_counter(client: httpx.AsyncClient) -> None:
    items = await listed(client, page=0, perPage=20)

    assert [item["id"] for item in items] == [version_id(n) for n in range(6, 0, -1)]
    numbers = [item["version"] for item in items]
    assert numbers == sorted(numbers, reverse=True)
    assert set(items[0]) == {"id", "versioningKey", "entity", "version", "archiveDate", "sequenceKey"}
    assert items[0]["entity"]["tag"] == "1.6.0"


async def test_the_default_page_size_is_ten(client: httpx.AsyncClient, state: FacetsState) -> None:
    state.seed({"resources": [resource("api", versions("api", 12))]})

    assert len(await listed(client)) == 10
    assert [item["id"] for item in await listed(client, page=1)] == [version_id(2), version_id(1)]


async def test_the_paginated_variant_answers_a_spring_page(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/versions/{await key_of(client)}/paginated?page=1&perPage=4")

    page = response.json()
    assert [item["id"] for item in page["content"]] == [version_id(2), version_id(1)]
    assert (page["totalElements"], page["totalPages"], page["number"], page["size"]) == (6, 2, 1, 4)
    assert (page["first"], page["last"], page["empty"], page["numberOfElements"]) == (False, True, False, 2)
    assert page["pageable"]["offset"] == 4


@pytest.mark.parametrize("query", ["page=-1", "perPage=0", "page=first"])
async def test_bad_paging_is_a_400_error_details(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"{API}/versions/{await key_of(client)}?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{API}/artifacts/cluster/{CLUSTER}/resourceType/service/resourceName/billing"),
        ("GET", f"{API}/versions/com.capillary.ops.cp.bo.Artifactffff"),
        ("GET", f"{API}/versions/id/ffff"),
        ("POST", f"{API}/versions/ffff/restore"),
        ("GET", f"{API}/clusters/{CLUSTER}/resourceType/job/resourceName/api/resource-history"),
    ],
)
async def test_unknown_things_are_404_error_details(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert response.json()["message"].endswith("not found")


async def test_a_version_is_found_by_id(client: httpx.AsyncClient) -> None:
    version = (await client.get(f"{API}/versions/id/{version_id(3)}")).json()

    assert (version["id"], version["entity"]["tag"]) == (version_id(3), "1.3.0")


async def test_a_restore_switches_the_live_version_and_artifact_without_a_new_entry(
    client: httpx.AsyncClient, state: FacetsState
) -> None:
    response = await client.post(f"{API}/versions/{version_id(3)}/restore")

    assert (response.status_code, response.json()) == (200, {})
    assert (await client.get(HISTORY)).json()["artifactVersion"]["liveVersionId"] == version_id(3)
    artifact = (await client.get(ARTIFACT)).json()
    assert (artifact["tag"], artifact["lastModifiedBy"]) == ("1.3.0", USERNAME)
    assert len(await listed(client, perPage=20)) == 6
    assert rollback_count(state) == 1
    assert state.snapshot()["restores"][0]["versionId"] == version_id(3)


@pytest.mark.parametrize(("failure", "status"), [("error", 500), ("reject", 400)])
async def test_a_restore_marked_to_fail_answers_error_details_and_changes_nothing(
    client: httpx.AsyncClient, state: FacetsState, failure: str, status: int
) -> None:
    marked = {version_id(2): {"failRestore": failure}}
    state.seed({"resources": [resource("api", versions("api", 3, marked))]})

    response = await client.post(f"{API}/versions/{version_id(2)}/restore")

    assert response.status_code == status
    assert set(response.json()) == {"code", "message"}
    assert state.resources[(CLUSTER, "service", "api")].live == version_id(3)
    assert rollback_count(state) == 0


async def test_a_user_without_restore_rights_gets_403_plain_forbidden(
    sandbox: SandboxServer, state: FacetsState
) -> None:
    async with httpx.AsyncClient(
        base_url=sandbox.url, auth=("viewer@acme.example", "fpt_viewer_token_1234")
    ) as v:
        assert (await v.get(ARTIFACT)).status_code == 200
        response = await v.post(f"{API}/versions/{version_id(5)}/restore")

    assert (response.status_code, response.text) == (403, "Forbidden")
    assert rollback_count(state) == 0


async def test_switches_hide_the_live_version_from_the_list_and_from_the_history(
    client: httpx.AsyncClient, state: FacetsState
) -> None:
    state.seed({"listsLiveVersion": False, "reportsLiveVersion": False})

    assert version_id(6) not in [item["id"] for item in await listed(client, perPage=20)]
    assert "liveVersionId" not in (await client.get(HISTORY)).json()["artifactVersion"]


@pytest.mark.parametrize(
    ("seed", "problem"),
    [
        ({"resources": [resource("api", [])]}, "needs at least one version"),
        ({"resources": [resource("api", versions("api", 2), liveVersionId="x")]}, "liveVersionId x"),
        ({"resources": [resource("jobs", versions("api", 2))]}, "used twice"),
        ({"resources": [{"clusterId": CLUSTER}]}, "resourceType"),
    ],
)
async def test_a_bad_seed_is_refused_by_the_control_api(
    sandbox: SandboxServer, seed: dict[str, Any], problem: str
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as control:
        response = await control.post("/_sandbox/seed", json=seed)

    assert response.status_code == 400
    assert problem in response.json()["error"]


async def test_the_state_snapshot_lists_each_resource_and_its_live_version(sandbox: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as control:
        snapshot = (await control.get("/_sandbox/state")).json()

    api = snapshot["resources"][f"{CLUSTER}/service/api"]
    assert (api["liveVersionId"], len(api["versions"])) == (version_id(6), 6)
    assert snapshot["rollbacks"] == {}


def test_the_demo_seed_loads_with_realistic_ids_and_credentials() -> None:
    state = FacetsState()
    state.seed(demo_seed())

    assert len(state.resources) == 2
    assert state.users
    for item in state.resources.values():
        assert item.live == item.versions[0]["id"]
        assert all(re.fullmatch(r"[0-9a-f]{24}", v["id"]) for v in item.versions)

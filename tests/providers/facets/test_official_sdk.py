"""The sandbox against the official Facets SDK (``facets-control-plane-sdk``, module ``swagger_client``).

The SDK is generated from the live control plane's OpenAPI document, so if it reads every sandbox
answer into its models with the values we seeded, and the sandbox sends no JSON key its models do
not know (beyond the ones the provider sheet documents), the sandbox speaks the real wire format.
The SDK is synchronous: the sandbox serves from its own thread here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import swagger_client  # type: ignore[import-untyped]
from swagger_client.rest import ApiException  # type: ignore[import-untyped]

from rollback_sandbox.common import SandboxServer
from rollback_sandbox.facets import FacetsState, create_app
from tests.providers.facets.support import (
    CLUSTER,
    TOKEN,
    USERNAME,
    rollback_count,
    seed_document,
    version_id,
)

# Documented by the provider sheet but absent from the SDK's models.
SHEET_ONLY = {"Artifact": {"numberOfVersions"}, "ResourceHistory": {"overridden"}}


@pytest.fixture
def served() -> Iterator[tuple[SandboxServer, FacetsState]]:
    state = FacetsState()
    state.seed(seed_document())
    server = SandboxServer(create_app(state))
    server.start_in_thread()
    yield server, state
    server.stop_thread()


def client_for(
    server: SandboxServer, username: str = USERNAME, password: str = TOKEN
) -> swagger_client.ApiClient:
    config = swagger_client.Configuration()
    config.host = server.url
    config.username = username
    config.password = password
    return swagger_client.ApiClient(config)


@pytest.fixture
def sdk(served: tuple[SandboxServer, FacetsState]) -> swagger_client.ApiClient:
    return client_for(served[0])


def artifacts(sdk: swagger_client.ApiClient) -> Any:
    return swagger_client.UiArtifactsControllerApi(sdk)


def versioning(sdk: swagger_client.ApiClient) -> Any:
    return swagger_client.UiVersioningControllerApi(sdk)


def current_artifact(sdk: swagger_client.ApiClient, **options: Any) -> Any:
    return artifacts(sdk).get_artifacts_by_resource_name_and_resource_type(
        CLUSTER, "service", "api", **options
    )


def raw(response: Any) -> Any:
    """The JSON body of a call made with ``_preload_content=False``."""
    return json.loads(response.data)


def unknown_keys(body: dict[str, Any], model: str) -> set[str]:
    known = set(getattr(swagger_client.models, model).attribute_map.values())
    return set(body) - known - SHEET_ONLY.get(model, set())


def test_the_sdk_reads_the_current_artifact_with_the_seeded_values(sdk: swagger_client.ApiClient) -> None:
    artifact = current_artifact(sdk)

    assert isinstance(artifact, swagger_client.Artifact)
    assert artifact.versioning_key == "com.capillary.ops.cp.bo.Artifact" + artifact.id
    assert (artifact.tag, artifact.build_id, artifact.cluster_id) == ("1.6.0", "build-106", CLUSTER)
    assert (artifact.release_type, artifact.registration_type) == ("RELEASE", "ENVIRONMENT")
    assert isinstance(artifact.created_on, datetime)


def test_the_sdk_lists_versions_page_by_page_with_per_page(sdk: swagger_client.ApiClient) -> None:
    key = current_artifact(sdk).versioning_key

    first = versioning(sdk).get_versions(key, page=0, per_page=4)
    second = versioning(sdk).get_versions(key, page=1, per_page=4)

    assert all(isinstance(v, swagger_client.VersionVersioned) for v in first + second)
    assert [v.id for v in first + second] == [version_id(n) for n in range(6, 0, -1)]
    assert all(v.versioning_key == key and v.sequence_key == key for v in first)
    assert isinstance(first[0].archive_date, datetime)
    assert first[0].version > second[0].version
    assert first[0].entity.versioning_key == key


def test_the_sdk_reads_the_paginated_variant_and_a_version_by_id(sdk: swagger_client.ApiClient) -> None:
    key = current_artifact(sdk).versioning_key

    page = versioning(sdk).get_versions_paginated(key, page=0, per_page=4)
    single = versioning(sdk).get_version_by_id(version_id(2))

    assert isinstance(page, swagger_client.PageVersionVersioned)
    assert (page.total_elements, page.total_pages, page.first, page.last) == (6, 2, True, False)
    assert page.pageable.page_size == 4
    assert [v.id for v in page.content] == [version_id(n) for n in range(6, 2, -1)]
    assert isinstance(single, swagger_client.Version)
    assert single.id == version_id(2)


def test_the_sdk_restores_a_version_and_the_history_shows_it_live(
    sdk: swagger_client.ApiClient, served: tuple[SandboxServer, FacetsState]
) -> None:
    server, state = served

    answer = versioning(sdk).restore(version_id(4))
    history = swagger_client.UiApplicationControllerApi(sdk).get_resource_history(CLUSTER, "service", "api")

    assert answer == {}
    assert isinstance(history, swagger_client.ResourceHistory)
    assert history.artifact_version.live_version_id == version_id(4)
    assert current_artifact(sdk).tag == "1.4.0"
    assert server.call(lambda: rollback_count(state)) == 1


def test_the_sdk_sees_error_details_and_plain_401(
    sdk: swagger_client.ApiClient, served: tuple[SandboxServer, FacetsState]
) -> None:
    with pytest.raises(ApiException) as missing:
        versioning(sdk).restore("ffffffffffffffffffffffff")
    with pytest.raises(ApiException) as unauthorized:
        current_artifact(client_for(served[0], password="fpt_wrong"))

    details = swagger_client.ErrorDetails(**json.loads(missing.value.body))
    assert (missing.value.status, details.code) == (404, "NOT_FOUND")
    assert (unauthorized.value.status, unauthorized.value.body) == (401, b"Unauthorized")
    assert served[1].rollbacks == {}


def test_the_sandbox_sends_no_key_the_sdk_models_do_not_know(sdk: swagger_client.ApiClient) -> None:
    artifact = raw(current_artifact(sdk, _preload_content=False))
    key = artifact["versioningKey"]
    listed = raw(versioning(sdk).get_versions(key, page=0, per_page=10, _preload_content=False))
    page = raw(versioning(sdk).get_versions_paginated(key, per_page=2, _preload_content=False))
    history = raw(
        swagger_client.UiApplicationControllerApi(sdk).get_resource_history(
            CLUSTER, "service", "api", _preload_content=False
        )
    )

    assert unknown_keys(artifact, "Artifact") == set()
    for version in listed + page["content"] + history["artifactVersion"]["versions"]:
        assert unknown_keys(version, "VersionVersioned") == set()
        # The sheet: the entity is a snapshot of the artifact at that version.
        assert unknown_keys(version["entity"], "Artifact") == set()
    assert unknown_keys(page, "PageVersionVersioned") == set()
    assert unknown_keys(page["pageable"], "PageableObject") == set()
    assert unknown_keys(page["sort"], "SortObject") == set()
    assert unknown_keys(history, "ResourceHistory") == set()
    assert unknown_keys(history["artifactVersion"], "HistoryMetadata") == set()

"""Shared data and helpers of the Facets adapter and sandbox tests: seeds, specs, scripted faults.

The seed is one environment with an ``api`` service (six versions, the newest live) and a
``worker`` service; ``version_id(n)`` names version ``n`` (1 = oldest) the way Facets does (24 hex
digits). ``ScriptedRandom`` decides which requests the sandbox's fault middleware disturbs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from rollback_operator.models import FacetsProvider
from rollback_operator.providers.http import RetryPolicy

CLUSTER = "6523f0c2e4b0a1f2c3d4e5f6"
USERNAME = "ops@acme.example"
TOKEN = "fpt_s3cr3t_T0ken_9f8e7d"
SECRET_DATA = {"username": USERNAME, "token": TOKEN}
API_VERSIONS = 6
FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01, max_retry_after=2.0)
VERSIONS_ROUTE = "GET /cc-ui/v1/versions/{key}"
HISTORY_ROUTE = "GET /cc-ui/v1/clusters/{cluster}/resourceType/{type}/resourceName/{name}/resource-history"
RESTORE_ROUTE = "POST /cc-ui/v1/versions/{id}/restore"


def version_id(n: int, resource: str = "api") -> str:
    """The id of version ``n`` (1 = oldest) of a seeded resource."""
    prefix = {"api": "65a0c1e2f3a4b5c6d7e8", "worker": "65b0c1e2f3a4b5c6d7e8"}[resource]
    return f"{prefix}{n:04x}"


def versions(
    resource: str, count: int, extra: Mapping[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Seed entries, newest first; ``extra`` maps a version id to more fields for it."""
    extra = extra or {}
    return [
        {
            "id": version_id(n, resource),
            "tag": f"1.{n}.0",
            "artifactUri": f"registry.acme.example/{resource}:1.{n}.0",
            "buildId": f"build-{100 + n}",
            **extra.get(version_id(n, resource), {}),
        }
        for n in range(count, 0, -1)
    ]


def seed_document(*, api_versions: int = API_VERSIONS, **options: Any) -> dict[str, Any]:
    """The standard seed; ``options`` become top-level seed keys (e.g. ``reportsLiveVersion``)."""
    return {
        "users": [
            {"username": USERNAME, "token": TOKEN},
            {"username": "viewer@acme.example", "token": "fpt_viewer_token_1234", "canRestore": False},
        ],
        "resources": [
            resource("api", versions("api", api_versions)),
            resource("worker", versions("worker", 3)),
        ],
        **options,
    }


def resource(name: str, entries: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """One seeded service in the standard environment."""
    return {
        "clusterId": CLUSTER,
        "clusterName": "production",
        "resourceType": "service",
        "resourceName": name,
        "artifact": {"applicationName": name, "releaseType": "RELEASE", "registrationType": "ENVIRONMENT"},
        "versions": entries,
        **fields,
    }


def spec_for(url: str, name: str = "api") -> FacetsProvider:
    """The provider block for a seeded service behind ``url``."""
    return FacetsProvider(
        control_plane_url=url, environment_id=CLUSTER, resource_type="service", resource_name=name
    )


def rollback_count(state: Any, name: str = "api") -> int:
    """How many restores the sandbox performed on a seeded service."""
    return int(state.rollbacks[f"{CLUSTER}/service/{name}"])


class ScriptedRandom:
    """Stands in for ``random`` in the fault middleware: the listed draws first, then no faults.

    With one fault kind enabled the middleware draws once per request, so ``[0.0]`` disturbs
    exactly the first request and ``[1.0, 0.0]`` exactly the second.
    """

    def __init__(self, draws: Iterable[float]) -> None:
        self._draws = iter(draws)

    def random(self) -> float:
        return next(self._draws, 1.0)


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    """A canned response for MockTransport-based tests."""
    return httpx.Response(status, json=body, headers=headers)

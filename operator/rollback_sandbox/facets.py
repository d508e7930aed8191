"""A local Facets.cloud control plane: the artifact-versioning endpoints, over real HTTP.

The sandbox application (``create_app``) and a demo seed (``demo_seed``), used by the Facets
adapter's contract tests, the official-SDK checks, the demo and ``rollback-operator sandbox``. The
data and its seed document are in ``facets_state.py``; the routes, HTTP Basic, paging and error
answers in ``facets_routes.py``. Both are re-exported here, so callers import from this module.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from rollback_sandbox.common import build_app
from rollback_sandbox.facets_routes import API, DEFAULT_PER_PAGE, RESOURCE, Handler, add_routes
from rollback_sandbox.facets_state import ARTIFACT_CLASS, FacetsState, Resource, rollback_key

__all__ = [
    "API",
    "ARTIFACT_CLASS",
    "DEFAULT_PER_PAGE",
    "RESOURCE",
    "FacetsState",
    "Handler",
    "Resource",
    "add_routes",
    "create_app",
    "demo_seed",
    "rollback_key",
]


def create_app(state: FacetsState) -> web.Application:
    """The sandbox application: fault middleware, control API and the Facets routes."""
    return build_app(state, add_routes)


def demo_seed() -> dict[str, Any]:
    """A realistic seed: one user, an API service with five releases and a worker with three."""
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

    def releases(app: str, tags: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "id": hashlib.sha256(f"{app}:{tag}".encode()).hexdigest()[:24],
                "tag": tag,
                "artifactUri": f"{registry}/{app}:{tag}",
                "buildId": f"build-{812 - n}",
                "buildDescription": f"{app} {tag}",
                "metadata": {"BRANCH_NAME": "main"},
            }
            for n, tag in enumerate(tags)
        ]

    def service(name: str, tags: list[str]) -> dict[str, Any]:
        return {
            "clusterId": "6523f0c2e4b0a1f2c3d4e5f6",
            "clusterName": "production",
            "resourceType": "service",
            "resourceName": name,
            "versions": releases(name, tags),
            "artifact": {
                "applicationName": name,
                "releaseStream": "PRODUCTION",
                "releaseType": "RELEASE",
                "repositoryName": f"acme/{name}",
                "registrationType": "ENVIRONMENT",
                "artifactory": "ecr",
                "createdBy": "ci@acme.example",
                "promoted": False,
                "classified": False,
            },
        }

    return {
        "users": [{"username": "ops@acme.example", "token": "fpt_demo_7Yk2c9QxLw3R"}],
        "resources": [
            service("api", ["2.4.1", "2.4.0", "2.3.7", "2.3.6", "2.3.5"]),
            service("worker", ["1.9.0", "1.8.2", "1.8.1"]),
        ],
    }

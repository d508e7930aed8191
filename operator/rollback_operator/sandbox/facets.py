"""A local Facets.cloud control plane: the artifact-versioning endpoints, over real HTTP.

Used by the Facets adapter's contract tests, the official-SDK checks, the demo and
``rollback-operator sandbox``. Serves, behind HTTP Basic (401 ``text/plain`` "Unauthorized"):

- ``GET  /cc-ui/v1/artifacts/cluster/{c}/resourceType/{t}/resourceName/{n}``: the current Artifact;
- ``GET  /cc-ui/v1/clusters/{c}/resourceType/{t}/resourceName/{n}/resource-history``;
- ``GET  /cc-ui/v1/versions/{versioningKey}?page&perPage``: a bare array, newest first
  (``perPage`` defaults to 10, as in the live spec), and ``.../paginated`` (a Spring ``Page``);
- ``GET  /cc-ui/v1/versions/id/{id}``; ``POST /cc-ui/v1/versions/{id}/restore``.

Unknown resources, keys and ids answer 404 ``ErrorDetails`` (``{"code", "message"}``, code a
string). Restore is synchronous: it makes the version live (the artifact becomes its snapshot),
appends no new version entry, answers ``{}`` and counts ``rollbacks[rollback_key(...)]``.

Seed document (``POST /_sandbox/seed`` or ``FacetsState.seed``)::

    {"users": [{"username": "ops@acme.example", "token": "fpt_...", "canRestore": true}],
     "listsLiveVersion": true,     # false: the version list leaves the live version out
     "reportsLiveVersion": true,   # false: resource-history carries no liveVersionId
     "resources": [{
        "clusterId": "6523f0c2e4b0a1", "resourceType": "service", "resourceName": "api",
        "clusterName": "production", "artifactId": "...", "versioningKey": "...",   # optional
        "artifact": {"applicationName": "api", ...},      # optional extra Artifact fields
        "liveVersionId": "...",                           # optional; default the newest
        "versions": [                                     # newest first
          {"id": "v3", "tag": "1.4.2", "artifactUri": "registry/api:1.4.2",
           "archiveDate": "2026-11-20T10:00:00.000Z",     # optional
           "failRestore": "error" | "reject"}]}]}         # optional: 500 / 400, nothing changes

Version fields other than ``id``, ``archiveDate`` and ``failRestore`` form the snapshot.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from rollback_operator.sandbox.common import SandboxState, build_app

API = "/cc-ui/v1"
RESOURCE = "resourceType/{type}/resourceName/{name}"
ARTIFACT_CLASS = "com.capillary.ops.cp.bo.Artifact"
DEFAULT_PER_PAGE = 10
_SEED_ONLY = ("id", "archiveDate", "failRestore")


def rollback_key(cluster_id: str, resource_type: str, resource_name: str) -> str:
    """The ``state.rollbacks`` key of one resource."""
    return f"{cluster_id}/{resource_type}/{resource_name}"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Resource:
    """One resource's artifact and its version history (newest first)."""

    cluster: str
    type: str
    name: str
    cluster_name: str
    artifact: dict[str, Any]
    """Artifact fields that no version changes (id, versioningKey, applicationName, ...)."""
    versions: list[dict[str, Any]]
    live: str
    modified: tuple[str, str] = ("", "ci@facets.cloud")
    """When and by whom the artifact last changed."""

    @property
    def key(self) -> str:
        return rollback_key(self.cluster, self.type, self.name)

    def version(self, version_id: str) -> dict[str, Any] | None:
        return next((v for v in self.versions if v["id"] == version_id), None)

    def current(self) -> dict[str, Any]:
        """The Artifact as served: stable fields overlaid with the live version's snapshot."""
        snapshot = (self.version(self.live) or {}).get("entity", {})
        when, who = self.modified
        return {
            **self.artifact,
            **snapshot,
            "lastModifiedDate": when or snapshot.get("createdOn"),
            "lastModifiedBy": who,
            "numberOfVersions": len(self.versions),
        }


class FacetsState(SandboxState):
    """Users, resources with their histories, restore failures, and what happened."""

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, str] = {}
        self.read_only: set[str] = set()
        self.resources: dict[tuple[str, str, str], Resource] = {}
        self.fail_restore: dict[str, str] = {}
        """Version id → "error" (500) or "reject" (400); either way nothing changes."""
        self.lists_live_version = True
        self.reports_live_version = True
        self.restores: list[dict[str, str]] = []
        self._counter = itertools.count(4_100)  # Facets' version numbers are one global sequence

    def seed(self, data: dict[str, Any]) -> None:
        """Load users and resources (see the module docstring); later seeds add or replace."""
        for user in data.get("users", []):
            self.users[user["username"]] = user["token"]
            if not user.get("canRestore", True):
                self.read_only.add(user["username"])
        self.lists_live_version = bool(data.get("listsLiveVersion", self.lists_live_version))
        self.reports_live_version = bool(data.get("reportsLiveVersion", self.reports_live_version))
        for spec in data.get("resources", []):
            where = (spec["clusterId"], spec["resourceType"], spec["resourceName"])
            self.resources.pop(where, None)  # a resource seeded again is replaced whole
            self.resources[where] = self._resource(spec)

    def _resource(self, spec: dict[str, Any]) -> Resource:
        cluster, kind, name = spec["clusterId"], spec["resourceType"], spec["resourceName"]
        artifact_id = (
            spec.get("artifactId") or hashlib.sha256(f"{cluster}/{kind}/{name}".encode()).hexdigest()[:24]
        )
        key = spec.get("versioningKey") or ARTIFACT_CLASS + artifact_id
        if not spec.get("versions"):
            raise ValueError(f"resource {cluster}/{kind}/{name} needs at least one version")
        stable = {**spec.get("artifact", {}), "id": artifact_id, "versioningKey": key, "clusterId": cluster}
        versions = self._versions(spec["versions"], key=key, stable=stable)
        live = spec.get("liveVersionId", versions[0]["id"])
        if all(v["id"] != live for v in versions):
            raise ValueError(f"liveVersionId {live} is not among the versions of {cluster}/{kind}/{name}")
        return Resource(cluster, kind, name, spec.get("clusterName", cluster), stable, versions, live)

    def _versions(
        self, entries: list[dict[str, Any]], *, key: str, stable: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Wire-shaped versions, newest first, numbered oldest first from the global counter."""
        start = datetime.now(UTC) - timedelta(hours=len(entries))
        built: list[dict[str, Any]] = []
        for age, entry in enumerate(reversed(entries)):
            if self.find_version(entry["id"]) or any(v["id"] == entry["id"] for v in built):
                raise ValueError(f"version id {entry['id']} is used twice")
            if entry.get("failRestore"):
                self.fail_restore[entry["id"]] = entry["failRestore"]
            archived = entry.get("archiveDate") or _iso(start + timedelta(hours=age))
            snapshot = {k: v for k, v in entry.items() if k not in _SEED_ONLY}
            entity = {**stable, "createdOn": archived, **snapshot}
            built.append(
                {
                    "id": entry["id"],
                    "versioningKey": key,
                    "entity": entity,
                    "version": next(self._counter),
                    "archiveDate": archived,
                    "sequenceKey": key,
                }
            )
        return built[::-1]

    def by_key(self, versioning_key: str) -> Resource | None:
        return next(
            (r for r in self.resources.values() if r.artifact["versioningKey"] == versioning_key), None
        )

    def find_version(self, version_id: str) -> tuple[Resource, dict[str, Any]] | None:
        for resource in self.resources.values():
            version = resource.version(version_id)
            if version is not None:
                return resource, version
        return None

    def listed(self, resource: Resource) -> list[dict[str, Any]]:
        """The versions the list endpoints serve."""
        return [v for v in resource.versions if self.lists_live_version or v["id"] != resource.live]

    def restore(self, resource: Resource, version_id: str, user: str) -> None:
        """Make ``version_id`` live: the one place a rollback is counted."""
        when = _iso(datetime.now(UTC))
        resource.live = version_id
        resource.modified = (when, user)
        self.rollbacks[resource.key] += 1
        self.restores.append({"resource": resource.key, "versionId": version_id, "at": when})

    def snapshot(self) -> dict[str, Any]:
        """Counters plus each resource's live version and version ids, and the restores."""
        resources = {
            r.key: {
                "versioningKey": r.artifact["versioningKey"],
                "liveVersionId": r.live,
                "versions": [v["id"] for v in r.versions],
            }
            for r in self.resources.values()
        }
        return {**super().snapshot(), "resources": resources, "restores": list(self.restores)}


# ------------------------------------------------------------------------------------ HTTP


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _not_found(what: str) -> web.Response:
    return _error(404, "NOT_FOUND", f"{what} not found")


def _user(request: web.Request, state: FacetsState) -> str | None:
    """The authenticated user's e-mail, or None."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username if username in state.users and state.users[username] == token else None


Handler = Callable[[web.Request, str], Awaitable[web.Response]]


def _authed(state: FacetsState, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def checked(request: web.Request) -> web.Response:
        user = _user(request, state)
        if user is None:
            return web.Response(
                status=401, text="Unauthorized", headers={"WWW-Authenticate": 'Basic realm="Realm"'}
            )
        return await handler(request, user)

    return checked


def _paging(request: web.Request) -> tuple[int, int]:
    """``page`` and ``perPage``; a bad value raises ``ValueError``."""
    page = int(request.query.get("page", "0"))
    per_page = int(request.query.get("perPage", str(DEFAULT_PER_PAGE)))
    if page < 0 or per_page < 1:
        raise ValueError("page must be >= 0 and perPage >= 1")
    return page, per_page


def _spring_page(items: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    chunk = items[page * size : (page + 1) * size]
    pages = math.ceil(len(items) / size)
    sort = {"sorted": False, "unsorted": True, "empty": True}
    pageable = {"pageNumber": page, "pageSize": size, "offset": page * size, "paged": True, "unpaged": False}
    return {
        "content": chunk,
        "pageable": {**pageable, "sort": sort},
        "totalElements": len(items),
        "totalPages": pages,
        "last": page >= pages - 1,
        "size": size,
        "number": page,
        "sort": sort,
        "numberOfElements": len(chunk),
        "first": page == 0,
        "empty": not chunk,
    }


def _history(state: FacetsState, resource: Resource) -> dict[str, Any]:
    artifact: dict[str, Any] = {"versions": state.listed(resource)[:DEFAULT_PER_PAGE]}
    if state.reports_live_version:
        artifact["liveVersionId"] = resource.live
    empty: dict[str, Any] = {"versions": []}
    return {
        "resourceName": resource.name,
        "resourceType": resource.type,
        "alpha": False,
        "overridden": False,
        "resourceStatus": "RUNNING",
        "disabled": False,
        "clusterId": resource.cluster,
        "clusterName": resource.cluster_name,
        "blueprintVersion": empty,
        "overrideVersion": empty,
        "artifactVersion": artifact,
    }


def add_routes(app: web.Application, state: FacetsState) -> None:
    """Register the Facets API routes."""

    def resource_of(request: web.Request) -> Resource | None:
        info = request.match_info
        return state.resources.get((info["cluster"], info["type"], info["name"]))

    async def artifact(request: web.Request, _: str) -> web.Response:
        resource = resource_of(request)
        return web.json_response(resource.current()) if resource else _not_found("Artifact")

    async def history(request: web.Request, _: str) -> web.Response:
        resource = resource_of(request)
        return web.json_response(_history(state, resource)) if resource else _not_found("Resource")

    async def versions(request: web.Request, _: str) -> web.Response:
        resource = state.by_key(request.match_info["key"])
        if resource is None:
            return _not_found(f"Versioning key {request.match_info['key']}")
        try:
            page, size = _paging(request)
        except ValueError as exc:
            return _error(400, "BAD_REQUEST", str(exc))
        items = state.listed(resource)
        if request.path.endswith("/paginated"):
            return web.json_response(_spring_page(items, page, size))
        return web.json_response(items[page * size : (page + 1) * size])

    async def version_by_id(request: web.Request, _: str) -> web.Response:
        found = state.find_version(request.match_info["id"])
        return web.json_response(found[1]) if found else _not_found(f"Version {request.match_info['id']}")

    async def restore(request: web.Request, user: str) -> web.Response:
        version_id = request.match_info["id"]
        found = state.find_version(version_id)
        if found is None:
            return _not_found(f"Version {version_id}")
        if user in state.read_only:
            return web.Response(status=403, text="Forbidden")
        failure = state.fail_restore.get(version_id)
        if failure == "error":
            return _error(500, "INTERNAL_SERVER_ERROR", f"Failed to restore version {version_id}")
        if failure == "reject":
            return _error(400, "BAD_REQUEST", f"Version {version_id} cannot be restored")
        state.restore(found[0], version_id, user)
        return web.json_response({})

    app.router.add_get(f"{API}/artifacts/cluster/{{cluster}}/{RESOURCE}", _authed(state, artifact))
    app.router.add_get(f"{API}/clusters/{{cluster}}/{RESOURCE}/resource-history", _authed(state, history))
    app.router.add_get(f"{API}/versions/id/{{id}}", _authed(state, version_by_id))
    app.router.add_get(f"{API}/versions/{{key}}/paginated", _authed(state, versions))
    app.router.add_get(f"{API}/versions/{{key}}", _authed(state, versions))
    app.router.add_post(f"{API}/versions/{{id}}/restore", _authed(state, restore))


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

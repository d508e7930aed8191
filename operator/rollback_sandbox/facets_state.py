"""The Facets sandbox's data: users, resources with their version histories, and restores.

``FacetsState`` is read and changed by the routes in ``facets_routes.py`` and seeded by tests and
the demo through ``facets.py``, which re-exports it and ``rollback_key``. A restore makes the
version live (the artifact becomes its snapshot), appends no new version entry and counts
``rollbacks[rollback_key(...)]``.

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

import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rollback_sandbox.common import SandboxState

ARTIFACT_CLASS = "com.capillary.ops.cp.bo.Artifact"
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

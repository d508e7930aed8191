"""One RollbackRequest kept in memory, for tests of the status writer without an API server.

``fresh()`` is a request as created, before the operator wrote anything. ``MemoryKube`` offers what
the reconciler needs of the Kubernetes API (``port.Kube``) over that one object and its records:
status patches merge like the API server's merge-patch and bump ``resourceVersion``; each patch
(with the resourceVersion that guarded it, if any) and each Event's reason is recorded.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from rollback_operator.errors import Conflict


def fresh(generation: int = 1, *, uid: str = "0b7f", **spec: Any) -> dict[str, Any]:
    """A request as created; ``spec`` adds or overrides spec fields (camelCase, as on the wire)."""
    return {
        "apiVersion": "rollback.dev/v1alpha1",
        "kind": "RollbackRequest",
        "metadata": {
            "name": "api-after-bad-release",
            "namespace": "payments",
            "uid": uid,
            "generation": generation,
            "resourceVersion": "100",
            "creationTimestamp": "2026-11-22T09:59:59Z",
        },
        "spec": {
            "reason": "5xx spike",
            "provider": {"vector": {"environmentId": "01jfgxk4"}},
            "credentialsSecretRef": {"name": "vector-credentials"},
            **spec,
        },
    }


class MemoryKube:
    """The one object and its RollbackRecords, kept in memory, with every status patch, record write
    and Event recorded."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.records: dict[str, dict[str, Any]] = {}
        self.record_writes: list[tuple[str, str | None]] = []
        """("create" or "patch", the resourceVersion a patch was guarded by or None), in order."""
        self.patches: list[tuple[dict[str, Any], str | None]] = []
        """(status patch, the resourceVersion it was guarded by or None), in order."""
        self.events: list[str] = []
        """The reason of every Event posted, in order."""
        self.record_reads: list[bool] = []
        """Every read of a record: whether it allowed the API server's cache, in order."""
        self.behind: set[str] = set()
        """Records a cached read misses (created a moment ago, not yet in the watch cache)."""

    async def get(self, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.body)

    async def patch_status(
        self, namespace: str, name: str, status: Mapping[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        self.patches.append((dict(status), resource_version))
        self.body["status"] = {**(self.body.get("status") or {}), **status}
        self.body["metadata"]["resourceVersion"] = str(int(self.body["metadata"]["resourceVersion"]) + 1)
        return copy.deepcopy(self.body)

    async def get_record(self, name: str, *, cached: bool = False) -> dict[str, Any] | None:
        self.record_reads.append(cached)
        if cached and name in self.behind:  # the API server's watch cache has not seen it yet
            return None
        record = self.records.get(name)
        return copy.deepcopy(record) if record is not None else None

    async def create_record(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        if name in self.records:
            raise Conflict(f"RollbackRecord {name} exists")
        self.record_writes.append(("create", None))
        record = copy.deepcopy(dict(body))
        record["metadata"].update(resourceVersion="1", creationTimestamp="2026-11-22T10:00:00Z")
        self.records[name] = record
        return copy.deepcopy(record)

    async def patch_record(
        self, name: str, patch: Mapping[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        record = self.records[name]
        if resource_version is not None and resource_version != record["metadata"]["resourceVersion"]:
            raise Conflict(f"RollbackRecord {name} changed")
        self.record_writes.append(("patch", resource_version))
        for key, value in patch.items():
            if key != "metadata":
                record[key] = {**(record.get(key) or {}), **value}
        record["metadata"]["resourceVersion"] = str(int(record["metadata"]["resourceVersion"]) + 1)
        return copy.deepcopy(record)

    async def list_approvals(self, namespace: str) -> list[dict[str, Any]]:
        return []

    async def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        return None

    async def post_event(self, obj: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        self.events.append(reason)

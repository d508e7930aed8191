"""The Yandex sandbox's data: containers, revisions, rollback operations and the IAM service.

``YandexState`` holds what the sandbox knows (seed format: ``YandexState.seed``), advances
operations with time (computed when observed, ``settle``), starts rollbacks and renders
Operations and revision pages as Yandex's REST gateway does. Served by ``yandex_routes.py``;
re-exported by ``yandex.py``.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from rollback_sandbox.common import SandboxState
from rollback_sandbox.yandex_iam import NS, TYPE_PREFIX, ApiError, IamService, new_id, timestamp

_FILTER = re.compile(r'^\s*status\s*=\s*"([A-Z_]+)"\s*$')


@dataclass
class _Operation:
    id: str
    container_id: str
    revision_id: str
    created_ns: int
    created_by: str
    done_ns: int
    failure: str | None
    applied: bool = False


class YandexState(SandboxState):
    """Keys, tokens, containers, revisions and operations of the sandbox (see ``seed``)."""

    def __init__(self) -> None:
        super().__init__()
        self.iam = IamService()
        self.operation_seconds = 0.0
        """Seconds from a rollback's start to ``done``; 0 finishes it within the call."""
        self.containers: dict[str, dict[str, Any]] = {}
        self.revisions: dict[str, dict[str, Any]] = {}
        self.failing: dict[str, str] = {}
        """revision id → the error a rollback to it ends with."""
        self.operations: dict[str, _Operation] = {}
        self.idempotency: dict[str, str] = {}
        """Idempotency-Key → operation id."""

    def seed(self, data: dict[str, Any]) -> None:
        """Add to the state from a JSON document (every key optional)::

            {"operationSeconds": 2, "tokenLifetimeSeconds": 43200,
             "iamTokens": {"t1.any-string": "<subject id>"},
             "serviceAccountKeys": [{"id": "<key id>", "serviceAccountId": "aje...",
                                     "publicKey": "-----BEGIN PUBLIC KEY-----...",
                                     "authorizedKey": {...ignored; see make_service_account_key}}],
             "containers": [{"id": "bba...", "folderId": "b1g...", "name": "api",
                             "revisions": [{"id": "bbarev...", "image": "cr.yandex/crp.../api:1.4",
                                            "createdAt": "2026-11-20T10:00:00.123456789Z",
                                            "status": "ACTIVE", "description": "",
                                            "failRollback": false}]}]}

        ``failRollback`` may be a string: the error message of a rollback to that revision.
        Later seeds add to the state; a container seeded again is replaced with its revisions.
        """
        self.operation_seconds = float(data.get("operationSeconds", self.operation_seconds))
        self.iam.seed(data)
        for container in data.get("containers", []):
            self._seed_container(container)

    def _seed_container(self, data: dict[str, Any]) -> None:
        container_id, now = data["id"], time.time_ns()
        for stale in [rid for rid, body in self.revisions.items() if body["containerId"] == container_id]:
            del self.revisions[stale]  # a container seeded again is replaced whole
            self.failing.pop(stale, None)
        self.containers[container_id] = {
            "id": container_id,
            "folderId": data.get("folderId", "b1gsandbox0000000001"),
            "createdAt": data.get("createdAt", timestamp(now - 86400 * NS)),
            "name": data.get("name", container_id),
            "url": f"https://{container_id}.containers.yandexcloud.net/",
            "status": "ACTIVE",
        }
        revisions = data.get("revisions", [])
        for index, revision in enumerate(revisions):
            default_created = timestamp(now - (len(revisions) - index) * 60 * NS)
            self.revisions[revision["id"]] = _revision_json(container_id, revision, default_created)
            failure = revision.get("failRollback")
            if failure:
                message = failure if isinstance(failure, str) else "container failed its startup probe"
                self.failing[revision["id"]] = f"Revision {revision['id']} failed to start: {message}"

    def snapshot(self) -> dict[str, Any]:
        self.settle()
        statuses: dict[str, dict[str, str]] = {cid: {} for cid in self.containers}
        for revision in self.revisions.values():
            statuses.setdefault(revision["containerId"], {})[revision["id"]] = revision["status"]
        operations = {
            op.id: {"revisionId": op.revision_id, "done": op.applied} for op in self.operations.values()
        }
        return {
            **super().snapshot(),
            "revisions": statuses,
            "operations": operations,
            "exchanges": self.iam.exchanges,
        }

    # ------------------------------------------------------------------------------ behaviour

    def settle(self) -> None:
        """Apply every operation whose time has come (progress is computed when observed)."""
        now = time.time_ns()
        for op in self.operations.values():
            if op.applied or now < op.done_ns:
                continue
            op.applied = True
            if op.failure is None:
                for revision in self.revisions.values():
                    if revision["containerId"] == op.container_id and revision["status"] == "ACTIVE":
                        revision["status"] = "OBSOLETE"
                self.revisions[op.revision_id]["status"] = "ACTIVE"

    def start_rollback(self, container_id: str, revision_id: str, subject: str) -> _Operation:
        """Validate and start a rollback operation; ``ApiError`` as Yandex would answer."""
        if container_id not in self.containers:
            raise ApiError(5, f"Container {container_id} not found")
        revision = self.revisions.get(revision_id)
        if revision is None:
            raise ApiError(5, f"Revision {revision_id} not found")
        if revision["containerId"] != container_id:
            raise ApiError(3, f"Revision {revision_id} does not belong to container {container_id}")
        if revision["status"] != "OBSOLETE":
            raise ApiError(
                9,
                f"Revision {revision_id} is {revision['status']}; only an OBSOLETE revision can be activated",
            )
        now = time.time_ns()
        op = _Operation(new_id("d4e"), container_id, revision_id, now, subject,
                        now + int(self.operation_seconds * NS), self.failing.get(revision_id))  # fmt: skip
        self.operations[op.id] = op
        self.rollbacks[container_id] += 1
        return op

    def operation_json(self, op: _Operation) -> dict[str, Any]:
        """The Operation as Yandex's REST gateway renders it."""
        now = time.time_ns()
        done = now >= op.done_ns
        metadata_type = TYPE_PREFIX + "yandex.cloud.serverless.containers.v1.RollbackContainerMetadata"
        body: dict[str, Any] = {
            "id": op.id,
            "description": "Rollback container",
            "createdAt": timestamp(op.created_ns),
            "createdBy": op.created_by,
            "modifiedAt": timestamp(op.done_ns if done else op.created_ns),
            "done": done,  # explicit even when false, as the real gateway writes it
            "metadata": {
                "@type": metadata_type,
                "containerId": op.container_id,
                "revisionId": op.revision_id,
            },
        }
        if op.failure is not None and (done or now >= (op.created_ns + op.done_ns) // 2):
            body["error"] = ApiError(9, op.failure).body()
        elif done:
            container_type = TYPE_PREFIX + "yandex.cloud.serverless.containers.v1.Container"
            body["response"] = {"@type": container_type, **self.containers[op.container_id]}
        return body

    def list_revisions(self, query: dict[str, str]) -> dict[str, Any]:
        """A ``ListContainersRevisionsResponse`` page for the query (ordered by id, not by date)."""
        container, folder = query.get("containerId", ""), query.get("folderId", "")
        if bool(container) == bool(folder):
            raise ApiError(3, "Exactly one of container_id or folder_id must be set")
        wanted = _status_filter(query.get("filter", ""))
        size, offset = _page_size(query.get("pageSize", "")), _page_offset(query.get("pageToken", ""))
        scoped = [r for r in self.revisions.values() if self._in_scope(r, container, folder)]
        matching = sorted((r for r in scoped if wanted in (None, r["status"])), key=lambda r: r["id"])
        body: dict[str, Any] = {}
        if page := matching[offset : offset + size]:
            body["revisions"] = page
        if offset + size < len(matching):
            body["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{offset + size}".encode()).decode()
        return body

    def _in_scope(self, revision: dict[str, Any], container: str, folder: str) -> bool:
        if container:
            return bool(revision["containerId"] == container)
        return bool(self.containers[revision["containerId"]]["folderId"] == folder)


def _revision_json(container_id: str, data: dict[str, Any], default_created: str) -> dict[str, Any]:
    image = data.get("image", "cr.yandex/crpsandbox0000000001/app:latest")
    revision = {
        "id": data["id"],
        "containerId": container_id,
        "createdAt": data.get("createdAt", default_created),
        "image": {
            "imageUrl": image,
            "imageDigest": "sha256:" + uuid.uuid5(uuid.NAMESPACE_URL, image).hex * 2,
        },
        "resources": {"memory": "134217728", "cores": "1", "coreFraction": "100"},
        "executionTimeout": "3s",
        "concurrency": "1",
        "serviceAccountId": data.get("serviceAccountId", "ajesandbox0000000001"),
        "status": data.get("status", "OBSOLETE"),
        "runtime": {"http": {}},
    }
    if data.get("description"):
        revision["description"] = data["description"]
    return revision


def _status_filter(text: str) -> str | None:
    if not text:
        return None
    match = _FILTER.match(text)
    if match is None:
        raise ApiError(3, f'Unsupported filter {text!r}; only status="<STATUS>" is supported here')
    return match.group(1)


def _page_size(text: str) -> int:
    try:
        size = int(text or "0")
    except ValueError:
        raise ApiError(3, f"Invalid page_size {text!r}") from None
    if not 0 <= size <= 1000:
        raise ApiError(3, "page_size must be between 0 and 1000")
    return size or 100


def _page_offset(token: str) -> int:
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset":
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(3, "Invalid page_token")

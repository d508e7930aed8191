"""The operator's own Kubernetes API calls: requests, their status, RollbackRecords, Secrets, Events.

kopf watches; everything the reconciler writes goes through ``KubeAPI`` (over ``apiserver.ApiServer``),
so the writes are explicit and countable: status merge-patches (optionally guarded by
``metadata.resourceVersion``: a stale writer gets 409), RollbackRecords (created under a
deterministic name, which makes the create the claim) and core/v1 Events. Secret values are decoded
here and handed over as a plain mapping; they are never logged. Built once at startup by
``handlers.py``; used by ``reconcile/``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from rollback_operator import __version__
from rollback_operator.apiserver import ApiServer, Login
from rollback_operator.approval import APPROVAL_PLURAL
from rollback_operator.credentials import SecretData
from rollback_operator.errors import Conflict, Gone, KubernetesUnavailable
from rollback_operator.models import GROUP, KIND, PLURAL, VERSION
from rollback_operator.record import RECORD_PLURAL
from rollback_operator.status_models import UNFINISHED_SELECTOR
from rollback_operator.text import printable

log = logging.getLogger(__name__)
MERGE_PATCH = "application/merge-patch+json"
GROUP_PATH = f"/apis/{GROUP}/{VERSION}"
# Metadata only (no spec, no status): what the record-name index needs.
PARTIAL = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
NAMES_PAGE = 500
WATCH_SECONDS = 300


def _path(base: str, plural: str, name: str = "", *, namespace: str = "", sub: str = "") -> str:
    """``base[/namespaces/ns]/plural[/name[/sub]]``, each part escaped."""
    path = f"{base}/namespaces/{quote(namespace, safe='')}" if namespace else base
    path += f"/{plural}"
    if name:
        path += f"/{quote(name, safe='')}"
    return f"{path}/{sub}" if sub else path


class KubeAPI:
    """Async access to RollbackRequests, their records, approvals, Secrets and Events."""

    def __init__(self, api: ApiServer, *, component: str, instance: str) -> None:
        self._api = api
        self.component = component
        self.instance = instance

    @classmethod
    def connect(cls, login: Login, *, component: str, instance: str) -> KubeAPI:
        """Connect with what ``login`` returns (it is called again when the API server says 401)."""
        return cls(
            ApiServer(login, user_agent=f"{component}/{__version__}"), component=component, instance=instance
        )

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._api.close()

    async def served(self) -> set[str]:
        """The resource types (plurals) rollback.dev/v1alpha1 serves now; empty when none is."""
        try:
            found = await self._api.call("GET", GROUP_PATH, what=f"discover {GROUP}/{VERSION}")
        except KubernetesUnavailable as exc:
            if "not served" in exc.message:  # the whole group is gone: every CRD of it deleted
                return set()
            raise
        return {str(item["name"]) for item in found.get("resources") or []}

    async def get(self, namespace: str, name: str) -> dict[str, Any]:
        """The RollbackRequest as a plain dict; ``Gone`` if it was deleted."""
        path = _path(GROUP_PATH, PLURAL, name, namespace=namespace)
        body: dict[str, Any] = await self._api.call("GET", path, what=f"get {namespace}/{name}")
        return body

    async def list_unfinished(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:
        """Every unfinished RollbackRequest in ``namespaces`` (all namespaces when empty)."""
        what, query = "list unfinished RollbackRequests", {"fieldSelector": UNFINISHED_SELECTOR}
        items: list[dict[str, Any]] = []
        for namespace in namespaces or [""]:
            path = _path(GROUP_PATH, PLURAL, namespace=namespace)
            items.extend((await self._api.call("GET", path, what=what, query=query))["items"])
        return items

    async def patch_status(
        self, namespace: str, name: str, status: Mapping[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        """Merge ``status`` into the status subresource; guarded when ``resource_version`` is given."""
        patch: dict[str, Any] = {"status": dict(status)}
        if resource_version is not None:
            patch["metadata"] = {"resourceVersion": resource_version}
        path = _path(GROUP_PATH, PLURAL, name, namespace=namespace, sub="status")
        what = f"patch status of {namespace}/{name}"
        body: dict[str, Any] = await self._api.call(
            "PATCH", path, what=what, body=patch, content_type=MERGE_PATCH
        )
        return body

    async def get_record(self, name: str, *, cached: bool = False) -> dict[str, Any] | None:
        """The RollbackRecord ``name``, or None when there is none.

        ``cached``: from the API server's watch cache (``resourceVersion=0``), without a round trip
        to etcd; it may miss a record created a moment ago, so only for a look before a claim,
        whose create fails with ``Conflict`` when the record exists after all.
        """
        query = {"resourceVersion": "0"} if cached else None
        try:
            body: dict[str, Any] = await self._api.call(
                "GET", _path(GROUP_PATH, RECORD_PLURAL, name), what=f"get RollbackRecord {name}", query=query
            )
        except Gone:
            return None
        return body

    async def create_record(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a RollbackRecord; ``Conflict`` when one of that name exists already (the claim)."""
        what = f"create RollbackRecord {body['metadata']['name']}"
        created: dict[str, Any] = await self._api.call(
            "POST", _path(GROUP_PATH, RECORD_PLURAL), what=what, body=body
        )
        return created

    async def patch_record(
        self, name: str, patch: Mapping[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        """Merge ``patch`` into the record; guarded (``Conflict``) when ``resource_version`` is given."""
        merged: dict[str, Any] = dict(patch)
        if resource_version is not None:
            merged["metadata"] = {"resourceVersion": resource_version}
        body: dict[str, Any] = await self._api.call(
            "PATCH",
            _path(GROUP_PATH, RECORD_PLURAL, name),
            what=f"patch RollbackRecord {name}",
            body=merged,
            content_type=MERGE_PATCH,
        )
        return body

    async def list_records(self, *, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of RollbackRecords and the token of the next page (None after the last)."""
        query = {"limit": str(limit), **({"continue": token} if token else {})}
        page = await self._api.call(
            "GET", _path(GROUP_PATH, RECORD_PLURAL), what="list RollbackRecords", query=query
        )
        return list(page.get("items") or []), (page.get("metadata") or {}).get("continue") or None

    async def record_names(self) -> tuple[set[str], str]:
        """The name of every RollbackRecord (metadata only, paged) and the listing's resourceVersion."""
        names: set[str] = set()
        token, version = None, ""
        while True:
            query = {"limit": str(NAMES_PAGE), **({"continue": token} if token else {})}
            page = await self._api.call(
                "GET",
                _path(GROUP_PATH, RECORD_PLURAL),
                what="list RollbackRecord names",
                query=query,
                accept=PARTIAL_LIST,
            )
            names.update(item["metadata"]["name"] for item in page.get("items") or [])
            meta = page.get("metadata") or {}
            version = version or str(meta.get("resourceVersion") or "")  # the first page's: one snapshot
            token = meta.get("continue") or None
            if token is None:
                return names, version

    async def watch_record_names(self, resource_version: str) -> AsyncIterator[tuple[str, str, str]]:
        """(event type, record name, resourceVersion) for each change since ``resource_version``
        (bookmarks included: no name, a newer version), until the server ends the watch
        (``KubernetesUnavailable`` when it breaks, e.g. the version is too old)."""
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        async for event in self._api.lines(
            _path(GROUP_PATH, RECORD_PLURAL),
            what="watch RollbackRecord names",
            query=query,
            accept=PARTIAL,
            read_timeout=WATCH_SECONDS + 30,
        ):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":  # 410: the version is too old; either way the caller lists again
                raise KubernetesUnavailable(f"Kubernetes API: watch of RollbackRecords: {obj.get('message')}")
            meta = obj.get("metadata") or {}
            yield str(kind), str(meta.get("name") or ""), str(meta.get("resourceVersion") or "")

    async def delete_record(self, name: str, *, resource_version: str) -> None:
        """Delete a record if it is still the version read (a record written since is kept)."""
        options = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "preconditions": {"resourceVersion": resource_version},
        }
        try:
            await self._api.call(
                "DELETE",
                _path(GROUP_PATH, RECORD_PLURAL, name),
                what=f"delete RollbackRecord {name}",
                body=options,
            )
        except (Gone, Conflict):
            return

    async def list_approvals(self, namespace: str) -> list[dict[str, Any]]:
        """The RollbackApprovals of ``namespace`` (a request waits for its own among them)."""
        path = _path(GROUP_PATH, APPROVAL_PLURAL, namespace=namespace)
        return list(
            (await self._api.call("GET", path, what=f"list RollbackApprovals in {namespace}"))["items"]
        )

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        """The Secret's data, decoded; None when the Secret does not exist. A value that is not
        UTF-8 text is left out and its key listed in ``undecodable`` (see ``credentials.py``)."""
        path = _path("/api/v1", "secrets", name, namespace=namespace)
        try:
            secret = await self._api.call("GET", path, what=f"read Secret {namespace}/{name}")
        except Gone:
            return None
        data: dict[str, str] = {}
        undecodable: list[str] = []
        for key, value in (secret.get("data") or {}).items():
            try:
                data[key] = base64.b64decode(value).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                undecodable.append(key)
        return SecretData(data, source=f"{namespace}/{name}", undecodable=undecodable)

    async def post_event(self, obj: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        """Post a core/v1 Event about ``obj``; failures are logged, never raised (events are advisory)."""
        meta = obj["metadata"]
        event = event_body(
            obj, type_=type_, reason=reason, message=message, component=self.component, instance=self.instance
        )
        path = _path("/api/v1", "events", namespace=meta["namespace"])
        try:
            await self._api.call("POST", path, what=f"post Event {reason}", body=event, answer=False)
        except (KubernetesUnavailable, Conflict, Gone) as exc:
            log.warning("could not post event %s for %s/%s: %s", reason, meta["namespace"], meta["name"], exc)


def event_body(
    obj: Mapping[str, Any], *, type_: str, reason: str, message: str, component: str, instance: str
) -> dict[str, Any]:
    """The core/v1 Event the operator posts about the RollbackRequest ``obj``."""
    meta = obj["metadata"]
    now = datetime.now(UTC).isoformat()
    return {
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": KIND,
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        },
        "type": type_,
        "reason": reason,
        "message": printable(message)[:1024],  # no raw newline or escape sequence in an Event
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": instance[:128],
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }

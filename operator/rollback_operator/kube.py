"""The operator's own Kubernetes API calls: requests, their status, RollbackRecords, Secrets, Events.

kopf watches; everything the reconciler writes goes through ``KubeAPI`` (kubernetes_asyncio), so
the writes are explicit and countable: status merge-patches (optionally guarded by
``metadata.resourceVersion``, which makes the claim a fencing token: a stale writer gets 409) and
core/v1 Events. Secret values are decoded here and handed over as a plain mapping; they are
never logged. Built once at startup by ``handlers.py``; used by ``reconcile/``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from rollback_operator import __version__
from rollback_operator.approval import APPROVAL_PLURAL
from rollback_operator.credentials import SecretData
from rollback_operator.errors import Conflict, Gone, KubernetesUnavailable
from rollback_operator.models import GROUP, KIND, PLURAL, VERSION
from rollback_operator.record import RECORD_PLURAL
from rollback_operator.status_models import UNFINISHED_SELECTOR
from rollback_operator.text import printable

log = logging.getLogger(__name__)
MERGE_PATCH = "application/merge-patch+json"


# Failures of the connection itself, which kubernetes_asyncio lets through from aiohttp.
_UNREACHABLE = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


def _object_missing(body: bytes | str | None) -> bool:
    """Whether a 404 says the *object* does not exist (a ``Status`` naming it), as opposed to its
    resource type not being served at all (a plain ``404 page not found``: the CRD is gone)."""
    try:
        answer = json.loads(body or b"")
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("kind") == "Status" and "details" in answer


def _api_failure(status: int | None, detail: str, what: str, body: bytes | str | None = None) -> Exception:
    if status == 404 and _object_missing(body):
        return Gone(what)
    if status == 404:  # retried until the CRD is back: no request is ever concluded from it
        return KubernetesUnavailable(
            f"Kubernetes API: {what}: the resource type is not served (CRD missing?)"
        )
    if status == 409:
        return Conflict(what)
    # Down, unreachable or overloaded: the reconciler retries like any transient failure.
    return KubernetesUnavailable(f"Kubernetes API: {what}: {detail}")


async def _answer(call: Awaitable[Any], what: str) -> Any:
    """Await a generated client call made with ``_preload_content=False``; its JSON body, decoded.

    The generated clients would otherwise turn every answer into model objects (parsing each
    timestamp with dateutil), which the operator never uses: measured as a visible share of its
    CPU per rollback. Non-2xx answers and connection failures become the operator's own errors.
    """
    try:
        response = await call
        async with response:
            raw = await response.read()
            status, reason = response.status, response.reason
    except ApiException as exc:
        raise _api_failure(exc.status, f"HTTP {exc.status} {exc.reason}", what, exc.body) from exc
    except _UNREACHABLE as exc:
        raise _api_failure(None, type(exc).__name__, what) from exc
    if not 200 <= status <= 299:
        raise _api_failure(status, f"HTTP {status} {reason}", what, raw)
    return json.loads(raw)


class KubeAPI:
    """Async access to RollbackRequests, their Secrets and Events."""

    def __init__(self, api: client.ApiClient, *, component: str, instance: str) -> None:
        self._api = api
        # The generated clients' bundled stubs lack the runtime's ``_content_type`` keyword and
        # accept plain dict bodies only at runtime; typed as Any here, in the one module using them.
        self._custom: Any = client.CustomObjectsApi(api)
        self._core: Any = client.CoreV1Api(api)
        self.component = component
        self.instance = instance

    @classmethod
    async def connect(cls, *, component: str, instance: str) -> KubeAPI:
        """Connect with the in-cluster config when present, else the current kubeconfig."""
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            configuration = None
        except config.ConfigException:
            configuration = client.Configuration()
            await config.load_kube_config(client_configuration=configuration)
        api = client.ApiClient(configuration)
        # kubernetes_asyncio hard-codes trust_env=True, which makes aiohttp look up ~/.netrc (in a
        # thread) before every call: measured as the largest CPU cost per rollback. kopf's own
        # session does not trust the environment either; proxies come from the kubeconfig.
        api.rest_client.pool_manager._trust_env = False
        # The API server names the field manager of every write after the User-Agent's first part.
        api.user_agent = f"{component}/{__version__}"
        return cls(api, component=component, instance=instance)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._api.close()

    async def served(self) -> set[str]:
        """The resource types (plurals) rollback.dev/v1alpha1 serves now; empty when none is."""
        call = self._custom.get_api_resources(GROUP, VERSION, _preload_content=False)
        try:
            found = await _answer(call, f"discover {GROUP}/{VERSION}")
        except KubernetesUnavailable as exc:
            if "not served" in exc.message:  # the whole group is gone: every CRD of it deleted
                return set()
            raise
        return {str(item["name"]) for item in found.get("resources") or []}

    async def get(self, namespace: str, name: str) -> dict[str, Any]:
        """The RollbackRequest as a plain dict; ``Gone`` if it was deleted."""
        call = self._custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, _preload_content=False
        )
        body: dict[str, Any] = await _answer(call, f"get {namespace}/{name}")
        return body

    async def list_unfinished(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:
        """Every unfinished RollbackRequest in ``namespaces`` (all namespaces when empty)."""
        what, options = "list unfinished RollbackRequests", {"field_selector": UNFINISHED_SELECTOR}
        if not namespaces:
            call = self._custom.list_cluster_custom_object(
                GROUP, VERSION, PLURAL, _preload_content=False, **options
            )
            return list((await _answer(call, what))["items"])
        items: list[dict[str, Any]] = []
        for namespace in namespaces:
            call = self._custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, _preload_content=False, **options
            )
            items.extend((await _answer(call, what))["items"])
        return items

    async def patch_status(
        self, namespace: str, name: str, status: Mapping[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        """Merge ``status`` into the status subresource; guarded when ``resource_version`` is given."""
        patch: dict[str, Any] = {"status": dict(status)}
        if resource_version is not None:
            patch["metadata"] = {"resourceVersion": resource_version}
        call = self._custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, patch, _content_type=MERGE_PATCH, _preload_content=False
        )
        body: dict[str, Any] = await _answer(call, f"patch status of {namespace}/{name}")
        return body

    async def get_record(self, name: str) -> dict[str, Any] | None:
        """The RollbackRecord ``name``, or None when there is none."""
        call = self._custom.get_cluster_custom_object(
            GROUP, VERSION, RECORD_PLURAL, name, _preload_content=False
        )
        try:
            body: dict[str, Any] = await _answer(call, f"get RollbackRecord {name}")
        except Gone:
            return None
        return body

    async def create_record(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a RollbackRecord; ``Conflict`` when one of that name exists already (the claim)."""
        name = body["metadata"]["name"]
        call = self._custom.create_cluster_custom_object(
            GROUP, VERSION, RECORD_PLURAL, dict(body), _preload_content=False
        )
        created: dict[str, Any] = await _answer(call, f"create RollbackRecord {name}")
        return created

    async def patch_record(
        self, name: str, patch: Mapping[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        """Merge ``patch`` into the record; guarded (``Conflict``) when ``resource_version`` is given."""
        merged: dict[str, Any] = dict(patch)
        if resource_version is not None:
            merged["metadata"] = {"resourceVersion": resource_version}
        call = self._custom.patch_cluster_custom_object(
            GROUP, VERSION, RECORD_PLURAL, name, merged, _content_type=MERGE_PATCH, _preload_content=False
        )
        body: dict[str, Any] = await _answer(call, f"patch RollbackRecord {name}")
        return body

    async def list_records(self, *, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of RollbackRecords and the token of the next page (None after the last)."""
        options: dict[str, Any] = {"limit": limit}
        if token:
            options["_continue"] = token
        call = self._custom.list_cluster_custom_object(
            GROUP, VERSION, RECORD_PLURAL, _preload_content=False, **options
        )
        page = await _answer(call, "list RollbackRecords")
        return list(page.get("items") or []), (page.get("metadata") or {}).get("continue") or None

    async def delete_record(self, name: str, *, resource_version: str) -> None:
        """Delete a record if it is still the version read (a record written since is kept)."""
        options = {"body": {"preconditions": {"resourceVersion": resource_version}}}
        call = self._custom.delete_cluster_custom_object(
            GROUP, VERSION, RECORD_PLURAL, name, _preload_content=False, **options
        )
        try:
            await _answer(call, f"delete RollbackRecord {name}")
        except (Gone, Conflict):
            return

    async def list_approvals(self, namespace: str) -> list[dict[str, Any]]:
        """The RollbackApprovals of ``namespace`` (a request waits for its own among them)."""
        call = self._custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, APPROVAL_PLURAL, _preload_content=False
        )
        return list((await _answer(call, f"list RollbackApprovals in {namespace}"))["items"])

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        """The Secret's data, decoded; None when the Secret does not exist. A value that is not
        UTF-8 text is left out and its key listed in ``undecodable`` (see ``credentials.py``)."""
        call = self._core.read_namespaced_secret(name, namespace, _preload_content=False)
        try:
            secret = await _answer(call, f"read Secret {namespace}/{name}")
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
        call = self._core.create_namespaced_event(meta["namespace"], event, _preload_content=False)
        try:
            await _answer(call, f"post Event {reason}")
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

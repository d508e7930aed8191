"""The plugin's view of the cluster: kubeconfig as kubectl reads it, RollbackRequests, Events, watches.

Built on kubernetes_asyncio, the operator's own runtime client, so the plugin needs nothing the
package does not already install. ``Cluster.connect`` reads the kubeconfig the way kubectl does
(``--kubeconfig``, else ``$KUBECONFIG`` with its ':'-separated list, else ``~/.kube/config``;
``--context``, else the current context) and takes the default namespace from that context.

``watch`` follows ONE object through a watch with a field selector on ``metadata.name``: each watch
request carries a server-side timeout and is re-opened from the last resourceVersion seen, so a
dropped connection or an expired watch costs nothing; a "410 Gone" (the version was compacted away)
re-reads the object and carries on from there. Every failure becomes a ``PluginError`` carrying the
API server's own words. Used by ``cli.py`` and ``follow.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from rollback_operator.approval import APPROVAL_PLURAL
from rollback_operator.models import GROUP, KIND, PLURAL, VERSION
from rollback_operator.plugin.errors import PluginError
from rollback_operator.record import LABEL_NAMESPACE, LABEL_PROVIDER, RECORD_PLURAL

T = TypeVar("T")
DEFAULT_KUBECONFIG = "~/.kube/config"
RECONNECT_MAX_SECONDS = 5.0


def _kubeconfig_paths(explicit: str | None) -> str:
    """The kubeconfig path list kubectl would use; fails when none of the files exists."""
    paths = explicit or os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    if not any(Path(p).expanduser().is_file() for p in paths.split(os.pathsep) if p):
        raise PluginError(f"no kubeconfig at {paths}; pass --kubeconfig or set KUBECONFIG")
    return paths


def server_message(code: int | None, body: str | bytes | None, reason: str | None = None) -> str:
    """The API server's answer as kubectl prints it: ``Error from server (Reason): message``."""
    try:
        status = json.loads(body or "")
        return f"Error from server ({status['reason']}): {status['message']}"
    except (ValueError, KeyError, TypeError):
        return f"Error from server: HTTP {code} {reason or ''}".rstrip()


class Cluster:
    """RollbackRequests and their Events through one API client."""

    def __init__(self, api: client.ApiClient, *, namespace: str) -> None:
        self.api = api
        self.namespace = namespace
        # The generated clients are untyped at runtime in the ways used here (dict bodies, raw responses).
        self._custom: Any = client.CustomObjectsApi(api)
        self._core: Any = client.CoreV1Api(api)
        self._auth: Any = client.AuthenticationV1Api(api)

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, *, kubeconfig: str | None, context: str | None, namespace: str | None
    ) -> AsyncIterator[Cluster]:
        """Connect as kubectl would; ``namespace`` overrides the context's namespace."""
        configuration = client.Configuration()
        try:
            loader = await config.load_kube_config(
                config_file=_kubeconfig_paths(kubeconfig),
                context=context,
                client_configuration=configuration,
                persist_config=False,  # never rewrite the user's kubeconfig
            )
        except (config.ConfigException, KeyError, TypeError, ValueError) as exc:
            raise PluginError(f"cannot use the kubeconfig: {exc}") from exc
        default = ((loader.current_context or {}).get("context") or {}).get("namespace")
        async with client.ApiClient(configuration) as api:
            yield cls(api, namespace=namespace or default or "default")

    async def _call(self, call: Awaitable[T]) -> T:
        """Await an API call, turning its failures into ``PluginError``."""
        try:
            return await call
        except ApiException as exc:
            raise PluginError(server_message(exc.status, exc.body, exc.reason)) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            host = self.api.configuration.host
            raise PluginError(f"cannot reach the API server at {host}: {exc or type(exc).__name__}") from exc

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a RollbackRequest in this namespace."""
        created: dict[str, Any] = await self._call(
            self._custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, body)
        )
        return created

    async def get(self, name: str) -> dict[str, Any]:
        """One RollbackRequest of this namespace."""
        found: dict[str, Any] = await self._call(
            self._custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)
        )
        return found

    async def list_requests(self, *, all_namespaces: bool = False) -> list[dict[str, Any]]:
        """The RollbackRequests of this namespace, or of all namespaces."""
        if all_namespaces:
            call = self._custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
        else:
            call = self._custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        listed: dict[str, Any] = await self._call(call)
        return list(listed.get("items") or [])

    async def whoami(self) -> str:
        """The user name the API server sees for this client (a SelfSubjectReview, as ``kubectl auth
        whoami`` makes): what an approval's ``approvedBy`` must be."""
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        answer = await self._call(self._auth.create_self_subject_review(review))
        return str(answer.status.user_info.username)

    async def approve(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a RollbackApproval in this namespace."""
        created: dict[str, Any] = await self._call(
            self._custom.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, APPROVAL_PLURAL, body
            )
        )
        return created

    async def list_records(self, *, namespace: str | None, provider: str | None) -> list[dict[str, Any]]:
        """The RollbackRecords (the cluster's rollback history), of one request namespace and/or
        one provider when given."""
        selector = ",".join(
            f"{label}={value}"
            for label, value in ((LABEL_NAMESPACE, namespace), (LABEL_PROVIDER, provider))
            if value
        )
        call = self._custom.list_cluster_custom_object(GROUP, VERSION, RECORD_PLURAL, label_selector=selector)
        listed: dict[str, Any] = await self._call(call)
        return list(listed.get("items") or [])

    async def events(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        """The Events about ``obj`` (matched by uid, so a deleted namesake's are left out), oldest first."""
        meta = obj["metadata"]
        selector = f"involvedObject.uid={meta['uid']},involvedObject.kind={KIND}"
        listed = await self._call(
            self._core.list_namespaced_event(meta["namespace"], field_selector=selector)
        )
        events: list[dict[str, Any]] = self.api.sanitize_for_serialization(listed.items)
        return sorted(events, key=lambda e: int(e["metadata"].get("resourceVersion") or 0))  # write order

    async def watch(
        self, name: str, *, resource_version: str, seconds: int
    ) -> AsyncGenerator[dict[str, Any] | None, None]:
        """Every later version of one object, forever; ``None`` once it is deleted."""
        version = resource_version
        delay = 0.5
        while True:
            try:
                async for kind, obj in self._watch_once(name, version, seconds):
                    version = obj["metadata"]["resourceVersion"]
                    delay = 0.5
                    if kind == "BOOKMARK":
                        continue
                    yield None if kind == "DELETED" else obj
            except _Expired:
                fresh = await self.get(name)  # our version was compacted away: start again from now
                version = fresh["metadata"]["resourceVersion"]
                yield fresh
            except (aiohttp.ClientError, OSError, TimeoutError):
                await asyncio.sleep(delay)  # the connection dropped: re-open from the last version seen
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _watch_once(self, name: str, version: str, seconds: int) -> AsyncIterator[tuple[str, Any]]:
        """One watch request: events until the server ends it after ``seconds``."""
        response = await self._custom.list_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            field_selector=f"metadata.name={name}",
            resource_version=version,
            timeout_seconds=seconds,
            allow_watch_bookmarks=True,
            watch=True,
            _preload_content=False,
            _request_timeout=aiohttp.ClientTimeout(sock_connect=10, sock_read=seconds + 15),
        )
        async with response:
            if response.status == 410:
                raise _Expired
            if response.status != 200:
                raise PluginError(server_message(response.status, await response.text(), response.reason))
            async for line in response.content:
                if line.strip():
                    yield _event(json.loads(line))


class _Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone)."""


def _event(event: dict[str, Any]) -> tuple[str, Any]:
    """(type, object) of a watch event; an ERROR event raises."""
    kind, obj = event.get("type", ""), event.get("object") or {}
    if kind == "ERROR":
        if obj.get("code") == 410:
            raise _Expired
        raise PluginError(f"Error from server ({obj.get('reason')}): {obj.get('message')}")
    return kind, obj

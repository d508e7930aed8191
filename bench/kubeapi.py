"""The API server over plain HTTPS, for the benchmark driver and the floor.

``Access`` reads a bearer-token kubeconfig. ``Kube`` offers exactly what the benchmarks need:
create namespaces, Secrets and RollbackRequests, merge-patch status, list, follow a namespace
(list, then watch, resuming after a dropped stream) and read the server's own request counters
from ``/metrics``. Used by ``bench.floor``, ``bench.tracking`` and ``bench.phases``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

GROUP, VERSION, PLURAL = "rollback.dev", "v1alpha1", "rollbackrequests"
RECORDS = "rollbackrecords"
MERGE = {"Content-Type": "application/merge-patch+json"}
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY"})
_LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Access:
    """Where the API server is and how to authenticate to it."""

    server: str
    ca_file: str
    token: str

    @classmethod
    def from_kubeconfig(cls, path: Path) -> Access:
        """The current context's server, CA file and bearer token."""
        config = yaml.safe_load(path.read_text())
        context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        return cls(cluster["server"], cluster["certificate-authority"], user["token"])

    def session(self, *, connections: int) -> aiohttp.ClientSession:
        """An HTTP session for the API server with up to ``connections`` open connections."""
        connector = aiohttp.TCPConnector(
            ssl=ssl.create_default_context(cafile=self.ca_file), limit=connections
        )
        return aiohttp.ClientSession(
            base_url=self.server,
            connector=connector,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=aiohttp.ClientTimeout(total=60, sock_connect=10),
            read_bufsize=2**21,  # a watch event carries a whole object on one line
        )


def requests_path(namespace: str, name: str | None = None, *, status: bool = False) -> str:
    """The URL path of a namespace's RollbackRequests, one of them, or its status."""
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    if name is not None:
        path += f"/{name}"
    return path + "/status" if status else path


class Kube:
    """The calls the benchmarks make; a refusal raises ``aiohttp.ClientResponseError``.

    aiohttp rather than httpx: the driver shares the machine with what it measures, and
    aiohttp costs a fraction of httpx's CPU per request (measured: about 3 ms per request for
    httpx here, which made the client, not the API server, the bottleneck when filling).
    """

    def __init__(self, access: Access, *, connections: int = 16) -> None:
        self.http = access.session(connections=connections)

    async def aclose(self) -> None:
        await self.http.close()

    async def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        for _ in range(50):
            async with self.http.request(method, path, **kwargs) as response:
                if response.status == 429:  # e.g. a new CRD's watch cache is still initializing
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                response.raise_for_status()
                body: dict[str, Any] = await response.json()
                return body
        raise RuntimeError(f"{method} {path}: still throttled after 50 attempts")

    async def create_namespace(self, name: str) -> None:
        await self._send("POST", "/api/v1/namespaces", json={"metadata": {"name": name}})

    async def create_secret(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        body = {"metadata": {"name": name}, "data": encoded}
        await self._send("POST", f"/api/v1/namespaces/{namespace}/secrets", json=body)

    async def create(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a RollbackRequest."""
        return await self._send("POST", requests_path(namespace), json=body)

    async def create_record(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a RollbackRecord (cluster-scoped)."""
        return await self._send("POST", f"/apis/{GROUP}/{VERSION}/{RECORDS}", json=body)

    async def patch_record(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``patch`` into a RollbackRecord."""
        path = f"/apis/{GROUP}/{VERSION}/{RECORDS}/{name}"
        return await self._send("PATCH", path, data=json.dumps(patch), headers=MERGE)

    async def create_event(self, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a core/v1 Event."""
        return await self._send("POST", f"/api/v1/namespaces/{namespace}/events", json=body)

    async def delete(self, namespace: str, name: str) -> None:
        """Delete a RollbackRequest."""
        await self._send("DELETE", requests_path(namespace, name))

    async def get(self, namespace: str, name: str) -> dict[str, Any]:
        return await self._send("GET", requests_path(namespace, name))

    async def patch_status(
        self, namespace: str, name: str, status: Mapping[str, Any], version: str | None = None
    ) -> dict[str, Any]:
        """Merge ``status`` into the status subresource (guarded by ``version`` when given)."""
        path = requests_path(namespace, name, status=True)
        body: dict[str, Any] = {"status": status}
        if version is not None:
            body["metadata"] = {"resourceVersion": version}
        return await self._send("PATCH", path, data=json.dumps(body), headers=MERGE)

    async def list(self, namespace: str, *, only: str | None = None) -> tuple[list[dict[str, Any]], str]:
        """Every RollbackRequest of the namespace (or just the one named ``only``) and the list's version."""
        params = {"fieldSelector": f"metadata.name={only}"} if only else {}
        body = await self._send("GET", requests_path(namespace), params=params)
        return body["items"], body["metadata"]["resourceVersion"]

    async def follow(
        self, namespace: str, *, only: str | None = None, listed: Callable[[], object] | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Existing objects as ADDED, then every watch event; resumes (or relists) when a stream ends.

        ``only`` narrows it to one object by name. ``listed`` is called once the first list has been
        read (nothing created later is missed).
        """
        items, version = await self.list(namespace, only=only)
        if listed is not None:
            listed()
        for item in items:
            yield "ADDED", item
        while True:
            try:
                async for kind, obj in self._watch(namespace, version, only):
                    if kind == "ERROR":  # 410 Gone: our resourceVersion is too old; start over
                        items, version = await self.list(namespace, only=only)
                        for item in items:
                            yield "ADDED", item
                        break
                    version = obj["metadata"]["resourceVersion"]
                    if kind != "BOOKMARK":
                        yield kind, obj
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.5)  # the API server is briefly away: watch again from `version`

    async def _watch(
        self, namespace: str, version: str, only: str | None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        params = {
            "watch": "true",
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "300",
        }
        if only:
            params["fieldSelector"] = f"metadata.name={only}"
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        async with self.http.get(requests_path(namespace), params=params, timeout=timeout) as response:
            response.raise_for_status()
            async for line in response.content:
                if line.strip():
                    event = json.loads(line)
                    yield event["type"], event["object"]

    async def request_counts(self) -> Counter[tuple[str, str, str, str]]:
        """``apiserver_request_total`` as (verb, resource, subresource, code) → count."""
        async with self.http.get("/metrics") as response:
            response.raise_for_status()
            text = await response.text()
        counts: Counter[tuple[str, str, str, str]] = Counter()
        for line in text.splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            labels_text, _, value = line.rpartition(" ")
            labels = dict(_LABEL.findall(labels_text))
            key = (
                labels.get("verb", ""),
                labels.get("resource", ""),
                labels.get("subresource", ""),
                labels.get("code", ""),
            )
            counts[key] += int(float(value))
        return counts


@dataclass(frozen=True)
class Writes:
    """Writes the API server served between two ``request_counts`` readings."""

    requests: int
    """PATCH/PUT/... to rollbackrequests (the object itself); creations excluded."""
    status: int
    """Writes to rollbackrequests/status."""
    events: int
    """Event creations."""
    conflicts: int
    """Of the writes to rollbackrequests(/status): how many the server refused with 409."""
    records: int = 0
    """Writes to rollbackrecords: creations (the claims) and patches (handles, outcomes)."""

    @property
    def total(self) -> int:
        return self.requests + self.status + self.events + self.records


def writes_between(
    before: Counter[tuple[str, str, str, str]], after: Counter[tuple[str, str, str, str]]
) -> Writes:
    """Classify the write requests served between two readings (creations of requests excluded)."""
    delta = after - before
    requests = status = events = conflicts = records = 0
    for (verb, resource, subresource, code), count in delta.items():
        if verb not in WRITE_VERBS:
            continue
        if resource == RECORDS:
            records += count
        elif resource == "events" and verb == "POST":
            events += count
        elif resource == PLURAL and not (verb == "POST" and not subresource):
            status += count if subresource == "status" else 0
            requests += count if subresource != "status" else 0
            conflicts += count if code == "409" else 0
    return Writes(requests, status, events, conflicts, records)

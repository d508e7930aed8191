"""Helpers for tests that drive RollbackRequests through the real API server.

``Requests`` wraps the sync Kubernetes client for one namespace: create Secrets and requests,
read status and events, and wait for a condition with a deadline (polling the API server,
never sleeping blindly).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from typing import Any

import kubernetes

from rollback_operator.record import identity, record_name

GROUP, VERSION, PLURAL = "rollback.dev", "v1alpha1", "rollbackrequests"
RECORDS = "rollbackrecords"


def manifest(name: str, provider: Mapping[str, Any], *, secret: str, **spec: Any) -> dict[str, Any]:
    """A RollbackRequest body; ``spec`` keys are camelCase as on the wire."""
    body: dict[str, Any] = {
        "reason": f"test rollback {name}",
        "provider": dict(provider),
        "credentialsSecretRef": {"name": secret},
    }
    body.update(spec)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RollbackRequest",
        "metadata": {"name": name},
        "spec": body,
    }


class Requests:
    """RollbackRequests, Secrets and Events of one namespace."""

    def __init__(self, api: kubernetes.client.ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self.custom = kubernetes.client.CustomObjectsApi(api)
        self.core = kubernetes.client.CoreV1Api(api)

    def secret(self, name: str, data: Mapping[str, str | bytes]) -> None:
        """Create a Secret with ``data`` (plain strings, or bytes as they are)."""
        raw = {k: v if isinstance(v, bytes) else v.encode() for k, v in data.items()}
        encoded = {k: base64.b64encode(v).decode() for k, v in raw.items()}
        body = {"metadata": {"name": name}, "data": encoded}
        self.core.create_namespaced_secret(self.namespace, body)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a RollbackRequest."""
        created: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, body
        )
        return created

    def get(self, name: str) -> dict[str, Any]:
        """The current object."""
        obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )
        return obj

    def status(self, name: str) -> dict[str, Any]:
        """The current status (empty dict before the operator wrote any)."""
        return dict(self.get(name).get("status") or {})

    def wait(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        timeout: float = 30,
        what: str = "the expected status",
    ) -> dict[str, Any]:
        """Poll until ``predicate(status)`` holds; fail with the last status seen."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = self.status(name)
            if predicate(status):
                return status
            time.sleep(0.1)
        raise AssertionError(f"{name}: no {what} within {timeout}s; last status: {status}")

    def wait_phase(self, name: str, *phases: str, timeout: float = 30) -> dict[str, Any]:
        """Poll until the phase is one of ``phases``."""
        return self.wait(name, lambda s: s.get("phase") in phases, timeout=timeout, what=f"phase in {phases}")

    def wait_terminal(self, name: str, timeout: float = 30) -> dict[str, Any]:
        """Poll until Succeeded, Failed or Unknown."""
        return self.wait_phase(name, "Succeeded", "Failed", "Unknown", timeout=timeout)

    def delete(self, name: str) -> None:
        """Delete the request (no finalizers: it is gone at once)."""
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def record_name(self, name: str) -> str:
        """The name of the RollbackRecord of the request ``name`` as it is stored now."""
        spec = self.get(name)["spec"]
        return record_name(self.namespace, name, identity(self.namespace, name, spec))

    def record(self, record: str) -> dict[str, Any] | None:
        """The RollbackRecord ``record``, or None."""
        try:
            found: dict[str, Any] = self.custom.get_cluster_custom_object(GROUP, VERSION, RECORDS, record)
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def wait_record(
        self, record: str, predicate: Callable[[dict[str, Any]], bool], *, timeout: float = 30, what: str
    ) -> dict[str, Any]:
        """Poll until the record exists and ``predicate(record)`` holds."""
        deadline = time.monotonic() + timeout
        found: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            found = self.record(record)
            if found is not None and predicate(found):
                return found
            time.sleep(0.05)
        raise AssertionError(f"{record}: no {what} within {timeout}s; last seen: {found}")

    def wait_claim(self, name: str, *, timeout: float = 30) -> dict[str, Any]:
        """Poll until the request's record holds a claim (it is created before the provider call)."""
        return self.wait_record(self.record_name(name), lambda r: True, timeout=timeout, what="claim")

    def wait_events(self, name: str, count: int, timeout: float = 10) -> list[Any]:
        """Poll until at least ``count`` Events about the request exist (they follow status writes)."""
        deadline = time.monotonic() + timeout
        while len(found := self.events(name)) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return found

    def events(self, name: str) -> list[Any]:
        """Events about the request, oldest first."""
        listed = self.core.list_namespaced_event(self.namespace, field_selector=f"involvedObject.name={name}")
        return sorted(listed.items, key=lambda e: int(e.metadata.resource_version))  # etcd's write order


def condition(status: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The condition of type ``kind`` (empty dict if absent)."""
    return next((c for c in status.get("conditions", []) if c["type"] == kind), {})

"""Recording every version of one RollbackRequest, from its creation to its end, through a watch.

The watch starts from a resourceVersion taken before the object is created, so nothing the
operator writes can slip past: the first version recorded is the object as created (no status),
the last one is terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes

from tests.support.rollbacks import GROUP, PLURAL, VERSION, Requests

TERMINAL = ("Succeeded", "Failed", "Unknown")


def record(
    requests_: Requests, name: str, create: Callable[[], object], *, timeout: int = 60
) -> list[dict[str, Any]]:
    """Every version of ``name`` from creation until a terminal phase; fails if it does not end in time."""
    listing = requests_.custom.list_namespaced_custom_object(GROUP, VERSION, requests_.namespace, PLURAL)
    since = listing["metadata"]["resourceVersion"]
    create()
    versions: list[dict[str, Any]] = []
    stream = kubernetes.watch.Watch().stream(
        requests_.custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        requests_.namespace,
        PLURAL,
        field_selector=f"metadata.name={name}",
        resource_version=since,
        timeout_seconds=timeout,
    )
    for event in stream:
        versions.append(event["object"])
        if (event["object"].get("status") or {}).get("phase") in TERMINAL:
            return versions
    raise AssertionError(
        f"{name} did not finish within {timeout}s; phases seen: "
        f"{[(v.get('status') or {}).get('phase') for v in versions]}"
    )

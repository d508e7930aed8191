"""The first look for a request's record may come from the API server's cache, and be stale.

That look only saves a round trip to etcd: the claim is the record's create, which fails with
``Conflict`` when the record exists after all; every look after that is fresh. A re-created request
whose record the cache misses still ends ``AlreadyExecuted`` with nothing sent again.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from rollback_operator.config import Settings
from rollback_operator.providers.base import Credentials, Handle, Progress, Resolution
from rollback_operator.reconcile import Reconciler
from rollback_operator.scheduling import TargetGate
from rollback_operator.status_models import OperationState
from tests.support.memory import MemoryKube, fresh

RESOLUTION = Resolution(current="d-2", target="d-1", explanation="stepsBack=1", watermark="d-2")


class Vector:
    """A provider that resolves, rolls back and reports success at once; counts rollbacks."""

    def __init__(self) -> None:
        self.rollbacks = 0

    def target_key(self, block: Any) -> str:
        return "vector/env"

    def endpoints(self, block: Any) -> list[str]:
        return []

    def credentials(self, data: Mapping[str, str]) -> Credentials:
        return Credentials(dict(data))

    async def resolve(self, block: Any, creds: Credentials, target: Any) -> Resolution:
        return RESOLUTION

    async def trigger(self, block: Any, creds: Credentials, resolution: Resolution, key: str) -> Handle:
        self.rollbacks += 1
        return Handle("d-3")

    async def poll(self, block: Any, creds: Credentials, handle: Handle) -> Progress:
        return Progress(state=OperationState.SUCCEEDED, message="deployed")


class OneProvider:
    def __init__(self, adapter: Vector) -> None:
        self.adapter = adapter

    def for_spec(self, spec: Any) -> tuple[Vector, Any]:
        return self.adapter, spec.selected


class WithSecret(MemoryKube):
    async def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        return {"token": "vector-token"}


async def _run(kube: MemoryKube, vector: Vector) -> None:
    reconciler = Reconciler(kube=kube, registry=OneProvider(vector), settings=Settings(), gate=TargetGate())  # type: ignore[arg-type]
    await reconciler.run("payments", "api-after-bad-release", copy.deepcopy(kube.body))


@pytest.mark.timeout(10)  # looking in the cache again would go round for ever
async def test_a_record_the_cached_look_misses_is_found_by_the_fresh_look_after_the_claim_fails() -> None:
    vector = Vector()
    first = WithSecret(fresh(uid="first"))
    await _run(first, vector)
    again = WithSecret(fresh(uid="second"))  # deleted and applied again: a new object, same identity
    again.records = first.records
    again.behind = set(first.records)

    await _run(again, vector)

    assert vector.rollbacks == 1
    ready = next(c for c in again.body["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "AlreadyExecuted", again.body["status"]
    assert again.record_reads[0] is True  # the first look may use the cache (and missed the record)
    assert again.record_reads[1:]  # after the Conflict: fresh looks only
    assert not any(again.record_reads[1:])


async def test_a_new_request_looks_in_the_cache_once_and_claims() -> None:
    vector = Vector()
    kube = WithSecret(fresh())

    await _run(kube, vector)

    assert vector.rollbacks == 1
    assert kube.record_reads == [True]
    assert kube.record_writes[0] == ("create", None)


class StaleNames:
    """Record names that have not seen any record yet."""

    def absent(self, name: str) -> bool:
        return True

    def note(self, name: str) -> None:
        return None


@pytest.mark.timeout(10)
async def test_a_record_the_kept_names_miss_is_found_by_the_fresh_look_after_the_claim_fails() -> None:
    vector = Vector()
    first = WithSecret(fresh(uid="first"))
    await _run(first, vector)
    again = WithSecret(fresh(uid="second"))
    again.records = first.records
    reconciler = Reconciler(
        kube=again,
        registry=OneProvider(vector),  # type: ignore[arg-type]
        settings=Settings(),
        gate=TargetGate(),
        names=StaleNames(),  # type: ignore[arg-type]
    )

    await reconciler.run("payments", "api-after-bad-release", copy.deepcopy(again.body))

    assert vector.rollbacks == 1
    ready = next(c for c in again.body["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "AlreadyExecuted", again.body["status"]
    assert again.record_reads == [False]  # no read until the claim failed; then a fresh one

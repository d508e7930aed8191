"""The Yandex test scenario: the seed (one container per situation), ids and small helpers.

Shared by the fixtures in conftest.py and the test modules of this directory. PROD's revision
ids are chosen so that their alphabetical order (the sandbox's listing order) is not their age.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from itertools import chain, repeat
from typing import Any

import pytest

from rollback_operator.providers.base import Handle, Progress, Provider, Resolution
from rollback_operator.providers.http import RetryPolicy
from rollback_operator.status_models import OperationState
from rollback_sandbox import common
from rollback_sandbox.common import Faults
from rollback_sandbox.yandex import YandexState

TOKEN = "t1.static-test-token.Zq81mW4rT6xKd93LpA0s"
USER = "ajetestuser000000001"
SERVICE_ACCOUNT = "ajetestsa00000000001"
FOLDER = "b1gtestfolder0000001"
FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.005, max_retry_after=2.0)

PROD, FAILING, EMPTY, BIG, OTHER, ODD = (
    f"bba{name:0<17}" for name in ("prod", "fail", "empty", "big", "other", "odd")
)


def rev(tag: str, n: int) -> str:
    """A revision id; ``rev("f", 3)`` is FAILING's third revision."""
    return f"bbarev{tag}{n:013d}"


def prod(n: int) -> str:
    """PROD's n-th revision (oldest first); alphabetically they run 4, 2, 6, 1, 5, 3."""
    return rev("mcxaqf"[n - 1], n)


# PROD, oldest first: p1..p4 OBSOLETE, p5 ACTIVE, p6 still CREATING. Listing order: by id.
PROD_REVISIONS = [
    (prod(1), "1.0.0", "2026-11-10T09:00:00.100000001Z", "OBSOLETE"),
    (prod(2), "1.1.0", "2026-11-12T09:00:00.200000002Z", "OBSOLETE"),
    (prod(3), "1.2.0", "2026-11-14T09:00:00.300000003Z", "OBSOLETE"),
    (prod(4), "1.3.0", "2026-11-16T09:00:00.400000004Z", "OBSOLETE"),
    (prod(5), "1.4.0", "2026-11-18T09:00:00.500000005Z", "ACTIVE"),
    (prod(6), "1.5.0", "2026-11-20T09:00:00.600000006Z", "CREATING"),
]
LIVE = prod(5)
PREVIOUS = prod(4)


def _revisions(tag: str, statuses: list[str], **extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Revisions oldest first, a day apart, with nanosecond timestamps."""
    return [
        {
            "id": rev(tag, n),
            "image": f"cr.yandex/crptest0000000000001/{tag}:1.{n}.0",
            "createdAt": f"2026-10-{n:02d}T12:00:00.{n:09d}Z",
            "status": status,
            **extra.get(f"r{n}", {}),
        }
        for n, status in enumerate(statuses, start=1)
    ]


def seed_document(*, service_account_key: dict[str, Any]) -> dict[str, Any]:
    """Every container the tests use, a static token, and the test service account's key."""
    prod = [{"id": i, "image": f"cr.yandex/crptest0000000000001/api:{tag}", "createdAt": at, "status": status}
            for i, tag, at, status in PROD_REVISIONS]  # fmt: skip
    failing = {"failRollback": "image pull failed: manifest unknown"}
    containers = [
        (PROD, "api", prod),
        (FAILING, "worker", _revisions("f", ["OBSOLETE", "OBSOLETE", "ACTIVE"], r2=failing)),
        (EMPTY, "empty", _revisions("e", ["CREATING"])),
        (BIG, "big", _revisions("b", ["OBSOLETE"] * 22 + ["ACTIVE"])),
        (OTHER, "other", _revisions("o", ["OBSOLETE", "ACTIVE"])),
        (ODD, "odd", _revisions("d", ["OBSOLETE", "RETIRED_BY_POLICY", "STATUS_UNSPECIFIED", "ACTIVE"])),
    ]
    return {
        "iamTokens": {TOKEN: USER},
        "serviceAccountKeys": [service_account_key],
        "containers": [{"id": cid, "folderId": FOLDER, "name": name, "revisions": revisions}
                       for cid, name, revisions in containers],
    }  # fmt: skip


def new_key() -> str:
    """An idempotency key as the reconciler makes them (a UUID in version-4 format)."""
    return str(uuid.uuid4())


def resolution_for(target: str, current: str = LIVE) -> Resolution:
    """A resolution as rebuilt from status after a restart (no candidates)."""
    return Resolution(current=current, target=target, explanation="rebuilt from status")


class _FirstRequests:
    """Stands in for ``random`` in the fault middleware: the first ``n`` rolls hit, the rest miss."""

    def __init__(self, n: int) -> None:
        self._rolls: Iterator[float] = chain(repeat(0.0, n), repeat(1.0))

    def random(self) -> float:
        return next(self._rolls)


def misbehave_first(monkeypatch: pytest.MonkeyPatch, state: YandexState, n: int, **faults: Any) -> None:
    """Make exactly the first ``n`` API requests (of ``faults["methods"]``) suffer ``faults``."""
    monkeypatch.setattr(common, "random", _FirstRequests(n))
    state.faults = Faults(**faults)


async def poll_until_done(
    adapter: Provider[Any], spec: Any, creds: Any, handle: Handle, *, within: float = 5.0
) -> list[Progress]:
    """Every observation until a terminal one (the last in the list); fails after ``within`` s."""
    seen: list[Progress] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        seen.append(await adapter.poll(spec, creds, handle))
        if seen[-1].state != OperationState.RUNNING:
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"operation {handle.id} still running after {within} s: {seen[-1].message}")


def statuses(state: YandexState, container: str) -> dict[str, str]:
    """Revision id → status, as the sandbox sees it now."""
    return dict(state.snapshot()["revisions"][container])


class FakeClock:
    """Wall-clock seconds that only move when a test says so (starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

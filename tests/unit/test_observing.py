"""Following a recorded rollback: the pauses between polls."""

from __future__ import annotations

import types
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from rollback_operator import observing
from rollback_operator.config import Timing
from rollback_operator.errors import ProviderUnavailable
from rollback_operator.jobs import Job, Steps
from rollback_operator.models import OperationState
from rollback_operator.providers.base import Credentials, Handle, Progress
from rollback_operator.status import Request, StatusWriter
from tests.support.memory import MemoryKube, fresh

NOW = datetime.now(UTC).isoformat().replace("+00:00", "Z")


class WithSecret(MemoryKube):
    async def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        return {"token": "t"}


class BusyOnce:
    """A provider that answers the first poll with 429 and ``Retry-After: 7``, then success."""

    def __init__(self) -> None:
        self.polls = 0

    def credentials(self, data: Mapping[str, str]) -> Credentials:
        return Credentials(dict(data))

    async def poll(self, block: object, creds: Credentials, handle: Handle) -> Progress:
        self.polls += 1
        if self.polls == 1:
            raise ProviderUnavailable("vector get_deployment: HTTP 429", retry_after=7.0)
        return Progress(OperationState.SUCCEEDED, "Deployed")


async def test_a_poll_answered_with_retry_after_waits_at_least_that_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = fresh()
    body["status"] = {
        "phase": "InProgress",
        "operation": {"id": "01dep", "claimedAt": NOW, "triggeredAt": NOW, "state": "Running"},
    }
    kube = WithSecret(body)
    adapter = BusyOnce()
    job = Job(StatusWriter(kube, Request.parse(body)), adapter=adapter, block=None)  # type: ignore[arg-type]
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(observing, "asyncio", types.SimpleNamespace(sleep=sleep, wait_for=None))
    steps = Steps(kube=kube, timing=Timing(poll_initial=0.1, poll_max=0.5), clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]

    await observing.observe(job, steps)

    assert adapter.polls == 2
    assert pauses
    assert pauses[0] >= 7.0  # the provider's pause, not the 0.1 s poll backoff
    assert kube.body["status"]["phase"] == "Succeeded"


class Unreachable(BusyOnce):
    async def poll(self, block: object, creds: Credentials, handle: Handle) -> Progress:
        self.polls += 1
        raise ProviderUnavailable("vector get_deployment: HTTP 503: maintenance")


async def test_a_timeout_after_failing_polls_says_why_the_polls_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    triggered = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    stamp = triggered.isoformat().replace("+00:00", "Z")
    body = fresh(timeoutSeconds=60)
    body["status"] = {
        "phase": "InProgress",
        "operation": {"id": "01dep", "claimedAt": stamp, "triggeredAt": stamp, "state": "Running"},
    }
    kube, adapter, now = WithSecret(body), Unreachable(), [triggered]
    job = Job(StatusWriter(kube, Request.parse(body)), adapter=adapter, block=None)  # type: ignore[arg-type]

    async def sleep(seconds: float) -> None:  # time passes only while the operator waits
        now[0] += timedelta(seconds=seconds)

    monkeypatch.setattr(observing, "asyncio", types.SimpleNamespace(sleep=sleep, wait_for=None))
    steps = Steps(kube=kube, timing=Timing(), clock=lambda: now[0])  # type: ignore[arg-type]

    await observing.observe(job, steps)

    status = kube.body["status"]
    assert status["phase"] == "Failed"
    assert {c["type"]: c["reason"] for c in status["conditions"]}["Ready"] == "TimedOut"
    assert status["message"].endswith("the latest poll failed: vector get_deployment: HTTP 503: maintenance")
    assert adapter.polls > 1

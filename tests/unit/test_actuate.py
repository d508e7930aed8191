"""Sending the rollback under the claim: what a run of failed attempts ends as."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollback_operator import reconciler as reconciling
from rollback_operator.config import Settings, Timing
from rollback_operator.errors import OutcomeUnknown, ProviderRejected, ProviderUnavailable, RollbackError
from rollback_operator.jobs import Job
from rollback_operator.providers.base import Credentials, Handle, Resolution
from rollback_operator.reconciler import Reconciler
from rollback_operator.scheduling import TargetGate
from rollback_operator.status import Request, StatusWriter
from tests.support.memory import MemoryKube, fresh

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
RESOLUTION = Resolution(current="rev-2", target="rev-1", explanation="stepsBack=1", watermark="rev-2")


class WithSecret(MemoryKube):
    async def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        return {"iamToken": "t1.abc"}


class Answers:
    """A provider whose rollback calls fail with the given errors, in turn."""

    def __init__(self, *errors: RollbackError) -> None:
        self.errors = list(errors)
        self.sent = 0

    def credentials(self, data: Mapping[str, str]) -> Credentials:
        return Credentials(dict(data))

    async def trigger(self, block: Any, creds: Credentials, resolution: Resolution, key: str) -> Handle:
        self.sent += 1
        raise self.errors.pop(0)


async def _actuate(monkeypatch: pytest.MonkeyPatch, adapter: Answers, kube: MemoryKube | None = None) -> None:
    now = [START]

    async def sleep(seconds: float) -> None:  # time passes only while the operator waits
        now[0] += timedelta(seconds=seconds)

    monkeypatch.setattr(reconciling.asyncio, "sleep", sleep)
    stamp = START.isoformat().replace("+00:00", "Z")
    body = fresh(timeoutSeconds=600)
    body["status"] = {"phase": "InProgress", "operation": {"claimedAt": stamp, "claimedBy": "me"}}
    kube = kube or WithSecret(body)
    kube.body = body
    settings = Settings(identity="me", timing=Timing(claim_grace=30.0))
    gate = TargetGate()
    operator = Reconciler(kube=kube, registry=None, settings=settings, gate=gate, clock=lambda: now[0])  # type: ignore[arg-type]
    job = Job(StatusWriter(kube, Request.parse(body), clock=lambda: now[0]), adapter=adapter, block=None)  # type: ignore[arg-type]
    job.turn_at = START
    await operator._actuate(job, RESOLUTION)


async def test_a_refusal_after_an_attempt_that_may_have_acted_ends_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter = Answers(
        ProviderUnavailable("yandex rollback: HTTP 503", maybe_acted=True),
        ProviderRejected("yandex rollback: HTTP 400: FAILED_PRECONDITION", status_code=400),
    )

    with pytest.raises(OutcomeUnknown, match="An earlier attempt may have reached the provider"):
        await _actuate(monkeypatch, adapter)
    assert adapter.sent == 2


async def test_a_refusal_after_attempts_that_did_not_act_stays_a_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter = Answers(
        ProviderUnavailable("yandex rollback: HTTP 429"),
        ProviderRejected("yandex rollback: HTTP 400: bad revision", status_code=400),
    )

    with pytest.raises(ProviderRejected):
        await _actuate(monkeypatch, adapter)


async def test_a_long_pause_keeps_the_claim_fresh_so_no_other_instance_takes_it_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kube = WithSecret(fresh())
    adapter = Answers(
        ProviderUnavailable("yandex rollback: HTTP 429", retry_after=100.0),
        ProviderRejected("yandex rollback: HTTP 400: bad revision", status_code=400),
    )

    with pytest.raises(ProviderRejected):
        await _actuate(monkeypatch, adapter, kube)

    renewals = [patch for patch, guard in kube.patches if guard is not None]
    assert len(renewals) >= 10  # every 10 s (a third of the 30 s grace) across the 100 s pause

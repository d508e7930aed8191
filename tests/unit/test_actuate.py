"""Sending the rollback under the claim: what a run of failed attempts ends as."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from rollback_operator.config import Timing
from rollback_operator.errors import OutcomeUnknown, ProviderRejected, ProviderUnavailable, RollbackError
from rollback_operator.providers.base import Credentials, Handle, Resolution
from rollback_operator.reconcile.actuate import Actuator
from tests.support.memory import MemoryKube, fresh
from tests.unit.samples import START, Clockwork, calls, on_kube

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

    def target_key(self, block: Any) -> str:
        return "yandex/container"

    async def trigger(self, block: Any, creds: Credentials, resolution: Resolution, key: str) -> Handle:
        self.sent += 1
        raise self.errors.pop(0)


async def _actuate(adapter: Answers, kube: MemoryKube | None = None) -> MemoryKube:
    """Claim (create the record) and send, with time passing only while the operator waits."""
    kube = kube or WithSecret(fresh(timeoutSeconds=600))
    clock = Clockwork()
    timing = Timing(claim_grace=30.0)
    job = on_kube(kube, clock)
    job.adapter = adapter  # type: ignore[assignment]
    job.turn_at = START
    actuator = Actuator(calls(kube, timing=timing, clock=clock), me="me", timing=timing, clock=clock)
    await actuator.claim(job, RESOLUTION)
    await actuator.actuate(job, RESOLUTION)
    return kube


async def test_a_refusal_after_an_attempt_that_may_have_acted_ends_unknown() -> None:
    adapter = Answers(
        ProviderUnavailable("yandex rollback: HTTP 503", maybe_acted=True),
        ProviderRejected("yandex rollback: HTTP 400: FAILED_PRECONDITION", status_code=400),
    )

    with pytest.raises(OutcomeUnknown, match="An earlier attempt may have reached the provider"):
        await _actuate(adapter)
    assert adapter.sent == 2


async def test_a_refusal_after_attempts_that_did_not_act_stays_a_refusal() -> None:
    adapter = Answers(
        ProviderUnavailable("yandex rollback: HTTP 429"),
        ProviderRejected("yandex rollback: HTTP 400: bad revision", status_code=400),
    )

    with pytest.raises(ProviderRejected):
        await _actuate(adapter)


async def test_a_long_pause_keeps_the_claim_fresh_so_no_other_instance_takes_it_over() -> None:
    kube = WithSecret(fresh())
    adapter = Answers(
        ProviderUnavailable("yandex rollback: HTTP 429", retry_after=100.0),
        ProviderRejected("yandex rollback: HTTP 400: bad revision", status_code=400),
    )

    with pytest.raises(ProviderRejected):
        await _actuate(adapter, kube)

    renewals = [guard for kind, guard in kube.record_writes if kind == "patch" and guard is not None]
    assert len(renewals) >= 10  # every 10 s (a third of the 30 s grace) across the 100 s pause


async def test_the_claim_is_the_record_created_before_the_first_send() -> None:
    kube = WithSecret(fresh())
    adapter = Answers(ProviderRejected("yandex rollback: HTTP 400: bad revision", status_code=400))

    with pytest.raises(ProviderRejected):
        await _actuate(adapter, kube)

    assert kube.record_writes[0] == ("create", None)
    (record,) = kube.records.values()
    assert record["spec"]["from"] == "rev-2"
    assert record["spec"]["to"] == "rev-1"
    assert record["spec"]["watermark"] == "rev-2"
    assert record["status"]["claimedBy"] == "me"

"""Following a recorded rollback: the pauses between polls."""

from __future__ import annotations

from collections.abc import Mapping

from rollback_operator.config import Timing
from rollback_operator.errors import ProviderRejected, ProviderUnavailable
from rollback_operator.providers.base import Credentials, Handle, Progress
from rollback_operator.reconcile import observe
from rollback_operator.reconcile.job import Job, Request
from rollback_operator.reconcile.status import StatusWriter
from rollback_operator.status_models import OperationState
from tests.support.memory import MemoryKube, fresh
from tests.unit.samples import START, Clockwork, calls

NOW = START.isoformat().replace("+00:00", "Z")


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


async def test_a_poll_answered_with_retry_after_waits_at_least_that_long() -> None:
    body = fresh()
    body["status"] = {
        "phase": "InProgress",
        "operation": {"id": "01dep", "claimedAt": NOW, "triggeredAt": NOW, "state": "Running"},
    }
    kube = WithSecret(body)
    adapter = BusyOnce()
    clock = Clockwork()
    job = Job(StatusWriter(kube, Request.parse(body), clock=clock), adapter=adapter, block=None)  # type: ignore[arg-type]

    await observe.observe(job, calls(kube, timing=Timing(poll_initial=0.1, poll_max=0.5), clock=clock))

    assert adapter.polls == 2
    assert clock.pauses
    assert clock.pauses[0] >= 7.0  # the provider's pause, not the 0.1 s poll backoff
    assert kube.body["status"]["phase"] == "Succeeded"


class Unreachable(BusyOnce):
    async def poll(self, block: object, creds: Credentials, handle: Handle) -> Progress:
        self.polls += 1
        raise ProviderUnavailable("vector get_deployment: HTTP 503: maintenance")


def _triggered(timeout: int = 60) -> dict[str, object]:
    body = fresh(timeoutSeconds=timeout)
    body["status"] = {
        "phase": "InProgress",
        "operation": {"id": "01dep", "claimedAt": NOW, "triggeredAt": NOW, "state": "Running"},
    }
    return body


async def test_a_timeout_after_failing_polls_says_why_the_polls_failed() -> None:
    body = _triggered()
    kube, adapter, clock = WithSecret(body), Unreachable(), Clockwork()
    job = Job(StatusWriter(kube, Request.parse(body), clock=clock), adapter=adapter, block=None)  # type: ignore[arg-type]

    await observe.observe(job, calls(kube, clock=clock))

    status = kube.body["status"]
    assert status["phase"] == "Failed"
    assert {c["type"]: c["reason"] for c in status["conditions"]}["Ready"] == "TimedOut"
    assert status["message"].endswith("the latest poll failed: vector get_deployment: HTTP 503: maintenance")
    assert adapter.polls > 1


class FinishedMeanwhile(BusyOnce):
    """Running at the first poll; finished by the time anyone looks again."""

    async def poll(self, block: object, creds: Credentials, handle: Handle) -> Progress:
        self.polls += 1
        if self.polls == 1:
            return Progress(OperationState.RUNNING, "deploying")
        return Progress(OperationState.SUCCEEDED, "Deployed")


class Stopped(Clockwork):
    """An operator stopped (SIGSTOP) during its first pause: it wakes long past the deadline."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds + (600 if not self.pauses else 0))


async def test_an_operator_that_wakes_past_the_deadline_looks_once_more_before_timing_out() -> None:
    body = _triggered(timeout=60)
    kube, adapter, clock = WithSecret(body), FinishedMeanwhile(), Stopped()
    job = Job(StatusWriter(kube, Request.parse(body), clock=clock), adapter=adapter, block=None)  # type: ignore[arg-type]

    await observe.observe(job, calls(kube, clock=clock))

    assert adapter.polls == 2
    assert kube.body["status"]["phase"] == "Succeeded"


class OversizedOnce(BusyOnce):
    """A status answer over the size cap once, then the finished rollback."""

    async def poll(self, block: object, creds: Credentials, handle: Handle) -> Progress:
        self.polls += 1
        if self.polls == 1:
            raise ProviderRejected(
                "vector get_deployment: HTTP 200: the answer was larger than 4194304 bytes"
            )
        return Progress(OperationState.SUCCEEDED, "Deployed")


async def test_a_refused_poll_of_a_sent_rollback_is_asked_again_not_taken_as_its_outcome() -> None:
    body = _triggered(timeout=600)
    kube, adapter, clock = WithSecret(body), OversizedOnce(), Clockwork()
    job = Job(StatusWriter(kube, Request.parse(body), clock=clock), adapter=adapter, block=None)  # type: ignore[arg-type]

    await observe.observe(job, calls(kube, clock=clock))

    assert adapter.polls == 2
    assert kube.body["status"]["phase"] == "Succeeded"


class AlwaysRefused(BusyOnce):
    async def poll(self, block: object, creds: Credentials, handle: Handle) -> Progress:
        self.polls += 1
        raise ProviderRejected("vector get_deployment: HTTP 404: not found")


async def test_polls_refused_until_the_deadline_end_timed_out_saying_why() -> None:
    body = _triggered(timeout=60)
    kube, clock = WithSecret(body), Clockwork()
    job = Job(StatusWriter(kube, Request.parse(body), clock=clock), adapter=AlwaysRefused(), block=None)  # type: ignore[arg-type]

    await observe.observe(job, calls(kube, clock=clock))

    status = kube.body["status"]
    assert {c["type"]: c["reason"] for c in status["conditions"]}["Ready"] == "TimedOut"
    assert status["message"].endswith("the latest poll failed: vector get_deployment: HTTP 404: not found")

"""One run over one request (``Job``) and the plumbing every reconcile step shares (``Steps``).

``Steps`` runs provider calls with the request's credentials, retries transient failures until the
request's deadline, retries Kubernetes writes while the API server is away, and writes terminal
situations. Used by ``reconciler.py`` (claim, trigger, recover) and ``observing.py`` (polling).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import ValidationError

from rollback_operator import conditions
from rollback_operator.conditions import Reason, Situation
from rollback_operator.config import Timing, backoff
from rollback_operator.credentials import SecretCache
from rollback_operator.errors import (
    CredentialsInvalid,
    CredentialsMissing,
    OutcomeUnknown,
    PermanentError,
    TransientError,
)
from rollback_operator.models import TERMINAL_PHASES, Operation, OperationState, Phase
from rollback_operator.providers.base import Credentials, Provider, Resolution
from rollback_operator.status import Clock, Kube, Request, StatusWriter

log = logging.getLogger(__name__)
CHECK_PROVIDER = "Check the provider; if no rollback happened, delete this request and create a new one."
"""What a human should do about an ``OutcomeUnknown``: the end of every such message."""
T = TypeVar("T")


class GaveUp(PermanentError):
    """A transient failure outlasted the request's deadline; keeps the transient reason."""

    def __init__(self, cause: TransientError, seconds: int) -> None:
        super().__init__(f"gave up after {seconds}s: {cause.message}")
        self.reason = cause.reason


@dataclass
class Job:
    """One run over one request: the writer (holding the latest body) and its provider."""

    writer: StatusWriter
    adapter: Provider[Any]
    block: Any
    turn_at: datetime | None = None
    """When this run's turn on the target came (time spent queued does not count against it)."""

    @property
    def req(self) -> Request:
        return self.writer.request

    @property
    def op(self) -> Operation:
        return self.req.status.operation or Operation()

    @property
    def label(self) -> str:
        return f"{self.req.namespace}/{self.req.name}"


@dataclass
class Steps:
    """Shared reconcile steps, bound to the Kubernetes API, the timing settings and a clock."""

    kube: Kube
    timing: Timing
    clock: Clock
    secrets: SecretCache = field(init=False)

    def __post_init__(self) -> None:
        self.secrets = SecretCache(
            lambda ns, name: self.kube.read_secret(ns, name), ttl=self.timing.secret_cache
        )

    async def credentials(self, job: Job, *, fresh: bool = False) -> tuple[Credentials, bool]:
        """The provider's credentials from the request's Secret, and whether they were reused.

        Reused values (see ``SecretCache``) never fail a request by themselves: when they cannot
        be used, the Secret is read again before anything is concluded.
        """
        namespace, ref = job.req.namespace, job.req.spec.credentials_secret_ref.name
        data, reused = await self.secrets.read(namespace, ref, fresh=fresh)
        if data is None:
            raise CredentialsMissing(f"Secret {namespace}/{ref} does not exist (yet)")
        try:
            return job.adapter.credentials(data), reused
        except (CredentialsMissing, CredentialsInvalid):
            self.secrets.forget(namespace, ref)
            if reused:
                return await self.credentials(job, fresh=True)
            raise

    async def authorized(self, job: Job, call: Callable[[Credentials], Awaitable[T]]) -> T:
        """Run a provider call with the request's credentials.

        A 401/403 answer to reused credentials is tried once more with the Secret read afresh (it
        may have been rotated a moment ago); the provider did not act on a rejected call.
        """
        credentials, reused = await self.credentials(job)
        try:
            return await call(credentials)
        except CredentialsInvalid:
            if not reused:
                raise
            self.secrets.forget(job.req.namespace, job.req.spec.credentials_secret_ref.name)
            credentials, _ = await self.credentials(job, fresh=True)
            return await call(credentials)

    async def retrying(self, job: Job, call: Callable[[Credentials], Awaitable[T]]) -> T:
        """Run a provider step, retrying transient failures until the request's deadline."""
        delays = backoff(self.timing.retry_initial, self.timing.retry_max)
        while True:
            try:
                return await self.authorized(job, call)
            except TransientError as err:
                self.check_deadline(job, err)
                if not job.op.claimed_at:  # before the claim, the waiting is worth showing
                    await job.writer.write(Situation(Phase.RESOLVING, err.reason, f"{err.message}; retrying"))
                await asyncio.sleep(err.retry_after or next(delays))

    def check_deadline(self, job: Job, err: TransientError) -> None:
        """Turn a transient failure into a permanent one once ``timeoutSeconds`` have passed since
        the request's turn came (or since its creation, when this run did not queue it)."""
        seconds = job.req.spec.timeout_seconds
        if self.clock() >= (job.turn_at or job.req.created) + timedelta(seconds=seconds):
            raise GaveUp(err, seconds) from err

    async def finish(self, job: Job, situation: Situation, **facts: Any) -> None:
        """Write a (usually terminal) situation, waiting out API server outages."""
        await self.kube_retrying(lambda: job.writer.write(situation, **facts))

    async def kube_retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """Retry a Kubernetes API call while the API server is unavailable."""
        delays = backoff(self.timing.retry_initial, self.timing.retry_max)
        while True:
            try:
                return await call()
            except TransientError as err:
                log.warning("Kubernetes API unavailable (%s); retrying", err)
                await asyncio.sleep(next(delays))

    async def reject_invalid(self, body: dict[str, Any], exc: ValidationError) -> None:
        """A spec the models reject (e.g. created before the CRD validated it): fail it, visibly."""
        if (body.get("status") or {}).get("phase") in TERMINAL_PHASES:
            return
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        status = body.get("status") or {}
        if (status.get("operation") or {}).get("claimedAt"):  # e.g. rules tightened by an upgrade
            message = (
                f"the spec no longer passes the operator's checks ({problems}), so it cannot follow "
                f"this request, whose rollback may have been sent. {CHECK_PROVIDER}"
            )
            situation = Situation(Phase.UNKNOWN, Reason.OUTCOME_UNKNOWN, message)
        else:
            situation = Situation(Phase.FAILED, Reason.INVALID_SPEC, f"the spec is invalid: {problems}")
        meta, now = body["metadata"], self.clock()
        rendered = conditions.render(situation, previous=[], generation=meta.get("generation"), now=now)
        stamp = now.isoformat().replace("+00:00", "Z")
        patch = {
            "observedGeneration": meta.get("generation"),  # else kstatus reads it as still in progress
            "phase": situation.phase.value,
            "message": situation.message,
            "startedAt": status.get("startedAt") or stamp,
            "completedAt": stamp,
            "conditions": [c.model_dump(mode="json", by_alias=True) for c in rendered],
        }
        await self.kube_retrying(lambda: self.kube.patch_status(meta["namespace"], meta["name"], patch))
        await self.kube.post_event(body, type_="Warning", reason=situation.reason, message=situation.message)


def resolution_facts(resolution: Resolution) -> dict[str, Any]:
    """The status fields that record what ``resolve`` found."""
    return {
        "current_version": resolution.current,
        "target_version": resolution.target,
        "resolution": resolution.explanation,
    }


def resolution_from_status(job: Job) -> Resolution:
    """Rebuild what ``resolve`` found from the status written with the claim (without candidates)."""
    status = job.req.status
    if not status.current_version or not status.target_version:
        raise OutcomeUnknown("the claim carries no resolved versions")
    return Resolution(
        status.current_version, status.target_version, status.resolution or "", job.op.watermark
    )


def with_state(op: Operation, state: OperationState, message: str) -> Operation:
    """``op`` with the provider's latest state and message."""
    return op.model_copy(update={"state": state, "message": message or None})


def deadline_after(start: datetime | None, seconds: int, clock: Clock) -> datetime:
    """``start`` (or now) plus ``seconds``."""
    return (start or clock()) + timedelta(seconds=seconds)

"""Resolve → wait for the target → claim → trigger → record → observe, as plain async code.

``Reconciler.run(namespace, name)`` drives one RollbackRequest from whatever state its status
shows to a terminal state, and is safe to run again at any point (after a crash, a restart, a
lost race): every decision is taken from a fresh read of the object.

Exactly once, by construction:
1. Before the provider call, a claim (``operation.claimedAt/claimedBy/idempotencyKey``) is written
   with a ``resourceVersion``-guarded patch. Of two writers only one succeeds; the loser re-reads.
2. The trigger is sent only within the first half of the claim's grace period, and the returned
   handle is recorded at once (retried until written, never by re-sending).
3. A claim without a handle means the outcome is unknown. Its holder may ask at once; anyone else
   waits until the grace period has passed, re-claims (guarded again) and asks the provider
   (``recover``): triggered → adopt the handle; not triggered → trigger; cannot tell → ``Unknown``.
Called by the supervisor that ``handlers.py`` sets up; knows nothing of kopf.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import ValidationError

from rollback_operator import conditions, metrics
from rollback_operator.conditions import Reason, Situation
from rollback_operator.config import Settings, backoff, endpoint_allowed
from rollback_operator.errors import (
    Conflict,
    CredentialsMissing,
    EndpointNotAllowed,
    Gone,
    OutcomeUnknown,
    PermanentError,
    PreconditionFailed,
    TransientError,
)
from rollback_operator.models import Operation, OperationState, Phase
from rollback_operator.providers import Registry
from rollback_operator.providers.base import Credentials, Handle, Provider, RecoveryState, Resolution
from rollback_operator.scheduling import QueueEntry, TargetGate
from rollback_operator.status import Clock, Kube, Request, StatusWriter, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")
Shield = Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]]


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

    @property
    def req(self) -> Request:
        return self.writer.request

    @property
    def op(self) -> Operation:
        return self.req.status.operation or Operation()


async def _direct(coro: Coroutine[Any, Any, Any]) -> Any:
    return await coro


class Reconciler:
    """Drives RollbackRequests; one instance per operator process."""

    def __init__(
        self,
        *,
        kube: Kube,
        registry: Registry,
        settings: Settings,
        gate: TargetGate,
        shield: Shield = _direct,
        clock: Clock = utcnow,
    ) -> None:
        self.kube, self.registry, self.settings, self.gate = kube, registry, settings, gate
        self.timing = settings.timing
        self.shield, self.clock = shield, clock
        self.slots = asyncio.Semaphore(settings.max_concurrent)

    # ------------------------------------------------------------------ entry points

    def target_key(self, body: dict[str, Any]) -> str | None:
        """The per-target lock key of a request body, or None when its spec is unusable."""
        try:
            req = Request.parse(body)
        except ValidationError:
            return None
        adapter, block = self.registry.for_spec(req.spec.provider)
        return adapter.target_key(block)

    async def run(self, namespace: str, name: str) -> None:
        """Bring the request to a terminal state (or return if it already is, or is gone)."""
        while True:
            try:
                job = await self._load(namespace, name)
                if job is None:
                    return
                await self._advance(job)
                return
            except Conflict:
                log.info("%s/%s changed underneath; reading it again", namespace, name)
            except Gone:
                return

    async def _load(self, namespace: str, name: str) -> Job | None:
        body = await self._kube_retrying(lambda: self.kube.get(namespace, name))
        try:
            req = Request.parse(body)
        except ValidationError as exc:
            await self._reject_invalid(body, exc)
            return None
        if req.status.terminal:
            return None
        adapter, block = self.registry.for_spec(req.spec.provider)
        return Job(StatusWriter(self.kube, req, clock=self.clock), adapter, block)

    async def _advance(self, job: Job) -> None:
        provider = job.req.spec.provider.name
        metrics.IN_FLIGHT.labels(provider).inc()
        try:
            if job.op.id:
                await self._observe(job)
            elif job.op.claimed_at:
                await self._resume(job)
            else:
                await self._start(job)
        except PermanentError as err:
            await self._finish(
                job, Situation(Phase.FAILED, err.reason, err.message, triggered=bool(job.op.id))
            )
        except OutcomeUnknown as err:
            await self._finish(job, Situation(Phase.UNKNOWN, Reason.OUTCOME_UNKNOWN, err.message))
        finally:
            metrics.IN_FLIGHT.labels(provider).dec()

    # ------------------------------------------------------------------ fresh requests

    async def _start(self, job: Job) -> None:
        self._check_endpoints(job)
        me = QueueEntry(
            job.req.body["metadata"]["creationTimestamp"], f"{job.req.namespace}/{job.req.name}", job.req.uid
        )
        key = job.adapter.target_key(job.block)
        await self.gate.wait_turn(key, me, on_wait=lambda ahead: self._waiting(job, ahead))
        async with self.slots:
            resolution = await self._retrying(
                job, lambda creds: job.adapter.resolve(job.block, creds, job.req.spec.target)
            )
            if await self._settled_without_trigger(job, resolution):
                return
            await self._claim(job, resolution, renew=False)
            if not await self._actuate(job, resolution):
                return
        await self._observe(job)

    def _check_endpoints(self, job: Job) -> None:
        for url in job.adapter.endpoints(job.block):
            if not endpoint_allowed(url, self.settings.allowed):
                raise EndpointNotAllowed(
                    f"{url} is not in the operator's allow-list; no request was sent. An operator admin "
                    "can allow it with --allowed-endpoint or ROLLBACK_OPERATOR_ALLOWED_ENDPOINTS."
                )

    async def _waiting(self, job: Job, ahead: list[QueueEntry]) -> None:
        more = f" (and {len(ahead) - 1} more)" if len(ahead) > 1 else ""
        message = f"waiting for {ahead[0].name}{more} to finish with the same target"
        await job.writer.write(Situation(Phase.WAITING, Reason.WAITING_FOR_TARGET, message))

    async def _settled_without_trigger(self, job: Job, resolution: Resolution) -> bool:
        """Handle the outcomes that need no provider call; True when the request is finished."""
        spec = job.req.spec
        facts = _resolution_facts(resolution)
        if spec.expected_current_version and spec.expected_current_version != resolution.current:
            raise PreconditionFailed(
                f"expected the live version to be {spec.expected_current_version}, but it is "
                f"{resolution.current}; nothing was changed"
            )
        if resolution.already_at_target:
            message = f"{resolution.target} is already the live version; nothing to do"
            await self._finish(job, Situation(Phase.SUCCEEDED, Reason.ALREADY_AT_TARGET, message), **facts)
            return True
        if spec.dry_run:
            message = f"dry run: would roll back from {resolution.current} to {resolution.target}"
            await self._finish(job, Situation(Phase.SUCCEEDED, Reason.DRY_RUN_SUCCEEDED, message), **facts)
            return True
        return False

    # ------------------------------------------------------------------ claim, trigger, record

    async def _claim(self, job: Job, resolution: Resolution, *, renew: bool) -> None:
        """Write (or take over) the claim, guarded by resourceVersion; ``Conflict`` if we lost."""
        op = job.op.model_copy(
            update={
                "idempotency_key": job.req.idempotency_key,
                "claimed_at": self.clock(),
                "claimed_by": self.settings.identity,
                "watermark": job.op.watermark if renew else resolution.watermark,
            }
        )
        message = f"rolling back from {resolution.current} to {resolution.target}"
        situation = Situation(Phase.IN_PROGRESS, Reason.CLAIMED, message)
        # A lost answer to this write comes back as Conflict on the retry: the re-read then finds
        # our own claim and takes the recovery path, which is exactly right.
        await self._kube_retrying(
            lambda: job.writer.write(situation, guard=True, operation=op, **_resolution_facts(resolution))
        )

    async def _actuate(self, job: Job, resolution: Resolution) -> bool:
        """Trigger under the claim until a handle is recorded; False if the request ended instead."""
        delays = backoff(self.timing.retry_initial, self.timing.retry_max)
        while True:
            try:
                await self.shield(self._send_and_record(job, resolution))
                return True
            except OutcomeUnknown:
                await asyncio.sleep(self.timing.settle)
                return await self._recover(job, resolution)
            except TransientError as err:  # the provider did not act (or deduplicates): send again
                self._check_deadline(job, err)
                await asyncio.sleep(err.retry_after or next(delays))
                await self._claim(job, resolution, renew=True)

    async def _send_and_record(self, job: Job, resolution: Resolution) -> None:
        claimed_at = job.op.claimed_at
        assert claimed_at is not None
        window = (claimed_at + timedelta(seconds=self.timing.claim_grace / 2) - self.clock()).total_seconds()
        if window <= 0:
            raise TransientError("the claim's sending window passed before the rollback was sent")
        creds = await self._credentials(job)
        key = job.op.idempotency_key or job.req.idempotency_key
        try:
            handle = await asyncio.wait_for(job.adapter.trigger(job.block, creds, resolution, key), window)
        except TimeoutError as exc:
            raise OutcomeUnknown("no answer from the provider within the claim's sending window") from exc
        await self._record(job, handle)

    async def _record(self, job: Job, handle: Handle) -> None:
        """Write the handle; retried until it sticks, because re-sending is never an option."""
        op = job.op.model_copy(
            update={
                "id": handle.id,
                "triggered_at": self.clock(),
                "state": OperationState.RUNNING,
                "message": handle.message or None,
            }
        )
        message = f"rollback to {job.req.status.target_version} triggered ({handle.id})"
        situation = Situation(Phase.IN_PROGRESS, Reason.ROLLBACK_TRIGGERED, message, triggered=True)
        await self._kube_retrying(lambda: job.writer.write(situation, operation=op))

    # ------------------------------------------------------------------ after a crash

    async def _resume(self, job: Job) -> None:
        """A claim without a handle: wait out a foreign claim's grace, take it over, ask the provider."""
        op = job.op
        assert op.claimed_at is not None
        if op.claimed_by != self.settings.identity:
            until = op.claimed_at + timedelta(seconds=self.timing.claim_grace)
            pause = (until - self.clock()).total_seconds()
            if pause > 0:
                log.info(
                    "%s/%s: claim by %s is %ss from its grace end; waiting",
                    job.req.namespace,
                    job.req.name,
                    op.claimed_by,
                    round(pause),
                )
                await asyncio.sleep(pause)
                raise Conflict("re-read after waiting out another instance's claim")
        resolution = _resolution_from_status(job)
        async with self.slots:
            await self._claim(job, resolution, renew=True)
            if not await self._recover(job, resolution):
                return
        await self._observe(job)

    async def _recover(self, job: Job, resolution: Resolution) -> bool:
        """Ask the provider what became of an unrecorded trigger; True once a handle is recorded."""
        key = job.op.idempotency_key or job.req.idempotency_key
        recovery = await self._retrying(
            job, lambda creds: job.adapter.recover(job.block, creds, resolution, key)
        )
        if recovery.state is RecoveryState.TRIGGERED and recovery.handle is not None:
            await self._record(job, recovery.handle)
            return True
        if recovery.state is RecoveryState.NOT_TRIGGERED:
            return await self._actuate(job, resolution)
        message = (
            f"{recovery.message} The operator did not send the rollback again. Check the provider; "
            "if no rollback happened, delete this request and create a new one."
        )
        await self._finish(job, Situation(Phase.UNKNOWN, Reason.OUTCOME_UNKNOWN, message.strip()))
        return False

    # ------------------------------------------------------------------ observing

    async def _observe(self, job: Job) -> None:
        """Poll the handle until a terminal provider state or the request's timeout."""
        op = job.op
        assert op.id is not None
        deadline = (op.triggered_at or self.clock()) + timedelta(seconds=job.req.spec.timeout_seconds)
        delays = backoff(self.timing.poll_initial, self.timing.poll_max)
        while True:
            try:
                progress = await job.adapter.poll(job.block, await self._credentials(job), Handle(op.id))
            except TransientError as err:
                log.info(
                    "%s/%s: polling %s failed (%s); retrying", job.req.namespace, job.req.name, op.id, err
                )
            else:
                if progress.state is OperationState.SUCCEEDED:
                    message = f"rolled back to {job.req.status.target_version}"
                    await self._finish(
                        job,
                        Situation(Phase.SUCCEEDED, Reason.ROLLBACK_SUCCEEDED, message),
                        operation=_with_state(op, progress.state, progress.message),
                    )
                    return
                if progress.state is OperationState.FAILED:
                    message = f"the provider reports the rollback failed: {progress.message}"
                    await self._finish(
                        job,
                        Situation(Phase.FAILED, Reason.ROLLBACK_FAILED, message, triggered=True),
                        operation=_with_state(op, progress.state, progress.message),
                    )
                    return
                await self._progress(job, progress.message)
            op = job.op
            remaining = (deadline - self.clock()).total_seconds()
            if remaining <= 0:
                message = (
                    f"no terminal state within {job.req.spec.timeout_seconds}s of the trigger; the provider "
                    f"may still finish operation {op.id}"
                )
                await self._finish(job, Situation(Phase.FAILED, Reason.TIMED_OUT, message, triggered=True))
                return
            await asyncio.sleep(min(next(delays), remaining))

    async def _progress(self, job: Job, provider_message: str) -> None:
        op = job.op
        if op.message == (provider_message or None):
            return
        situation = Situation(
            Phase.IN_PROGRESS,
            Reason.ROLLBACK_TRIGGERED,
            f"rollback to {job.req.status.target_version}: {provider_message}",
            triggered=True,
        )
        await job.writer.write(situation, operation=_with_state(op, OperationState.RUNNING, provider_message))

    # ------------------------------------------------------------------ shared steps

    async def _credentials(self, job: Job) -> Credentials:
        ref = job.req.spec.credentials_secret_ref.name
        data = await self.kube.read_secret(job.req.namespace, ref)
        if data is None:
            raise CredentialsMissing(f"Secret {job.req.namespace}/{ref} does not exist (yet)")
        return job.adapter.credentials(data)

    async def _retrying(self, job: Job, call: Callable[[Credentials], Awaitable[T]]) -> T:
        """Run a read-only provider step, retrying transient failures until the request's deadline."""
        delays = backoff(self.timing.retry_initial, self.timing.retry_max)
        while True:
            try:
                return await call(await self._credentials(job))
            except TransientError as err:
                self._check_deadline(job, err)
                if not job.op.claimed_at:
                    await job.writer.write(Situation(Phase.RESOLVING, err.reason, f"{err.message}; retrying"))
                await asyncio.sleep(err.retry_after or next(delays))

    def _check_deadline(self, job: Job, err: TransientError) -> None:
        """Turn a transient failure into a permanent one once the request's timeout has passed."""
        seconds = job.req.spec.timeout_seconds
        if self.clock() >= job.req.created + timedelta(seconds=seconds):
            raise GaveUp(err, seconds) from err

    async def _finish(self, job: Job, situation: Situation, **facts: Any) -> None:
        await self._kube_retrying(lambda: job.writer.write(situation, **facts))

    async def _kube_retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """Retry a Kubernetes API call while the API server is unavailable."""
        delays = backoff(self.timing.retry_initial, self.timing.retry_max)
        while True:
            try:
                return await call()
            except TransientError as err:
                log.warning("Kubernetes API unavailable (%s); retrying", err)
                await asyncio.sleep(next(delays))

    async def _reject_invalid(self, body: dict[str, Any], exc: ValidationError) -> None:
        """A spec the models reject (e.g. created before the CRD validated it): fail it, visibly."""
        status = body.get("status") or {}
        if status.get("phase") == Phase.FAILED:
            return
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        situation = Situation(Phase.FAILED, Reason.INVALID_SPEC, f"the spec is invalid: {problems}")
        now = self.clock()
        conds = conditions.render(
            situation, previous=[], generation=body["metadata"].get("generation"), now=now
        )
        patch = {
            "phase": situation.phase.value,
            "message": situation.message,
            "completedAt": _iso(now),
            "conditions": [c.model_dump(mode="json", by_alias=True) for c in conds],
        }
        meta = body["metadata"]
        await self._kube_retrying(lambda: self.kube.patch_status(meta["namespace"], meta["name"], patch))
        await self.kube.post_event(
            body, type_="Warning", reason=Reason.INVALID_SPEC, message=situation.message
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _resolution_facts(resolution: Resolution) -> dict[str, Any]:
    return {
        "current_version": resolution.current,
        "target_version": resolution.target,
        "resolution": resolution.explanation,
    }


def _resolution_from_status(job: Job) -> Resolution:
    """Rebuild what ``resolve`` found from the status written with the claim (candidates are not kept)."""
    status = job.req.status
    if not status.current_version or not status.target_version:
        raise OutcomeUnknown("the claim carries no resolved versions")
    return Resolution(
        status.current_version, status.target_version, status.resolution or "", job.op.watermark
    )


def _with_state(op: Operation, state: OperationState, message: str) -> Operation:
    return op.model_copy(update={"state": state, "message": message or None})

"""Resolve → wait for the target → claim → trigger → record → observe, as plain async code.

``Reconciler.run(namespace, name)`` drives one RollbackRequest from whatever state its status
shows to a terminal state, and is safe to run again at any point (after a crash, a restart, a
lost race): every decision is taken from a fresh read of the object.

Exactly once, by construction:
1. Before the provider call, a claim (``operation.claimedAt/claimedBy/idempotencyKey``) is written
   with a ``resourceVersion``-guarded patch. Of two writers only one succeeds; the loser re-reads.
2. The trigger is sent only within the first half of the claim's grace period, and the returned
   handle is recorded at once (retried until written, never by re-sending): after one poll of at
   most a second, so that a rollback already finished is written once with its outcome.
3. A claim without a handle means the outcome is unknown. Its holder may ask at once; anyone else
   waits until the grace period has passed, re-claims (guarded again) and asks the provider
   (``recover``): triggered → adopt the handle; not triggered → trigger; cannot tell → ``Unknown``.
Called by the supervisor that ``handlers.py`` sets up; knows nothing of kopf.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from rollback_operator import metrics
from rollback_operator.conditions import Reason, Situation
from rollback_operator.config import Settings, backoff, endpoint_allowed
from rollback_operator.errors import (
    Conflict,
    EndpointNotAllowed,
    Gone,
    OutcomeUnknown,
    PermanentError,
    PreconditionFailed,
    RollbackError,
    TransientError,
)
from rollback_operator.jobs import (
    CHECK_PROVIDER,
    GaveUp,
    Job,
    Steps,
    resolution_facts,
    resolution_from_status,
)
from rollback_operator.models import OperationState, Phase, RollbackRequestSpec
from rollback_operator.observing import first_look, observe, settle
from rollback_operator.providers import Registry
from rollback_operator.providers.base import Handle, Recovery, RecoveryState, Resolution
from rollback_operator.scheduling import QueueEntry, TargetGate
from rollback_operator.status import Clock, Kube, Request, StatusWriter, utcnow

log = logging.getLogger(__name__)


def _unsure(err: RollbackError) -> OutcomeUnknown:
    """``err`` ended the attempts, but an earlier one may have started the rollback."""
    return OutcomeUnknown(
        f"{err.message}. An earlier attempt may have reached the provider and started the rollback. "
        f"{CHECK_PROVIDER}"
    )


Shield = Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]]


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
        self.steps = Steps(kube, settings.timing, clock)
        self.slots = asyncio.Semaphore(settings.max_concurrent)

    def target_key(self, body: dict[str, Any]) -> str | None:
        """The per-target lock key of a request body, or None when its spec is unusable."""
        try:  # the spec alone: this runs for every watch event
            spec = RollbackRequestSpec.model_validate(body.get("spec") or {})
        except ValidationError:
            return None
        adapter, block = self.registry.for_spec(spec.provider)
        return adapter.target_key(block)

    async def run(self, namespace: str, name: str, seen: dict[str, Any] | None = None) -> None:
        """Bring the request to a terminal state (or return if it already is, or is gone).

        ``seen`` is the body a watch event delivered. It saves a read only for a request nobody
        has worked on yet (no phase): every write before a claim is guarded by the
        ``resourceVersion`` it was based on, so a stale body costs one ``Conflict`` and a re-read.
        A request further along is always read afresh.
        """
        while True:
            try:
                if seen is not None and not (seen.get("status") or {}).get("phase"):
                    body, seen = seen, None
                else:
                    body = await self.steps.kube_retrying(lambda: self.kube.get(namespace, name))
                job = await self._load(body)
                if job is not None:
                    await self._advance(job)
                return
            except Conflict:
                log.info("%s/%s changed underneath; reading it again", namespace, name)
                seen = None
            except Gone:
                return

    async def _load(self, body: dict[str, Any]) -> Job | None:
        try:
            req = Request.parse(body)
        except ValidationError as exc:
            await self.steps.reject_invalid(body, exc)
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
                self._check_endpoints_again(job)  # the allow-list may have narrowed since the trigger
                await observe(job, self.steps)
            elif job.op.claimed_at:
                await self._resume(job)
            else:
                await self._start(job)
        except PermanentError as err:
            resolved = job.op.claimed_at is not None  # a claim is written only once the target is known
            failed = Situation(
                Phase.FAILED, err.reason, err.message, triggered=bool(job.op.id), resolved=resolved
            )
            await self.steps.finish(job, failed)
        except OutcomeUnknown as err:
            await self.steps.finish(job, Situation(Phase.UNKNOWN, Reason.OUTCOME_UNKNOWN, err.message))
        finally:
            metrics.IN_FLIGHT.labels(provider).dec()

    # ------------------------------------------------------------------ fresh requests

    async def _start(self, job: Job) -> None:
        self._check_endpoints(job)
        meta = job.req.body["metadata"]
        me = QueueEntry(meta["creationTimestamp"], job.label, job.req.uid)
        key = job.adapter.target_key(job.block)
        await self.gate.wait_turn(key, me, on_wait=lambda ahead: self._waiting(job, ahead))
        job.turn_at = self.clock()
        async with self.slots:
            target = job.req.spec.target
            resolution = await self.steps.retrying(job, lambda c: job.adapter.resolve(job.block, c, target))
            if await self._settled_without_trigger(job, resolution):
                return
            await self._claim(job, resolution, renew=False)
            if not await self._actuate(job, resolution):
                return
        await observe(job, self.steps, looked=True)

    def _disallowed(self, job: Job) -> str | None:
        """The first of the request's provider URLs outside the allow-list, if any."""
        urls = job.adapter.endpoints(job.block)
        return next((url for url in urls if not endpoint_allowed(url, self.settings.allowed)), None)

    def _check_endpoints(self, job: Job) -> None:
        if url := self._disallowed(job):
            raise EndpointNotAllowed(
                f"{url} is not in the operator's allow-list; no request was sent. An operator admin "
                "can allow it with --allowed-endpoint or ROLLBACK_OPERATOR_ALLOWED_ENDPOINTS."
            )

    def _check_endpoints_again(self, job: Job) -> None:
        """Before resuming a claimed request: its endpoints may have left the allow-list since."""
        if url := self._disallowed(job):
            raise OutcomeUnknown(
                f"{url} is not in the operator's allow-list any more, so the operator no longer "
                f"contacts it about this request, whose rollback may have been sent. {CHECK_PROVIDER}"
            )

    async def _waiting(self, job: Job, ahead: list[QueueEntry]) -> None:
        more = f" (and {len(ahead) - 1} more)" if len(ahead) > 1 else ""
        message = f"waiting for {ahead[0].name}{more} to finish with the same target"
        await job.writer.write(Situation(Phase.WAITING, Reason.WAITING_FOR_TARGET, message))

    async def _settled_without_trigger(self, job: Job, resolution: Resolution) -> bool:
        """Handle the outcomes that need no provider call; True when the request is finished."""
        spec, facts = job.req.spec, resolution_facts(resolution)
        if spec.expected_current_version and spec.expected_current_version != resolution.current:
            raise PreconditionFailed(
                f"expected the live version to be {spec.expected_current_version}, but it is "
                f"{resolution.current}; nothing was changed"
            )
        if resolution.already_at_target:
            message = f"{resolution.target} is already the live version; nothing to do"
            await self.steps.finish(
                job, Situation(Phase.SUCCEEDED, Reason.ALREADY_AT_TARGET, message), **facts
            )
            return True
        if spec.dry_run:
            message = f"dry run: would roll back from {resolution.current} to {resolution.target}"
            await self.steps.finish(
                job, Situation(Phase.SUCCEEDED, Reason.DRY_RUN_SUCCEEDED, message), **facts
            )
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
        facts = resolution_facts(resolution)
        # A lost answer to this write comes back as Conflict on the retry: the re-read then finds
        # our own claim and takes the recovery path, which is exactly right.
        await self.steps.kube_retrying(lambda: job.writer.write(situation, guard=True, operation=op, **facts))

    async def _actuate(self, job: Job, resolution: Resolution) -> bool:
        """Trigger under the claim until the handle is written; True while the rollback runs on."""
        delays = backoff(self.timing.retry_initial, self.timing.retry_max)
        maybe_acted = False  # an earlier attempt may have been carried out (a deduplicated 5xx)
        while True:
            try:
                running: bool = await self.shield(self._send_and_record(job, resolution))
                return running
            except OutcomeUnknown:
                await asyncio.sleep(self.timing.settle)
                return await self._recover(job, resolution)
            except TransientError as err:  # the provider did not act (or deduplicates): send again
                maybe_acted = maybe_acted or err.maybe_acted
                try:
                    self.steps.check_deadline(job, err)
                except GaveUp as gave_up:
                    if maybe_acted:
                        raise _unsure(gave_up) from gave_up
                    raise
                await self._pause_holding_claim(job, resolution, err.retry_after or next(delays))
            except PermanentError as err:
                if maybe_acted:
                    raise _unsure(err) from err
                raise

    async def _pause_holding_claim(self, job: Job, resolution: Resolution, seconds: float) -> None:
        """Wait ``seconds``, renewing the claim often enough that no other instance takes it over
        (which would start the deadline again), and at the end, for a fresh sending window."""
        step = self.timing.claim_grace / 3
        while True:
            await asyncio.sleep(min(seconds, step))
            seconds -= step
            await self._claim(job, resolution, renew=True)
            if seconds <= 0:
                return

    async def _send_and_record(self, job: Job, resolution: Resolution) -> bool:
        claimed_at = job.op.claimed_at
        assert claimed_at is not None
        window = (claimed_at + timedelta(seconds=self.timing.claim_grace / 2) - self.clock()).total_seconds()
        if window <= 0:
            raise TransientError("the claim's sending window passed before the rollback was sent")
        key = job.op.idempotency_key or job.req.idempotency_key
        send = self.steps.authorized(job, lambda c: job.adapter.trigger(job.block, c, resolution, key))
        try:
            handle = await asyncio.wait_for(send, window)
        except TimeoutError as exc:
            raise OutcomeUnknown("no answer from the provider within the claim's sending window") from exc
        return await self._record(job, handle)

    async def _record(self, job: Job, handle: Handle) -> bool:
        """Write the handle; retried until it sticks, because re-sending is never an option.

        One quick poll comes first (``first_look``, at most a second): a rollback already finished
        is written once, handle and outcome together, instead of twice. Returns True while the
        rollback still runs.
        """
        update = {
            "id": handle.id,
            "triggered_at": self.clock(),
            "state": OperationState.RUNNING,
            "message": handle.message or None,
        }
        op = job.op.model_copy(update=update)
        message = f"rollback to {job.req.status.target_version} triggered ({handle.id})"
        triggered = Situation(Phase.IN_PROGRESS, Reason.ROLLBACK_TRIGGERED, message, triggered=True)
        progress = await first_look(job, self.steps, handle)
        if progress is not None and progress.state is not OperationState.RUNNING:
            await settle(job, self.steps, progress, operation=op, passed=[triggered])
            return False
        await self.steps.finish(job, triggered, operation=op)
        return True

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
                    "%s: claimed by %s; waiting %.0fs for its grace to end", job.label, op.claimed_by, pause
                )
                await asyncio.sleep(pause)
                raise Conflict("re-read after waiting out another instance's claim")
        self._check_endpoints_again(job)  # the allow-list may have narrowed since the claim
        resolution = resolution_from_status(job)
        job.turn_at = self.clock()  # the provider gets timeoutSeconds to answer from this takeover on
        async with self.slots:
            await self._claim(job, resolution, renew=True)
            if not await self._recover(job, resolution):
                return
        await observe(job, self.steps, looked=True)

    async def _recover(self, job: Job, resolution: Resolution) -> bool:
        """Ask the provider what became of an unrecorded trigger; True while the rollback runs on."""
        key = job.op.idempotency_key or job.req.idempotency_key
        try:
            recovery = await self.steps.retrying(
                job, lambda c: job.adapter.recover(job.block, c, resolution, key)
            )
        except PermanentError as err:  # the question went unanswered: that is no answer either way
            unanswered = f"The operator could not ask the provider whether it was triggered ({err.message})."
            recovery = Recovery(RecoveryState.UNKNOWN, message=unanswered)
        if recovery.state is RecoveryState.TRIGGERED and recovery.handle is not None:
            return await self._record(job, recovery.handle)
        if recovery.state is RecoveryState.NOT_TRIGGERED:
            return await self._actuate(job, resolution)
        message = f"{recovery.message} The operator did not send the rollback again. {CHECK_PROVIDER}"
        await self.steps.finish(job, Situation(Phase.UNKNOWN, Reason.OUTCOME_UNKNOWN, message.strip()))
        return False

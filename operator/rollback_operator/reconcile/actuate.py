"""Claim → send → record, pause, resume, recover: the exactly-once core, alone.

Exactly once, by construction:
1. Before the provider call, the claim: the identity's ``RollbackRecord`` is created
   (``records.claim``). The API server lets exactly one create of a name succeed; a loser gets
   ``Conflict`` and re-reads.
2. The trigger is sent only within the first half of the claim's grace period, and the returned
   handle is recorded at once (retried until written, never by re-sending): after one poll of at
   most a second, so that a rollback already finished is written once with its outcome.
3. A claim without a handle means the outcome is unknown. Its holder may ask at once; anyone else
   (another instance, a restarted operator, a re-created request of the same identity) waits until
   the grace period has passed, takes the claim over (guarded again) and asks the provider
   (``recover``): triggered → adopt the handle; not triggered → trigger; cannot tell → ``Unknown``.
Called by ``run.py``; knows nothing of kopf.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from rollback_operator.conditions import Reason, Situation
from rollback_operator.config import Timing, backoff
from rollback_operator.errors import (
    Conflict,
    GaveUp,
    OutcomeUnknown,
    PermanentError,
    RollbackError,
    TransientError,
)
from rollback_operator.messages import CHECK_PROVIDER
from rollback_operator.port import Clock
from rollback_operator.providers.base import Handle, Recovery, RecoveryState, Resolution
from rollback_operator.reconcile.calls import Calls
from rollback_operator.reconcile.job import Job
from rollback_operator.reconcile.observe import first_look, settle
from rollback_operator.status_models import OperationState, Phase

log = logging.getLogger(__name__)
Shield = Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]]


async def _direct(coro: Coroutine[Any, Any, Any]) -> Any:
    return await coro


def _unsure(err: RollbackError) -> OutcomeUnknown:
    """``err`` ended the attempts, but an earlier one may have started the rollback."""
    return OutcomeUnknown(
        f"{err.message}. An earlier attempt may have reached the provider and started the rollback. "
        f"{CHECK_PROVIDER}"
    )


class Actuator:
    """Sends a claimed rollback exactly once, and finds out what became of an unrecorded one."""

    def __init__(
        self, calls: Calls, *, me: str, timing: Timing, clock: Clock, shield: Shield = _direct
    ) -> None:
        self.calls, self.me, self.timing, self.clock, self.shield = calls, me, timing, clock, shield

    async def claim(self, job: Job, resolution: Resolution, *, approved_by: str | None = None) -> None:
        """Create the identity's record (the claim); ``Conflict`` if it exists already.

        A lost answer to the create comes back as ``Conflict`` on the retry: the re-read then finds
        our own record and takes the recovery path, which is exactly right.
        """
        records = self.calls.records
        await self.calls.kube_retrying(lambda: records.claim(job, resolution, approved_by=approved_by))

    async def actuate(self, job: Job, resolution: Resolution) -> bool:
        """Trigger under the claim until the handle is written; True while the rollback runs on."""
        delays = backoff(self.timing.retry_initial, self.timing.retry_max)
        maybe_acted = False  # an earlier attempt may have been carried out (a deduplicated 5xx)
        while True:
            try:
                running: bool = await self.shield(self._send_and_record(job, resolution))
                return running
            except OutcomeUnknown:
                await self.calls.sleep(self.timing.settle)
                return await self.recover(job, resolution)
            except TransientError as err:  # the provider did not act (or deduplicates): send again
                maybe_acted = maybe_acted or err.maybe_acted
                try:
                    self.calls.check_deadline(job, err)
                except GaveUp as gave_up:
                    if maybe_acted:
                        raise _unsure(gave_up) from gave_up
                    raise
                await self._pause_holding_claim(job, err.retry_after or next(delays))
            except PermanentError as err:
                if maybe_acted:
                    raise _unsure(err) from err
                raise

    async def _pause_holding_claim(self, job: Job, seconds: float) -> None:
        """Wait ``seconds``, renewing the claim often enough that no other instance takes it over
        (which would start the deadline again), and at the end, for a fresh sending window."""
        step = self.timing.claim_grace / 3
        while True:
            await self.calls.sleep(min(seconds, step))
            seconds -= step
            await self.calls.kube_retrying(lambda: self.calls.records.renew(job))
            if seconds <= 0:
                return

    async def _send_and_record(self, job: Job, resolution: Resolution) -> bool:
        claimed_at = job.op.claimed_at
        assert claimed_at is not None
        window = (claimed_at + timedelta(seconds=self.timing.claim_grace / 2) - self.clock()).total_seconds()
        if window <= 0:
            raise TransientError("the claim's sending window passed before the rollback was sent")
        key = job.op.idempotency_key or job.req.idempotency_key
        send = self.calls.authorized(job, lambda c: job.adapter.trigger(job.block, c, resolution, key))
        try:
            handle = await asyncio.wait_for(send, window)
        except TimeoutError as exc:
            raise OutcomeUnknown("no answer from the provider within the claim's sending window") from exc
        return await self.record(job, handle)

    async def record(self, job: Job, handle: Handle) -> bool:
        """Write the handle into the status; retried until it sticks, because re-sending is never
        an option. (The record gets the handle with the outcome: a request re-created meanwhile
        finds the operation through recovery, as after a crash, which costs no write per rollback.)

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
        progress = await first_look(job, self.calls, handle)
        if progress is not None and progress.state is not OperationState.RUNNING:
            await settle(job, self.calls, progress, operation=op, passed=[triggered])
            return False
        await self.calls.finish(job, triggered, operation=op)
        return True

    async def take_over(self, job: Job) -> None:
        """Wait out a foreign claim's grace (then ``Conflict``: read again), or take the claim."""
        op = job.op
        assert op.claimed_at is not None
        if op.claimed_by != self.me:
            until = op.claimed_at + timedelta(seconds=self.timing.claim_grace)
            pause = (until - self.clock()).total_seconds()
            if pause > 0:
                log.info(
                    "%s: claimed by %s; waiting %.0fs for its grace to end", job.label, op.claimed_by, pause
                )
                await self.calls.sleep(pause)
                raise Conflict("re-read after waiting out another instance's claim")
        await self.calls.kube_retrying(lambda: self.calls.records.renew(job))

    async def recover(self, job: Job, resolution: Resolution) -> bool:
        """Ask the provider what became of an unrecorded trigger; True while the rollback runs on."""
        key = job.op.idempotency_key or job.req.idempotency_key
        try:
            recovery = await self.calls.retrying(
                job, lambda c: job.adapter.recover(job.block, c, resolution, key)
            )
        except PermanentError as err:  # the question went unanswered: that is no answer either way
            unanswered = f"The operator could not ask the provider whether it was triggered ({err.message})."
            recovery = Recovery(RecoveryState.UNKNOWN, message=unanswered)
        if recovery.state is RecoveryState.TRIGGERED and recovery.handle is not None:
            return await self.record(job, recovery.handle)
        if recovery.state is RecoveryState.NOT_TRIGGERED:
            return await self.actuate(job, resolution)
        message = f"{recovery.message} The operator did not send the rollback again. {CHECK_PROVIDER}"
        await self.calls.finish(job, Situation(Phase.UNKNOWN, Reason.OUTCOME_UNKNOWN, message.strip()))
        return False

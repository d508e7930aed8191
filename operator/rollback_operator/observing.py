"""Following a triggered rollback: poll its handle until a terminal state or the timeout.

Polling is read-only and safe to repeat, so after a restart it simply starts again. Status is
written only when the provider's state or message changes, so an unchanged poll costs no write.
Called by ``reconciler.py`` once ``status.operation.id`` is recorded.
"""

from __future__ import annotations

import asyncio
import logging

from rollback_operator.conditions import Reason, Situation
from rollback_operator.config import backoff
from rollback_operator.errors import TransientError
from rollback_operator.jobs import Job, Steps, deadline_after, with_state
from rollback_operator.models import OperationState, Phase
from rollback_operator.providers.base import Handle, Progress

log = logging.getLogger(__name__)


async def observe(job: Job, steps: Steps) -> None:
    """Poll the recorded handle until the provider says Succeeded/Failed or the timeout passes."""
    op = job.op
    assert op.id is not None
    deadline = deadline_after(op.triggered_at, job.req.spec.timeout_seconds, steps.clock)
    delays = backoff(steps.timing.poll_initial, steps.timing.poll_max)
    while True:
        try:
            progress = await job.adapter.poll(job.block, await steps.credentials(job), Handle(op.id))
        except TransientError as err:
            log.info("%s: polling %s failed (%s); retrying", job.label, op.id, err)
        else:
            if await _settle(job, steps, progress):
                return
        remaining = (deadline - steps.clock()).total_seconds()
        if remaining <= 0:
            message = (
                f"no terminal state within {job.req.spec.timeout_seconds}s of the trigger; "
                f"the provider may still finish operation {op.id}"
            )
            await steps.finish(job, Situation(Phase.FAILED, Reason.TIMED_OUT, message, triggered=True))
            return
        await asyncio.sleep(min(next(delays), remaining))


async def _settle(job: Job, steps: Steps, progress: Progress) -> bool:
    """Record one observation; True when it was terminal."""
    op, target = job.op, job.req.status.target_version
    operation = with_state(op, progress.state, progress.message)
    if progress.state is OperationState.SUCCEEDED:
        situation = Situation(Phase.SUCCEEDED, Reason.ROLLBACK_SUCCEEDED, f"rolled back to {target}")
        await steps.finish(job, situation, operation=operation)
        return True
    if progress.state is OperationState.FAILED:
        message = f"{job.req.spec.provider.name} reports the rollback failed: {progress.message}"
        situation = Situation(Phase.FAILED, Reason.ROLLBACK_FAILED, message, triggered=True)
        await steps.finish(job, situation, operation=operation)
        return True
    if op.message != (progress.message or None):
        message = f"rollback to {target} in progress ({progress.message})"
        situation = Situation(Phase.IN_PROGRESS, Reason.ROLLBACK_TRIGGERED, message, triggered=True)
        await steps.finish(job, situation, operation=operation)
    return False

"""Following a triggered rollback: first look, poll, settle.

Polling is read-only and safe to repeat, so after a restart it simply starts again. Status is
written only when the provider's state or message changes, so an unchanged poll costs no write.
``first_look`` is the one poll made right after the trigger, before the handle is written: a
rollback that is already finished then costs one write instead of two. The timeout is declared
only after a poll made once the deadline had passed, so an operator that was stopped (or starved)
past the deadline still takes a last look before it says ``TimedOut``. Called by ``actuate.py``
and ``run.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence

from rollback_operator.conditions import Reason, Situation
from rollback_operator.config import backoff
from rollback_operator.errors import PermanentError, RollbackError, TransientError
from rollback_operator.providers.base import Handle, Progress
from rollback_operator.reconcile.calls import Calls
from rollback_operator.reconcile.job import Job, deadline_after, with_state
from rollback_operator.status_models import Operation, OperationState, Phase

log = logging.getLogger(__name__)
FIRST_LOOK_SECONDS = 1.0
"""How long the first poll after a trigger may take; the handle is written without it after that."""


def _poll(job: Job, calls: Calls, handle: Handle) -> Awaitable[Progress]:
    return calls.authorized(job, lambda c: job.adapter.poll(job.block, c, handle))


async def first_look(job: Job, calls: Calls, handle: Handle) -> Progress | None:
    """One quick poll of a just-triggered rollback; None if it failed or took too long."""
    try:
        return await asyncio.wait_for(_poll(job, calls, handle), FIRST_LOOK_SECONDS)
    except (RollbackError, TimeoutError) as err:
        log.info("%s: first look at %s failed (%s); recording it and polling on", job.label, handle.id, err)
        return None


async def observe(job: Job, calls: Calls, *, looked: bool = False) -> None:
    """Poll the recorded handle until the provider says Succeeded/Failed or the timeout passes.

    ``looked``: the handle was polled a moment ago (``first_look``), so the first poll waits.
    """
    op = job.op
    assert op.id is not None
    handle = Handle(op.id)
    deadline = deadline_after(op.triggered_at, job.req.spec.timeout_seconds, calls.clock)
    delays = backoff(calls.timing.poll_initial, calls.timing.poll_max)
    failure = ""  # why the latest poll failed, if it did
    late = False  # the latest poll was made after the deadline had passed
    while True:
        hint = 0.0  # the provider's Retry-After, if it asked for a pause
        if not looked:
            late = calls.clock() >= deadline
            try:
                progress = await _poll(job, calls, handle)
            except (TransientError, PermanentError) as err:
                # The rollback was sent: a refused or unreadable poll (an oversized answer, a 404
                # while the provider catches up, rotated credentials) says nothing of its outcome.
                # Ask again until the deadline; the timeout's message then says why the asking failed.
                log.info("%s: polling %s failed (%s); retrying", job.label, op.id, err)
                hint = (err.retry_after or 0.0) if isinstance(err, TransientError) else 0.0
                failure = f"; the latest poll failed: {err.message}"
            else:
                failure = ""
                if await settle(job, calls, progress):
                    return
        looked = False
        remaining = (deadline - calls.clock()).total_seconds()
        if remaining <= 0 and late:
            message = (
                f"no terminal state within {job.req.spec.timeout_seconds}s of the trigger; "
                f"the provider may still finish operation {op.id}{failure}"
            )
            await calls.finish(job, Situation(Phase.FAILED, Reason.TIMED_OUT, message, triggered=True))
            return
        if remaining > 0:
            await calls.sleep(min(max(next(delays), hint), remaining))


async def settle(
    job: Job,
    calls: Calls,
    progress: Progress,
    *,
    operation: Operation | None = None,
    passed: Sequence[Situation] = (),
) -> bool:
    """Record one observation of ``operation`` (default: the recorded one); True when terminal.

    ``passed``: situations reached without a write of their own, announced before this one.
    """
    op, target = operation or job.op, job.req.status.target_version
    operation = with_state(op, progress.state, progress.message)
    if progress.state is OperationState.SUCCEEDED:
        situation = Situation(Phase.SUCCEEDED, Reason.ROLLBACK_SUCCEEDED, f"rolled back to {target}")
        await calls.finish(job, situation, operation=operation, passed=passed)
        return True
    if progress.state is OperationState.FAILED:
        message = f"{job.req.spec.provider.name} reports the rollback failed: {progress.message}"
        situation = Situation(Phase.FAILED, Reason.ROLLBACK_FAILED, message, triggered=True)
        await calls.finish(job, situation, operation=operation, passed=passed)
        return True
    if op.message != (progress.message or None):
        message = f"rollback to {target} in progress ({progress.message})"
        situation = Situation(Phase.IN_PROGRESS, Reason.ROLLBACK_TRIGGERED, message, triggered=True)
        await calls.finish(job, situation, operation=operation, passed=passed)
    return False

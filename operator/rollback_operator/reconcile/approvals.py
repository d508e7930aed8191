"""Waiting for a person's decision on a resolved plan, when the spec requires one.

The request shows its plan (``AwaitingApproval``) and waits, holding its turn on the target, until
a ``RollbackApproval`` for its uid arrives: the first valid decision counts, in creation order.
Approvals for another uid (a re-created namesake) are ignored, and so, unless the operator runs
with ``--allow-self-approval``, are approvals by the request's own requester (the message says
why). A kopf watch on approvals wakes the waiter (``notify``); it also looks again every
``queue_recheck`` seconds, so a missed event only delays it. Waiting is bounded by
``spec.notAfter``. Used by ``run.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from rollback_operator import metrics
from rollback_operator.approval import ApprovalSpec, Decision, parse
from rollback_operator.conditions import Reason, Situation
from rollback_operator.errors import PlanChanged, Rejected
from rollback_operator.messages import APPROVE_HOW
from rollback_operator.providers.base import Resolution
from rollback_operator.reconcile.calls import Calls
from rollback_operator.reconcile.job import Job, resolution_facts
from rollback_operator.status_models import Phase


class ApprovalStore(Protocol):
    """What waiting needs of the Kubernetes API (``kube.KubeAPI``)."""

    def list_approvals(self, namespace: str) -> Awaitable[list[dict[str, Any]]]: ...


@dataclass(frozen=True)
class Verdict:
    """The decision that counts, and the approval object that made it."""

    name: str
    spec: ApprovalSpec


class Approvals:
    """The waiters of one operator process, one per request awaiting approval."""

    def __init__(self, store: ApprovalStore, calls: Calls, *, recheck: float, allow_self: bool) -> None:
        self.store, self.calls, self.recheck, self.allow_self = store, calls, recheck, allow_self
        self.waiters: dict[tuple[str, str], asyncio.Event] = {}

    def notify(self, namespace: str, request: str) -> None:
        """An approval for ``namespace/request`` appeared or changed: wake its waiter, if any."""
        if (event := self.waiters.get((namespace, request))) is not None:
            event.set()

    async def wait(self, job: Job, resolution: Resolution, *, expired: Callable[[], None]) -> Verdict:
        """Show the plan and wait for the decision that counts; ``expired()`` raises once too late."""
        key = (job.req.namespace, job.req.name)
        event = self.waiters.setdefault(key, asyncio.Event())
        awaiting = metrics.AWAITING_APPROVAL.labels(job.req.spec.provider.name)
        awaiting.inc()
        try:
            while True:
                expired()
                event.clear()
                verdict, ignored = await self._decide(job)
                if verdict is not None:
                    return verdict
                await self._show(job, resolution, ignored)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), self.recheck)
        finally:
            awaiting.dec()
            self.waiters.pop(key, None)

    async def approve(
        self,
        job: Job,
        plan: Resolution,
        resolve: Callable[[Job], Awaitable[Resolution]],
        expired: Callable[[], None],
    ) -> tuple[Resolution, str]:
        """Wait for the decision; on Approve resolve again, and go on only if the plan still holds.
        Returns the fresh plan and the approver."""
        verdict = await self.wait(job, plan, expired=expired)
        spec = verdict.spec
        if spec.decision is Decision.REJECT:
            comment = f" ({spec.comment})" if spec.comment else ""
            raise Rejected(f"rejected by {spec.approved_by} in {verdict.name}{comment}; nothing was sent")
        await self.calls.kube_retrying(
            lambda: job.writer.write(approved(verdict), approved_by=spec.approved_by)
        )
        fresh = await resolve(job)
        if (fresh.current, fresh.target) != (spec.from_version, spec.to_version):
            raise PlanChanged(
                f"{spec.approved_by} approved rolling back from {spec.from_version} to {spec.to_version}, "
                f"but the provider now says {fresh.current} is live and the target is {fresh.target}; "
                "nothing was sent. Create a new request to roll back from the new state."
            )
        return fresh, spec.approved_by

    async def _decide(self, job: Job) -> tuple[Verdict | None, list[str]]:
        listed = await self.calls.kube_retrying(lambda: self.store.list_approvals(job.req.namespace))
        parsed = [found for body in listed if (found := parse(body)) is not None]
        ignored: list[str] = []
        for name, _, spec in sorted(parsed, key=lambda p: (p[1], p[0])):
            if spec.request_uid != job.req.uid or spec.request_name != job.req.name:
                continue  # another request's, or a deleted namesake's
            requester = job.req.requested_by
            if spec.approved_by == requester and requester != "unknown" and not self.allow_self:
                ignored.append(
                    f"{name} was ignored: {spec.approved_by} requested this rollback and may not approve "
                    "it too (the operator allows that only with --allow-self-approval)"
                )
                continue
            return Verdict(name, spec), ignored
        return None, ignored

    async def _show(self, job: Job, resolution: Resolution, ignored: list[str]) -> None:
        req = job.req
        how = APPROVE_HOW.format(name=req.name, namespace=req.namespace, uid=req.uid)
        message = f"awaiting approval to roll back from {resolution.current} to {resolution.target}; {how}"
        if ignored:
            message = f"{message}. " + "; ".join(ignored)
        situation = Situation(Phase.AWAITING_APPROVAL, Reason.AWAITING_APPROVAL, message)
        await self.calls.kube_retrying(lambda: job.writer.write(situation, **resolution_facts(resolution)))


def approved(verdict: Verdict) -> Situation:
    """The situation once ``verdict`` approved the plan (before resolving again)."""
    spec = verdict.spec
    comment = f" ({spec.comment})" if spec.comment else ""
    message = f"approved by {spec.approved_by} in {verdict.name}{comment}; checking the plan again"
    assert spec.decision is Decision.APPROVE
    return Situation(Phase.IN_PROGRESS, Reason.APPROVED, message, approved=True)

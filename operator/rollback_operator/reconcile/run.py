"""The dispatcher: load a request, decide its next step, and run it to a terminal state.

``Reconciler.run(namespace, name)`` drives one RollbackRequest from whatever state its status and
its identity's ``RollbackRecord`` show, and is safe to run again at any point (after a crash, a
restart, a lost race, a deletion and re-creation): every decision is taken from a fresh read.

    no record, no claim   → resolve → (nothing to send: finish) → claim → send → observe
    record with outcome   → mirror it (``AlreadyExecuted`` when another object of the identity ran)
    record without one    → continue it: observe its handle, or recover (``actuate.py``)
    claim without record  → never trusted: ``Unknown``, nothing sent

Called by the supervisor that ``handlers.py`` sets up; knows nothing of kopf.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import ValidationError

from rollback_operator import metrics
from rollback_operator.conditions import Reason, Situation
from rollback_operator.config import Settings, endpoint_allowed
from rollback_operator.errors import (
    Conflict,
    EndpointNotAllowed,
    Expired,
    Gone,
    OutcomeUnknown,
    PermanentError,
    PreconditionFailed,
)
from rollback_operator.messages import CHECK_PROVIDER
from rollback_operator.models import RollbackRequestSpec
from rollback_operator.port import Clock, Kube, Sleep, utcnow
from rollback_operator.providers import Registry
from rollback_operator.providers.base import Resolution
from rollback_operator.reconcile.actuate import Actuator, Shield, _direct
from rollback_operator.reconcile.approvals import Approvals
from rollback_operator.reconcile.calls import Calls
from rollback_operator.reconcile.job import Job, Request, resolution_facts, resolution_from_status
from rollback_operator.reconcile.observe import observe
from rollback_operator.reconcile.records import Records, mirror
from rollback_operator.reconcile.status import StatusWriter, write_invalid
from rollback_operator.record import RollbackRecord
from rollback_operator.recordnames import RecordNames
from rollback_operator.scheduling import QueueEntry, TargetGate
from rollback_operator.status_models import Phase

log = logging.getLogger(__name__)
UNBACKED = (
    "the status shows a claim or a provider handle that no RollbackRecord of this operator backs "
    "(written by someone else, or by an operator version without records), so the operator neither "
    f"follows nor repeats it; nothing was sent. {CHECK_PROVIDER}"
)


KNOWN_KEYS = 50_000
"""Target keys remembered at most (a bound, in case DELETED events are missed)."""


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
        sleep: Sleep = asyncio.sleep,
        names: RecordNames | None = None,
    ) -> None:
        self.kube, self.registry, self.settings, self.gate = kube, registry, settings, gate
        self.clock = clock
        self.records = Records(kube, clock, settings.identity, names=names)
        self.calls = Calls(kube, settings.timing, clock, self.records, sleep)
        self.actuator = Actuator(
            self.calls, me=settings.identity, timing=settings.timing, clock=clock, shield=shield
        )
        self.slots = asyncio.Semaphore(settings.max_concurrent)
        self._keys: dict[str, tuple[int | None, str | None]] = {}
        """uid → (generation, target key) of the requests in the watch."""
        self.approvals = Approvals(
            kube,
            self.calls,
            recheck=settings.timing.queue_recheck,
            allow_self=settings.allow_self_approval,
        )

    def target_key(self, body: dict[str, Any]) -> str | None:
        """The per-target lock key of a request body, or None when its spec is unusable.

        This runs for every watch event; the key is worked out once per uid and generation (the
        spec cannot change without a new generation).
        """
        meta = body.get("metadata") or {}
        uid, generation = meta.get("uid"), meta.get("generation")
        known = self._keys.get(uid) if uid else None
        if known is not None and known[0] == generation:
            return known[1]
        try:  # the spec alone
            spec = RollbackRequestSpec.model_validate(body.get("spec") or {})
        except ValidationError:
            key = None
        else:
            adapter, block = self.registry.for_spec(spec.provider)
            key = adapter.target_key(block)
        if uid:
            if len(self._keys) >= KNOWN_KEYS:
                self._keys.clear()
            self._keys[uid] = (generation, key)
        return key

    def forget(self, uid: str) -> None:
        """The request left the watch (deleted or finished): drop its remembered key."""
        self._keys.pop(uid, None)

    async def run(self, namespace: str, name: str, seen: dict[str, Any] | None = None) -> None:
        """Bring the request to a terminal state (or return if it already is, or is gone).

        ``seen`` is the body a watch event delivered. It saves a read only for a request nobody
        has worked on yet (no phase): every write before a claim is guarded by the
        ``resourceVersion`` it was based on, so a stale body costs one ``Conflict`` and a re-read.
        A request further along is always read afresh.
        """
        cached = True  # the first look for a record may come from the API server's cache
        while True:
            try:
                if seen is not None and not (seen.get("status") or {}).get("phase"):
                    body, seen = seen, None
                else:
                    body = await self.calls.kube_retrying(lambda: self.kube.get(namespace, name))
                job = await self._load(body)
                if job is not None:
                    await self._advance(job, cached=cached)
                return
            except Conflict:  # e.g. a record the cached look missed: every later look is fresh
                log.info("%s/%s changed underneath; reading it again", namespace, name)
                seen, cached = None, False
            except Gone:
                return

    async def _load(self, body: dict[str, Any]) -> Job | None:
        try:
            req = Request.parse(body)
        except ValidationError as exc:
            refused = exc
            await self.calls.kube_retrying(lambda: write_invalid(self.kube, body, refused, clock=self.clock))
            return None
        if req.status.terminal:
            return None
        adapter, block = self.registry.for_spec(req.spec.provider)
        return Job(StatusWriter(self.kube, req, clock=self.clock), adapter, block)

    async def _advance(self, job: Job, *, cached: bool) -> None:
        provider = job.req.spec.provider.name
        metrics.IN_FLIGHT.labels(provider).inc()
        try:
            record = await self.calls.kube_retrying(lambda: self.records.find(job, cached=cached))
            if record is not None:
                await self._continue(job, record)
            elif job.op.claimed_at or job.op.id:
                raise OutcomeUnknown(UNBACKED)
            else:
                await self._start(job)
        except PermanentError as err:
            resolved = job.record is not None or job.req.status.target_version is not None
            failed = Situation(
                Phase.FAILED, err.reason, err.message, triggered=bool(job.op.id), resolved=resolved
            )
            await self.calls.finish(job, failed)
        except OutcomeUnknown as err:
            await self.calls.finish(job, Situation(Phase.UNKNOWN, Reason.OUTCOME_UNKNOWN, err.message))
        finally:
            metrics.IN_FLIGHT.labels(provider).dec()

    # ------------------------------------------------------------------ fresh requests

    async def _start(self, job: Job) -> None:
        self._check_endpoints(job)
        self._check_expiry(job)
        meta = job.req.body["metadata"]
        me = QueueEntry(meta["creationTimestamp"], job.label, job.req.uid)
        await self._wait_turn(job, me)
        job.turn_at = self.clock()
        async with self.slots:
            resolution = await self._resolve(job)
            if await self._settled_without_trigger(job, resolution):
                return
        approved_by = None
        if job.req.spec.approval_required:  # waiting for a person holds no slot
            expired = partial(self._check_expiry, job)
            resolution, approved_by = await self.approvals.approve(job, resolution, self._resolve, expired)
        async with self.slots:
            self._check_expiry(job)
            await self.actuator.claim(job, resolution, approved_by=approved_by)
            if not await self.actuator.actuate(job, resolution):
                return
        await observe(job, self.calls, looked=True)

    async def _resolve(self, job: Job) -> Resolution:
        target = job.req.spec.target
        return await self.calls.retrying(job, lambda c: job.adapter.resolve(job.block, c, target))

    async def _wait_turn(self, job: Job, me: QueueEntry) -> None:
        """Wait until no request for the same target is ahead; bounded by ``spec.notAfter``."""
        waiting = self.gate.wait_turn(job.target_key, me, on_wait=lambda ahead: self._waiting(job, ahead))
        not_after = job.req.spec.not_after_time
        if not_after is None:
            await waiting
            return
        try:
            await asyncio.wait_for(waiting, (not_after - self.clock()).total_seconds())
        except TimeoutError:
            self._check_expiry(job)
            raise

    def _check_expiry(self, job: Job) -> None:
        not_after: datetime | None = job.req.spec.not_after_time
        if not_after is not None and self.clock() >= not_after:
            stamp = not_after.isoformat().replace("+00:00", "Z")
            raise Expired(f"spec.notAfter ({stamp}) passed before the rollback was claimed; nothing was sent")

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
            await self.calls.finish(
                job, Situation(Phase.SUCCEEDED, Reason.ALREADY_AT_TARGET, message), **facts
            )
            return True
        if spec.dry_run:
            message = f"dry run: would roll back from {resolution.current} to {resolution.target}"
            await self.calls.finish(
                job, Situation(Phase.SUCCEEDED, Reason.DRY_RUN_SUCCEEDED, message), **facts
            )
            return True
        return False

    # ------------------------------------------------------------------ a record exists

    async def _continue(self, job: Job, record: RollbackRecord) -> None:
        """The identity has a record: mirror its outcome, or carry its rollback on."""
        if record.finished:
            await mirror(job, record, self.calls)
            return
        job.hold(record)  # this request's own claim, or one a deleted request of the identity left
        self._check_endpoints_again(job)
        if job.op.id:
            await observe(job, self.calls)
            return
        await self.actuator.take_over(job)
        resolution = resolution_from_status(job)
        job.turn_at = self.clock()  # the provider gets timeoutSeconds to answer from this takeover on
        async with self.slots:
            if not await self.actuator.recover(job, resolution):
                return
        await observe(job, self.calls, looked=True)

"""The calls a reconcile step makes, with credentials, retries and deadlines (``Calls``).

``Calls`` runs provider calls with the request's credentials (re-reading a rotated Secret once),
retries transient failures until the request's deadline, retries Kubernetes calls while the API
server is away, and writes terminal situations: the record's outcome first, then the status, so
that a crash between the two leaves a record that tells the next run how it ended. Its ``sleep``
and ``clock`` are injected, so unit tests run time forward instead of waiting. Used by
``run.py``, ``actuate.py`` and ``observe.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from rollback_operator.conditions import Situation
from rollback_operator.config import Timing, backoff
from rollback_operator.credentials import SecretCache
from rollback_operator.errors import CredentialsInvalid, CredentialsMissing, GaveUp, TransientError
from rollback_operator.port import Clock, Kube, Sleep
from rollback_operator.providers.base import Credentials
from rollback_operator.reconcile.job import Job
from rollback_operator.reconcile.records import Records
from rollback_operator.status_models import Operation, Phase

log = logging.getLogger(__name__)
T = TypeVar("T")


class Calls:
    """Provider and Kubernetes calls for one operator process, bound to its timing and clock."""

    def __init__(
        self, kube: Kube, timing: Timing, clock: Clock, records: Records, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.kube, self.timing, self.clock, self.records, self.sleep = kube, timing, clock, records, sleep
        self.secrets = SecretCache(lambda ns, name: kube.read_secret(ns, name), ttl=timing.secret_cache)

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
                if job.record is None:  # before the claim, the waiting is worth showing
                    await job.writer.write(Situation(Phase.RESOLVING, err.reason, f"{err.message}; retrying"))
                await self.sleep(err.retry_after or next(delays))

    def check_deadline(self, job: Job, err: TransientError) -> None:
        """Turn a transient failure into a permanent one once ``timeoutSeconds`` have passed since
        the request's turn came (or since its creation, when this run did not queue it)."""
        seconds = job.req.spec.timeout_seconds
        if self.clock() >= (job.turn_at or job.req.created) + timedelta(seconds=seconds):
            raise GaveUp(err, seconds) from err

    async def finish(self, job: Job, situation: Situation, **facts: Any) -> None:
        """Write a situation, waiting out API server outages; a terminal one completes the record
        first (with the operation as it ended)."""
        if situation.terminal and job.record is not None:
            operation: Operation = facts.get("operation") or job.op
            await self.kube_retrying(lambda: self.records.complete(job, situation, operation))
        await self.kube_retrying(lambda: job.writer.write(situation, **facts))

    async def kube_retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """Retry a Kubernetes API call while the API server is unavailable."""
        delays = backoff(self.timing.retry_initial, self.timing.retry_max)
        while True:
            try:
                return await call()
            except TransientError as err:
                log.warning("Kubernetes API unavailable (%s); retrying", err)
                await self.sleep(next(delays))

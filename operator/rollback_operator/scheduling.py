"""Who works on what, when: the per-target queue and the per-request task supervisor.

At most one request per provider target is in flight; later ones wait in creation order.
``QueueIndex`` holds every unfinished request by target key; it is primed from one listing at
startup (so no request can overtake an earlier one across restarts) and kept current from watch
events. ``TargetGate.wait_turn`` blocks until no request is ahead: none that holds a claim, and
none created earlier. ``Supervisor`` runs one reconcile task per unfinished request, restarts a
task that failed unexpectedly, and lets a trigger in flight finish its record on shutdown.
Used by ``handlers.py`` (feeding events) and ``reconcile/run.py`` (waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rollback_operator.status_models import TERMINAL_PHASES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueEntry:
    """An unfinished request as the queue sees it."""

    created: str
    """``metadata.creationTimestamp`` (RFC 3339; sorts as text)."""
    name: str
    """``namespace/name``, the tie-break for equal timestamps."""
    uid: str
    claimed: bool = False
    """The request holds a claim (it is past the queue, whatever its age)."""

    def ahead_of(self, other: QueueEntry) -> bool:
        """True when this entry must finish before ``other`` may start."""
        if self.uid == other.uid:
            return False
        return self.claimed or (self.created, self.name) < (other.created, other.name)


def queue_entry(body: Mapping[str, Any], key: str | None) -> dict[str, QueueEntry] | None:
    """The index value for ``body``: ``{target key: entry}``, or None once finished or unparseable."""
    status = body.get("status") or {}
    if key is None or status.get("phase") in TERMINAL_PHASES:
        return None
    meta = body["metadata"]
    claimed = bool((status.get("operation") or {}).get("claimedAt"))
    entry = QueueEntry(
        created=str(meta.get("creationTimestamp", "")),
        name=f"{meta['namespace']}/{meta['name']}",
        uid=str(meta["uid"]),
        claimed=claimed,
    )
    return {key: entry}


Index = Mapping[str, Collection[QueueEntry]]


class QueueIndex(Mapping[str, Collection[QueueEntry]]):
    """Unfinished requests by target key, kept from watch events (and primed by a listing)."""

    def __init__(self) -> None:
        self._by_key: dict[str, dict[str, QueueEntry]] = {}
        self._key_of: dict[str, str] = {}

    def update(self, body: Mapping[str, Any], key: str | None) -> None:
        """Record ``body`` under ``key``, or forget it once it is finished (or unparseable)."""
        uid = str(body["metadata"]["uid"])
        entry = queue_entry(body, key)
        if entry is None or key is None:
            self.discard(uid)
            return
        self._by_key.setdefault(key, {})[uid] = entry[key]
        self._key_of[uid] = key

    def discard(self, uid: str) -> None:
        """Forget a request (finished or deleted)."""
        key = self._key_of.pop(uid, None)
        if key is not None:
            entries = self._by_key[key]
            entries.pop(uid, None)
            if not entries:
                del self._by_key[key]

    def clear(self) -> None:
        """Forget every request (their CRD was deleted, and they with it)."""
        self._by_key.clear()
        self._key_of.clear()

    def __getitem__(self, key: str) -> Collection[QueueEntry]:
        return list(self._by_key[key].values())

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)


@dataclass
class TargetGate:
    """Waits for a request's turn on its target; woken by ``notify`` on every related event."""

    index: Index = field(default_factory=dict)
    recheck: float = 5.0
    _wakeups: dict[str, asyncio.Event] = field(default_factory=dict)

    def notify(self, key: str) -> None:
        """Something about ``key`` changed: waiters re-check."""
        event = self._wakeups.pop(key, None)
        if event is not None:
            event.set()

    def ahead(self, key: str, me: QueueEntry) -> list[QueueEntry]:
        """The unfinished requests for ``key`` that must go first."""
        entries: Iterable[QueueEntry] = self.index.get(key, ())
        return sorted((e for e in entries if e.ahead_of(me)), key=lambda e: (e.created, e.name))

    async def wait_turn(
        self, key: str, me: QueueEntry, *, on_wait: Callable[[list[QueueEntry]], Awaitable[None]]
    ) -> None:
        """Return once nothing is ahead of ``me``; calls ``on_wait`` whenever the queue ahead changes."""
        shown: list[QueueEntry] | None = None
        while blockers := self.ahead(key, me):
            if blockers != shown:
                await on_wait(blockers)
                shown = blockers
            event = self._wakeups.setdefault(key, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=self.recheck)


Run = Callable[[str, str, dict[str, Any] | None], Coroutine[Any, Any, None]]
"""``Reconciler.run``: namespace, name and the body that started the work (None on a retry)."""


class Supervisor:
    """One task per unfinished request; unexpected failures are logged and retried later."""

    def __init__(self, run: Run, *, retry_delay: float = 30.0, finish_grace: float = 2.0) -> None:
        self._run = run
        self._retry_delay = retry_delay
        self._finish_grace = finish_grace
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.critical: set[asyncio.Task[Any]] = set()

    def ensure(self, uid: str, namespace: str, name: str, body: dict[str, Any] | None = None) -> None:
        """Start working on the request unless a task for it is already running."""
        if uid not in self.tasks:
            work = self._guarded(namespace, name, body)
            task = asyncio.create_task(work, name=f"rollback:{namespace}/{name}")
            self.tasks[uid] = task
            task.add_done_callback(lambda _: self.tasks.pop(uid, None))

    def cancel(self, uid: str) -> None:
        """Stop working on a deleted request (a trigger in flight still records its handle)."""
        task = self.tasks.get(uid)
        if task is not None:
            task.cancel()

    def cancel_if_gone(self, uid: str, gone: Callable[[], Awaitable[bool]]) -> None:
        """Cancel the request's task if it does not end by itself soon and ``gone()`` confirms the
        request was deleted.

        A request that finishes leaves the watch as a DELETED event while its task is still posting
        the final Event: such a task ends within moments, and then there is nothing to ask.
        """
        task = self.tasks.get(uid)
        if task is None:
            return

        async def check() -> None:
            finished, _ = await asyncio.wait({task}, timeout=self._finish_grace)
            if not finished and await gone():
                self.cancel(uid)

        checker = asyncio.create_task(check(), name=f"gone?{uid}")
        self.critical.add(checker)
        checker.add_done_callback(self.critical.discard)

    async def _guarded(self, namespace: str, name: str, body: dict[str, Any] | None) -> None:
        while True:
            try:
                await self._run(namespace, name, body)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "reconciling %s/%s failed unexpectedly; retrying in %ss",
                    namespace,
                    name,
                    self._retry_delay,
                )
                body = None  # read afresh next time
                await asyncio.sleep(self._retry_delay)

    async def shielded(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` to completion even if the caller is cancelled; shutdown waits for it."""
        task = asyncio.ensure_future(coro)
        self.critical.add(task)
        task.add_done_callback(self.critical.discard)
        return await asyncio.shield(task)

    async def shutdown(self, grace: float) -> None:
        """Cancel every task; give critical sections up to ``grace`` seconds to finish."""
        for task in list(self.tasks.values()):
            task.cancel()
        if self.critical:
            await asyncio.wait(list(self.critical), timeout=grace)
        if self.tasks:
            await asyncio.wait(list(self.tasks.values()), timeout=1.0)

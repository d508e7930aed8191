"""Secret reads shared by the requests that use the same Secret, for a few seconds.

Every provider call needs the request's credentials, and a burst of requests usually shares one
Secret per namespace. ``SecretCache`` reads a Secret once for all of them: a read in progress is
joined (one GET however many requests ask at once) and its result is reused for ``ttl`` seconds.
A missing Secret is never remembered (GitOps may apply it a moment later), ``forget`` drops an
entry whose values turned out unusable, and ``fresh=True`` skips the reuse: ``jobs.Steps`` asks
for a fresh read before it lets a cached value fail a request. Values live only in this
process's memory, as they would for the duration of any call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

SecretData = dict[str, str]
Read = Callable[[str, str], Awaitable[SecretData | None]]
Key = tuple[str, str]


class SecretCache:
    """Coalesced, briefly reused reads of Secrets (``read`` is ``KubeAPI.read_secret``)."""

    def __init__(self, read: Read, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._read, self.ttl, self._clock = read, ttl, clock
        self._entries: dict[Key, tuple[float, SecretData]] = {}
        self._reading: dict[Key, asyncio.Future[SecretData | None]] = {}

    async def read(self, namespace: str, name: str, *, fresh: bool = False) -> tuple[SecretData | None, bool]:
        """The Secret's data (None when it does not exist) and whether it was reused."""
        key = (namespace, name)
        entry = self._entries.get(key)
        if entry is not None and not fresh and self._clock() - entry[0] < self.ttl:
            return entry[1], True
        pending = self._reading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key))
            self._reading[key] = pending
            pending.add_done_callback(lambda done: self._settled(key, done))
        # Shielded: one caller giving up (cancelled) must not cancel the read the others wait for.
        return await asyncio.shield(pending), False

    def forget(self, namespace: str, name: str) -> None:
        """Drop what is remembered of the Secret, so that the next read goes to the API server."""
        self._entries.pop((namespace, name), None)

    async def _load(self, key: Key) -> SecretData | None:
        data = await self._read(*key)
        now = self._clock()
        self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.ttl}
        if data is not None and self.ttl > 0:
            self._entries[key] = (now, data)
        else:
            self._entries.pop(key, None)
        return data

    def _settled(self, key: Key, done: asyncio.Future[SecretData | None]) -> None:
        if self._reading.get(key) is done:
            del self._reading[key]
        if not done.cancelled():
            done.exception()  # retrieved here, so that a failure nobody awaited any more is not logged

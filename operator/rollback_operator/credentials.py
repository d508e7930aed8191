"""Secret reads shared by the requests that use the same Secret, for a few seconds.

Every provider call needs the request's credentials, and a burst of requests usually shares one
Secret per namespace. ``SecretCache`` reads a Secret once for all of them: a read in progress is
joined (one GET however many requests ask at once) and its result is reused for ``ttl`` seconds.
A missing Secret is never remembered (GitOps may apply it a moment later), ``forget`` drops an
entry whose values turned out unusable, and ``fresh=True`` skips the reuse: ``jobs.Steps`` asks
for a fresh read before it lets a cached value fail a request. Values live only in this
process's memory, as they would for the duration of any call.

``SecretData`` is what ``KubeAPI.read_secret`` returns: the text values, plus the keys whose
values are not UTF-8 text, so that ``require_text`` (called by every adapter's ``credentials``)
names the problem instead of reporting the key missing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from rollback_operator.errors import CredentialsInvalid


class SecretData(dict[str, str]):
    """A Secret's values decoded as text; ``undecodable`` names the keys that are not UTF-8 text."""

    def __init__(
        self, values: Mapping[str, str] = {}, *, source: str = "", undecodable: Iterable[str] = ()
    ) -> None:
        super().__init__(values)
        self.source = source
        """"namespace/name" of the Secret, for messages."""
        self.undecodable = frozenset(undecodable)


def require_text(data: Mapping[str, str], keys: Iterable[str]) -> None:
    """``CredentialsInvalid`` naming the first of ``keys`` whose value is not UTF-8 text (never the value)."""
    undecodable = data.undecodable if isinstance(data, SecretData) else frozenset()
    for key in keys:
        if key in undecodable:
            source = f" of Secret {data.source}" if isinstance(data, SecretData) and data.source else ""
            raise CredentialsInvalid(f"key {key!r}{source} is not UTF-8 text")


Data = dict[str, str]
"""Decoded Secret data (a ``SecretData`` when it comes from ``KubeAPI.read_secret``)."""
Read = Callable[[str, str], Awaitable[Data | None]]
Key = tuple[str, str]


class SecretCache:
    """Coalesced, briefly reused reads of Secrets (``read`` is ``KubeAPI.read_secret``)."""

    def __init__(self, read: Read, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._read, self.ttl, self._clock = read, ttl, clock
        self._entries: dict[Key, tuple[float, Data]] = {}
        self._reading: dict[Key, asyncio.Future[Data | None]] = {}

    async def read(self, namespace: str, name: str, *, fresh: bool = False) -> tuple[Data | None, bool]:
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

    async def _load(self, key: Key) -> Data | None:
        data = await self._read(*key)
        now = self._clock()
        self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.ttl}
        if data is not None and self.ttl > 0:
            self._entries[key] = (now, data)
        else:
            self._entries.pop(key, None)
        return data

    def _settled(self, key: Key, done: asyncio.Future[Data | None]) -> None:
        if self._reading.get(key) is done:
            del self._reading[key]
        if not done.cancelled():
            done.exception()  # retrieved here, so that a failure nobody awaited any more is not logged

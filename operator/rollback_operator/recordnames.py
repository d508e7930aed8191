"""Which RollbackRecords exist, by name, kept from a metadata-only watch: the look before a claim
without a round trip.

Before resolving a new request the reconciler looks for its identity's record
(``reconcile/records.py``). Most requests have none, and asking the API server costs a round trip
on every rollback's critical path. ``RecordNames`` lists the records' names once (metadata only,
paged) and then follows a watch of them, so that ``absent`` answers from memory. When the server
ends a watch (every few minutes) the next one resumes from the last version seen (bookmarks keep
it recent); only a failure (a version too old, a broken connection) costs a new listing.

It only ever saves a read: a name it lacks is looked up no further, and the claim (creating the
record) is what decides: a record it missed makes the create fail with ``Conflict``, after which
every look goes to the API server. Until the names are listed, and while the watch is broken, it
knows nothing (``absent`` is False) and every look is a read, as without it. Names cost about
100 bytes each (about 1 MiB for 10,000 records); their number is the ``rollback_records``
gauge, and each listing is logged. Started by ``handlers.py``; read by ``reconcile/records.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Protocol

from rollback_operator import metrics
from rollback_operator.config import backoff
from rollback_operator.errors import Gone, KubernetesUnavailable

log = logging.getLogger(__name__)


class NameSource(Protocol):
    """What the index needs of the Kubernetes API (``kube.KubeAPI``)."""

    def record_names(self) -> Awaitable[tuple[set[str], str]]: ...

    def watch_record_names(self, resource_version: str) -> AsyncIterator[tuple[str, str, str]]: ...


class RecordNames:
    """The names of the RollbackRecords that exist, while a watch keeps them current."""

    def __init__(self, source: NameSource, *, retry_max: float = 30.0) -> None:
        self._source = source
        self._retry_max = retry_max
        self._names: set[str] = set()
        self._current = False

    def absent(self, name: str) -> bool:
        """True only when the record ``name`` surely did not exist a moment ago."""
        return self._current and name not in self._names

    def note(self, name: str) -> None:
        """A record this operator just created (before its watch event arrives)."""
        self._names.add(name)
        metrics.RECORDS.set(len(self._names))

    async def keep(self) -> None:
        """List, then follow the watch, resuming where it ended; list again only after a failure
        (until cancelled)."""
        delays = backoff(0.5, self._retry_max)
        version = ""  # where the next watch starts; empty: list first
        while True:
            try:
                version = version or await self._list()
                version = await self._follow(version)
                delays = backoff(0.5, self._retry_max)  # the server ended the watch: resume it
            except (KubernetesUnavailable, Gone) as exc:
                self._current, version = False, ""
                log.debug("record names: %s; listing them again", exc)
                await asyncio.sleep(next(delays))
            except Exception:  # never stale and never dead: an unexpected answer is only a reason to relist
                self._current, version = False, ""
                log.warning("record names: unexpected failure; listing them again", exc_info=True)
                await asyncio.sleep(next(delays))

    async def _list(self) -> str:
        """Every name, from one listing; returns its resourceVersion."""
        names, version = await self._source.record_names()
        self._names, self._current = names, True
        metrics.RECORDS.set(len(names))
        log.info("record names: %d RollbackRecords listed; following their changes", len(names))
        return version

    async def _follow(self, version: str) -> str:
        """Apply the watch's changes since ``version``; returns the last version seen when the
        server ends the watch."""
        async for kind, name, seen in self._source.watch_record_names(version):
            if kind == "DELETED":
                self._names.discard(name)
            elif kind in ("ADDED", "MODIFIED") and name:
                self._names.add(name)
            version = seen or version
            metrics.RECORDS.set(len(self._names))
        return version

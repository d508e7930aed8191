"""Deleting RollbackRecords older than the retention period (``--record-retention``).

A record's age counts from its last moment: its completion, or its claim when it never completed
(a request deleted mid-flight and never re-created). One pass pages through the records (100 at a
time, so memory stays flat whatever their number) and deletes the expired ones, each guarded by
the ``resourceVersion`` it was read at. Passes run on a timer, never per watch event, so records
cost nothing between passes; the first comes a minute after the start, not during it. Started by
``handlers.py``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from rollback_operator.errors import KubernetesUnavailable
from rollback_operator.port import Clock

log = logging.getLogger(__name__)
PAGE = 100
"""Records per page: a parsed page is the pass's whole memory (measured over 3,500 records: the idle
operator's RSS after its first pass was 67 MiB with pages of 500, 62 MiB with pages of 100)."""
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
FIRST_PASS_AFTER = 60.0
"""Seconds from the start to the first pass."""


class RecordStore(Protocol):
    """What a pass needs of the Kubernetes API (``kube.KubeAPI``)."""

    def list_records(
        self, *, limit: int, token: str | None
    ) -> Awaitable[tuple[list[dict[str, Any]], str | None]]: ...

    def delete_record(self, name: str, *, resource_version: str) -> Awaitable[None]: ...


def parse_duration(text: str) -> float:
    """``90d``, ``12h``, ``30m``, ``45s`` or plain seconds, as seconds."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*", text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (examples: 90d, 12h, 30m, 45s)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _last_moment(record: Mapping[str, Any]) -> datetime | None:
    status = record.get("status") or {}
    stamp = (
        status.get("completedAt") or status.get("claimedAt") or record["metadata"].get("creationTimestamp")
    )
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None


async def collect(store: RecordStore, *, retention: float, clock: Clock) -> int:
    """One pass: delete every record whose last moment is older than ``retention`` seconds."""
    cutoff, token, deleted = clock() - timedelta(seconds=retention), None, 0
    while True:
        items, token = await store.list_records(limit=PAGE, token=token)
        for record in items:
            moment = _last_moment(record)
            if moment is not None and moment < cutoff:
                meta = record["metadata"]
                await store.delete_record(meta["name"], resource_version=str(meta["resourceVersion"]))
                deleted += 1
        if token is None:
            return deleted


def interval_for(retention: float) -> float:
    """How often to run a pass: a tenth of the retention, between 1 s and an hour."""
    return min(3600.0, max(1.0, retention / 10))


async def keep(
    store: RecordStore,
    *,
    retention: float,
    clock: Clock,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run passes forever (until cancelled), logging how many records each removed.

    The first pass waits ``FIRST_PASS_AFTER`` (or the interval, when shorter): a restart's first
    moments belong to the requests that waited for it, not to paging through the whole history.
    """
    await sleep(min(FIRST_PASS_AFTER, interval_for(retention)))
    while True:
        try:
            deleted = await collect(store, retention=retention, clock=clock)
        except KubernetesUnavailable as exc:
            log.warning("record retention pass failed (%s); trying again later", exc)
        else:
            if deleted:
                log.info("deleted %d RollbackRecord(s) older than the retention period", deleted)
        await sleep(interval_for(retention))

"""Record retention: which records a pass deletes, and when passes run (retention.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rollback_operator.retention import FIRST_PASS_AFTER, PAGE, collect, interval_for, keep

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DAY = 86400.0


def _record(name: str, *, completed: str | None = None, claimed: str | None = None) -> dict[str, Any]:
    status = {k: v for k, v in (("completedAt", completed), ("claimedAt", claimed)) if v}
    meta = {"name": name, "resourceVersion": f"rv-{name}", "creationTimestamp": "2026-12-06T11:00:00Z"}
    return {"metadata": meta, "status": status}


class Store:
    """Serves ``records`` in pages of ``limit``; remembers what was listed and deleted."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.pages: list[int] = []
        self.deleted: list[tuple[str, str]] = []

    async def list_records(self, *, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        start = int(token or 0)
        self.pages.append(start)
        end = start + limit
        return self.records[start:end], (str(end) if end < len(self.records) else None)

    async def delete_record(self, name: str, *, resource_version: str) -> None:
        self.deleted.append((name, resource_version))


async def test_a_pass_deletes_only_records_whose_last_moment_is_past_the_retention() -> None:
    old = [_record(f"old-{i}", completed="2026-11-01T00:00:00Z") for i in range(PAGE)]
    store = Store(
        [
            *old,
            _record("recent", completed="2026-12-06T10:00:00Z"),
            _record("claimed-long-ago", claimed="2026-10-01T00:00:00Z"),  # never completed
            _record(
                "completed-recently-claimed-long-ago",
                claimed="2026-10-01T00:00:00Z",
                completed=NOW.isoformat(),
            ),
        ]
    )

    deleted = await collect(store, retention=30 * DAY, clock=lambda: NOW)

    assert store.pages == [0, PAGE]  # paged, every page read
    assert deleted == PAGE + 1
    assert ("claimed-long-ago", "rv-claimed-long-ago") in store.deleted  # guarded by the version read
    assert not {name for name, _ in store.deleted} & {"recent", "completed-recently-claimed-long-ago"}


class Stop(Exception):
    """Ends ``keep`` at its second sleep."""


async def test_the_first_pass_waits_after_the_start_and_the_next_ones_follow_the_interval() -> None:
    store = Store([_record("old", completed="2026-01-01T00:00:00Z")])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        assert store.pages == ([] if len(slept) == 1 else [0])  # nothing listed before the first wait
        if len(slept) == 2:
            raise Stop

    with pytest.raises(Stop):
        await keep(store, retention=90 * DAY, clock=lambda: NOW, sleep=sleep)

    assert slept == [FIRST_PASS_AFTER, interval_for(90 * DAY)]
    assert store.deleted == [("old", "rv-old")]


async def test_a_short_retention_passes_sooner_than_the_first_pass_delay() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        raise Stop

    with pytest.raises(Stop):
        await keep(Store([]), retention=2, clock=lambda: NOW, sleep=sleep)

    assert slept == [interval_for(2)] == [1.0]

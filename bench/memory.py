"""Memory and restart cost: the operator idle, with many finished requests, and restarting over them.

Finished requests are made directly (create, then a status patch copied from a request the
operator really finished) while no operator runs, so the operator only ever sees them finished.
They all point at a live Vector target: any provider call they caused would show in its counters.
A restart is timed with a probe: a fresh Facets request created before the process starts; when it
is Ready, the initial listing (which kopf indexes before any handler runs) has been processed.
Called by ``bench.__main__``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from tests.support.scenarios import Scenario

from bench.context import Bench, Counting, Tally, body
from bench.procs import Subject, cpu_seconds, rss_mb
from bench.tracking import Tracker
from rollback_operator.record import identity, record_name

SETTLE = 3.0
"""Seconds after start-up (or after the probe) before RSS is read, so it is not caught mid-allocation."""
PROBE_TIMEOUT = 150.0
"""A restart slower than this is reported as such (keeps ``make bench`` bounded)."""


@dataclass
class Restart:
    healthy_seconds: float
    """Process start → /healthz answers."""
    probe_seconds: float
    """Process start → the probe created before it is Ready (``inf``: not within ``PROBE_TIMEOUT``)."""
    rss_mb: float
    """RSS once the probe is Ready (or the timeout passed), after ``SETTLE`` seconds."""
    tally: Tally
    """Everything written and called from the start until quiet, the probe included."""
    touched: int
    """Finished requests whose resourceVersion changed (anything written to them)."""


@dataclass
class Memory:
    idle_mb: float
    """RSS of an operator watching an empty namespace."""
    finished_mb: float
    """RSS with ``finished`` finished requests present (after the restart and an idle window)."""
    finished: int
    fill_seconds: float
    empty: Restart
    full: Restart
    idle_cpu_seconds: float
    """CPU time used during ``idle_seconds`` of idling with the finished requests present."""
    idle_seconds: float
    idle: Tally
    records: int = 0
    """RollbackRecords present for the restart ``with_records`` (one per finished request)."""
    with_records: Restart | None = None
    """A restart over the same finished requests once each has its finished record."""
    records_mb: float = float("nan")
    """RSS after ``with_records`` and an idle window: compare with ``finished_mb``."""


async def memory(bench: Bench, subject: Subject, template: dict[str, Any]) -> Memory:
    """Idle RSS; fill; restart over the finished requests; idle with them; a restart over nothing."""
    namespace, seeded = await bench.setup("memory", {"vector": 1, "facets": 2})
    subject.start(namespace, log_name="memory-idle.log")
    await asyncio.sleep(SETTLE)
    idle_mb = rss_mb(subject.pid)
    subject.stop()
    began = time.monotonic()
    await fill(bench, namespace, seeded["vector"][0], template)
    fill_seconds = time.monotonic() - began
    full = await restart(bench, subject, namespace, seeded["facets"][0], log_name="memory-restart.log")
    try:
        counting = await Counting(bench).open()
        cpu = cpu_seconds(subject.pid)
        await asyncio.sleep(bench.sizes.idle_seconds)
        idle_cpu = cpu_seconds(subject.pid) - cpu
        idle = await counting.close(rollbacks=0)
        finished_mb = rss_mb(subject.pid)
    finally:
        subject.stop()
    await records_for(bench, namespace, template)
    await bench.kube.delete(namespace, "probe")
    with_records = await restart(
        bench, subject, namespace, seeded["facets"][1], log_name="restart-records.log"
    )
    try:
        await asyncio.sleep(bench.sizes.idle_seconds)
        records_mb = rss_mb(subject.pid)
    finally:
        subject.stop()
    empty_ns, empty_seeded = await bench.setup("restart-empty", {"facets": 1})
    empty = await restart(bench, subject, empty_ns, empty_seeded["facets"][0], log_name="restart-empty.log")
    subject.stop()
    return Memory(
        idle_mb,
        finished_mb,
        bench.sizes.finished,
        fill_seconds,
        empty,
        full,
        idle_cpu,
        bench.sizes.idle_seconds,
        idle,
        bench.sizes.finished,
        with_records,
        records_mb,
    )


async def fill(bench: Bench, namespace: str, target: Scenario, template: dict[str, Any]) -> None:
    """Create ``sizes.finished`` requests for ``target`` and mark each finished like ``template``."""

    async def one(index: int) -> None:
        name = f"done-{index:05d}"
        await bench.kube.create(namespace, body(name, target))
        await bench.kube.patch_status(namespace, name, template)

    gate = asyncio.Semaphore(16)

    async def limited(index: int) -> None:
        async with gate:
            await one(index)

    await asyncio.gather(*(limited(i) for i in range(bench.sizes.finished)))


async def records_for(bench: Bench, namespace: str, template: dict[str, Any]) -> None:
    """One finished RollbackRecord per finished request of ``namespace``, as the operator writes them."""
    items, _ = await bench.kube.list(namespace)
    operation = template.get("operation") or {}
    gate = asyncio.Semaphore(16)

    async def one(item: dict[str, Any]) -> None:
        meta = item["metadata"]
        name = record_name(namespace, meta["name"], identity(namespace, meta["name"], item["spec"]))
        body = {
            "apiVersion": "rollback.dev/v1alpha1",
            "kind": "RollbackRecord",
            "metadata": {"name": name, "labels": {"rollback.dev/request-namespace": namespace}},
            "spec": {
                "request": {"namespace": namespace, "name": meta["name"], "uid": meta["uid"]},
                "requestRef": f"{namespace}/{meta['name']}",
                "identity": identity(namespace, meta["name"], item["spec"]),
                "provider": "vector",
                "targetKey": "bench",
                "requestedBy": "bench",
                "from": template.get("currentVersion", "a"),
                "to": template.get("targetVersion", "b"),
                "idempotencyKey": operation.get("idempotencyKey", "k"),
            },
            "status": {
                "claimedAt": operation.get("claimedAt"),
                "operationId": operation.get("id"),
                "completedAt": template.get("completedAt"),
                "outcome": {"phase": "Succeeded", "reason": "RollbackSucceeded", "message": "rolled back"},
            },
        }
        async with gate:
            await bench.kube.create_record(body)

    await asyncio.gather(*(one(item) for item in items if item["metadata"]["name"] != "probe"))


async def restart(
    bench: Bench, subject: Subject, namespace: str, probe: Scenario, *, log_name: str
) -> Restart:
    """Start the operator over whatever ``namespace`` holds; the subject is left running."""
    await bench.kube.create(namespace, body("probe", probe))
    versions = await _versions(bench, namespace)
    async with Tracker(bench.kube, namespace, only="probe") as tracker:
        counting = await Counting(bench).open()
        began = time.time()
        healthy = subject.start(namespace, log_name=log_name, warm=False)  # a start, as it is
        try:
            ready = (await tracker.wait(["probe"], within=PROBE_TIMEOUT))["probe"][0] - began
        except TimeoutError:
            ready = float("inf")
        await asyncio.sleep(SETTLE)
        rss = rss_mb(subject.pid)
        tally = await counting.close(rollbacks=1 if ready < PROBE_TIMEOUT else 0)
    after = await _versions(bench, namespace)
    touched = sum(1 for name, version in versions.items() if after.get(name) != version)
    return Restart(healthy, ready, rss, tally, touched)


async def _versions(bench: Bench, namespace: str) -> dict[str, str]:
    """resourceVersion of every request but the probe."""
    items, _ = await bench.kube.list(namespace)
    names = ((i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in items)
    return {name: version for name, version in names if name != "probe"}

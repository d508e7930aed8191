"""The timed measurements: latency, throughput, and the cost of one rollback per provider.

Each phase uses a fresh namespace and fresh sandbox targets, starts its subject (the operator or
the floor) for that namespace only, and reads counters around the measured window. Provider
delays are zero throughout (Vector deployments finish at once, Yandex operations are done at
once), so that the time measured is the subject's own. Called by ``bench.__main__``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.context import Bench, Counting, Tally, body
from bench.procs import PeakRss, Subject, cpu_seconds
from bench.tracking import Tracker


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and p99 (inclusive method), in milliseconds."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


def rollback_arrivals(bench: Bench, since: float) -> dict[str, float]:
    """Vector environment id → when its first rollback POST since ``since`` reached the sandbox."""
    first: dict[str, float] = {}
    for moment, path in bench.boxes.arrivals("vector"):
        parts = path.rstrip("/").split("/")
        if moment >= since and parts[-1] == "rollback":
            first.setdefault(parts[-2], moment)
    return first


@dataclass
class Latency:
    received: dict[str, float]
    """Percentiles of create → rollback received by the sandbox (ms)."""
    ready: dict[str, float]
    """Percentiles of create → Ready seen by a watcher (ms)."""
    tally: Tally
    count: int


async def latency(bench: Bench, subject: Subject) -> Latency:
    """Sequential requests: each is created only after the previous one is Ready."""
    warmup, count = bench.sizes.warmup, bench.sizes.latency
    namespace, seeded = await bench.setup(f"latency-{subject.name}", {"vector": warmup + count})
    targets = seeded["vector"]
    subject.start(namespace, log_name=f"latency-{subject.name}.log")
    created: dict[str, float] = {}
    try:
        async with Tracker(bench.kube, namespace) as tracker:
            for index, target in enumerate(targets[:warmup]):
                await _one(bench, tracker, namespace, f"warmup-{index}", target)
            counting = await Counting(bench).open()
            for index, target in enumerate(targets[warmup:]):
                created[target.rollback_key] = await _one(bench, tracker, namespace, f"lat-{index:04d}", target)
            tally = await counting.close(rollbacks=sum(1 for t, p in tracker.done.values() if p == "Succeeded")
                                         - warmup)  # fmt: skip
            ready = {t.rollback_key: tracker.done[f"lat-{i:04d}"][0] for i, t in enumerate(targets[warmup:])}
    finally:
        subject.stop()
    arrived = rollback_arrivals(bench, since=min(created.values()))
    return Latency(
        received=percentiles([arrived[env] - created[env] for env in created]),
        ready=percentiles([ready[env] - created[env] for env in created]),
        tally=tally,
        count=count,
    )


async def _one(bench: Bench, tracker: Tracker, namespace: str, name: str, target: Any) -> float:
    began = time.time()
    await bench.kube.create(namespace, body(name, target))
    await tracker.wait([name], timeout=60)
    return began


@dataclass
class Throughput:
    seconds: float
    """First create → last Ready."""
    create_seconds: float
    """First create → last create answered."""
    last_received: float
    """First create → last rollback received by the sandbox."""
    per_second: float
    peak_rss_mb: float
    cpu_seconds: float
    """CPU time the subject used from the first create until the counters went quiet."""
    tally: Tally
    count: int
    phases: dict[str, int]
    sample_status: dict[str, Any]
    """The status of one finished request (a realistic template for the memory phase)."""


async def throughput(bench: Bench, subject: Subject) -> Throughput:
    """All requests created at once (for distinct targets); time until every one is Ready."""
    count = bench.sizes.burst
    namespace, seeded = await bench.setup(f"burst-{subject.name}", {"vector": count})
    targets = seeded["vector"]
    subject.start(namespace, log_name=f"burst-{subject.name}.log")
    names = [f"burst-{i:04d}" for i in range(count)]
    try:
        async with Tracker(bench.kube, namespace) as tracker, PeakRss(subject.pid) as rss:
            counting = await Counting(bench).open()
            cpu, began = cpu_seconds(subject.pid), time.time()
            await bench.create_all(namespace, [body(n, t) for n, t in zip(names, targets, strict=True)])
            created = time.time()
            done = await tracker.wait(names, timeout=600)
        phases = _count(phase for _, phase in done.values())
        tally = await counting.close(rollbacks=phases.get("Succeeded", 0))
        cpu = cpu_seconds(subject.pid) - cpu
        sample = (await bench.kube.get(namespace, names[0])).get("status") or {}
    finally:
        subject.stop()
    end = max(moment for moment, _ in done.values())
    arrived = rollback_arrivals(bench, since=began)
    return Throughput(end - began, created - began, max(arrived.values(), default=began) - began,
                      count / (end - began), rss.peak, cpu, tally, count, phases, sample)  # fmt: skip


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


async def cost(bench: Bench, subject: Subject, provider: str) -> Tally:
    """API writes and provider calls for ``per_provider`` successful rollbacks of one provider."""
    count = bench.sizes.per_provider
    namespace, seeded = await bench.setup(f"cost-{provider}", {provider: count})
    targets = seeded[provider]
    subject.start(namespace, log_name=f"cost-{provider}.log")
    names = [f"cost-{i:03d}" for i in range(count)]
    try:
        async with Tracker(bench.kube, namespace) as tracker:
            counting = await Counting(bench).open()
            await bench.create_all(namespace, [body(n, t) for n, t in zip(names, targets, strict=True)])
            done = await tracker.wait(names, timeout=300)
            tally = await counting.close(rollbacks=sum(1 for _, p in done.values() if p == "Succeeded"))
    finally:
        subject.stop()
    return tally

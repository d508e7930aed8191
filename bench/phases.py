"""The timed measurements: latency, throughput, and the cost of one rollback per provider.

Each phase uses a fresh namespace and fresh sandbox targets, starts its subject (the operator or
the floor) for that namespace only, and reads counters around the measured window. Provider
delays are zero throughout (Vector deployments finish at once, Yandex operations are done at
once), so that the time measured is the subject's own. Called by ``bench.__main__``.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.support.scenarios import Scenario

from bench.context import Bench, Counting, Tally, body
from bench.procs import PeakRss, Subject, cpu_seconds
from bench.tracking import Tracker


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and p99 (inclusive method), in milliseconds."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


def rollback_arrivals(bench: Bench, since: float, *, any_call: bool = False) -> dict[str, float]:
    """Vector environment id → when its first rollback POST since ``since`` reached the sandbox (with
    ``any_call``: its first request of any kind, e.g. the operator's deployment listing)."""
    first: dict[str, float] = {}
    for moment, path in bench.boxes.arrivals("vector"):
        parts = path.rstrip("/").split("/")
        if moment < since:
            continue
        if parts[-1] == "rollback":
            first.setdefault(parts[-2], moment)
        elif any_call and len(parts) >= 2 and parts[-2] != "deployments" and "environments" in parts:
            first.setdefault(parts[parts.index("environments") + 1], moment)
    return first


@dataclass
class Latency:
    received: dict[str, float]
    """Percentiles of create → rollback received by the sandbox (ms)."""
    first_call: dict[str, float]
    """Percentiles of create → the subject's first provider request for the target (ms): for the
    operator its resolving call; for the floor the rollback itself."""
    ready: dict[str, float]
    """Percentiles of create → Ready seen by a watcher (ms)."""
    tally: Tally
    count: int


async def latency(bench: Bench, subject: Subject) -> Latency:
    """Sequential requests: each is created only after the previous one is Ready."""
    warmup, count = bench.sizes.warmup, bench.sizes.latency
    namespace, seeded = await bench.setup(f"latency-{subject.name}", {"vector": warmup + count})
    measured = {f"lat-{i:04d}": target for i, target in enumerate(seeded["vector"][warmup:])}
    created: dict[str, float] = {}
    subject.start(namespace, log_name=f"latency-{subject.name}.log")
    try:
        async with Tracker(bench.kube, namespace) as tracker:
            for index, target in enumerate(seeded["vector"][:warmup]):
                await _one(bench, tracker, namespace, f"warmup-{index}", target)
            counting = await Counting(bench).open()
            for name, target in measured.items():
                created[name] = await _one(bench, tracker, namespace, name, target)
            tally = await counting.close(rollbacks=sum(tracker.done[n][1] == "Succeeded" for n in measured))
    finally:
        subject.stop()
    arrived = rollback_arrivals(bench, since=min(created.values()))
    first = rollback_arrivals(bench, since=min(created.values()), any_call=True)
    return Latency(
        received=percentiles([arrived[t.rollback_key] - created[n] for n, t in measured.items()]),
        first_call=percentiles([first[t.rollback_key] - created[n] for n, t in measured.items()]),
        ready=percentiles([tracker.done[n][0] - created[n] for n in measured]),
        tally=tally,
        count=count,
    )


async def _one(bench: Bench, tracker: Tracker, namespace: str, name: str, target: Scenario) -> float:
    """Create one request and wait until it is finished; returns when it was created."""
    began = time.time()
    await bench.kube.create(namespace, body(name, target))
    await tracker.wait([name], within=60)
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
    server_cpu_seconds: dict[str, float]
    """The same for each control-plane server (the subject's calls cost them CPU too)."""
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
            servers = {name: cpu_seconds(pid) for name, pid in bench.servers.items()}
            await bench.create_all(namespace, [body(n, t) for n, t in zip(names, targets, strict=True)])
            created = time.time()
            done = await tracker.wait(names, within=600)
        phases = dict(Counter(phase for _, phase in done.values()))
        tally = await counting.close(rollbacks=phases.get("Succeeded", 0))
        cpu = cpu_seconds(subject.pid) - cpu
        servers = {name: cpu_seconds(pid) - servers[name] for name, pid in bench.servers.items()}
        sample = (await bench.kube.get(namespace, names[0])).get("status") or {}
    finally:
        subject.stop()
    end = max(moment for moment, _ in done.values())
    arrived = rollback_arrivals(bench, since=began)
    return Throughput(
        seconds=end - began,
        create_seconds=created - began,
        last_received=max(arrived.values(), default=began) - began,
        per_second=count / (end - began),
        peak_rss_mb=rss.peak,
        cpu_seconds=cpu,
        server_cpu_seconds=servers,
        tally=tally,
        count=count,
        phases=phases,
        sample_status=sample,
    )


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
            done = await tracker.wait(names, within=300)
            tally = await counting.close(rollbacks=sum(1 for _, p in done.values() if p == "Succeeded"))
    finally:
        subject.stop()
    return tally

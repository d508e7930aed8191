"""Turning one benchmark run into the console table and docs/performance.md.

``Results`` collects every phase's figures; ``targets`` judges them against the issue's targets;
``markdown`` renders the document (machine, commit, date, load, figures, method, how to
reproduce) and ``table`` the console summary. Used by ``bench.__main__``.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.context import Sizes, Tally
from bench.memory import Memory
from bench.phases import Latency, Throughput
from bench.profile import Profile
from bench.writecost import WriteCost

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Results:
    sizes: Sizes
    latency: dict[str, Latency] = field(default_factory=dict)
    throughput: dict[str, Throughput] = field(default_factory=dict)
    """Each subject's median round (by rollbacks per second)."""
    rates: dict[str, list[float]] = field(default_factory=dict)
    """Rollbacks per second of every throughput round, per subject, in order."""
    cost: dict[str, Tally] = field(default_factory=dict)
    writes: WriteCost | None = None
    memory: Memory | None = None
    profile: Profile | None = None
    """Where the operator's CPU went in one more burst (``bench.profile``); None without py-spy."""
    peer: dict[str, Any] | None = None
    """``bench.peer.run_peer``'s results (the node tier), when it ran."""
    load: list[tuple[str, tuple[float, float, float]]] = field(default_factory=list)
    """(phase, load averages when it began), plus the end of the run."""
    seconds: float = 0.0


@dataclass(frozen=True)
class Target:
    what: str
    value: str
    goal: str
    holds: bool


def _fmt(value: float, digits: int = 1) -> str:
    if math.isinf(value):
        return "did not finish"
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def targets(r: Results) -> list[Target]:
    """Issue #18's targets (against the claiming floor), judged on this run."""
    lat, thr, mem = r.latency, r.throughput, r.memory
    assert mem is not None
    op = thr["operator"]
    p50 = lat["operator"].received["p50"] / lat["claiming"].received["p50"]
    rate = op.per_second / thr["claiming"].per_second
    contract = op.per_second / thr["contract"].per_second
    cpu = op.cpu_seconds * 1000 / op.count
    tallies = [op.tally, *r.cost.values()]
    writes = max(t.per(t.writes.requests + t.writes.status) for t in tallies)
    with_events = max(t.per(t.writes.total) for t in tallies)
    full = mem.full
    probe = r.cost["facets"]  # the restart's probe is a Facets request
    extra = full.tally.writes.total - probe.per(probe.writes.total)
    idle = mem.idle.writes.total + sum(mem.idle.calls.values())
    idle_share = mem.idle_cpu_seconds / mem.idle_seconds
    n = f"{mem.finished:,}"
    return [
        Target("idle RSS (image's dependency set)", f"{mem.idle_mb:.0f} MiB", "<= 72 MiB", mem.idle_mb <= 72),
        Target(
            f"RSS with {n} finished requests and {mem.records:,} records",
            f"{mem.records_mb:.0f} MiB",
            "<= 80 MiB",
            mem.records_mb <= 80,
        ),
        Target(
            f"peak RSS during {r.sizes.burst} at once",
            f"{op.peak_rss_mb:.0f} MiB",
            "<= 140 MiB",
            op.peak_rss_mb <= 140,
        ),
        Target("throughput vs the claiming floor", f"{rate:.2f}x", ">= 0.75x", rate >= 0.75),
        Target(
            "throughput vs the contract floor (the writes and calls the API contract asks for)",
            f"{contract:.2f}x",
            "(reported)",
            True,
        ),
        Target(
            "p50 create → rollback received vs the claiming floor",
            f"{p50:.2f}x ({lat['operator'].received['p50']:.1f} vs {lat['claiming'].received['p50']:.1f} ms)",
            "<= 1.4x",
            p50 <= 1.4,
        ),
        Target("operator CPU per rollback (in the burst)", f"{cpu:.2f} ms", "<= 6 ms", cpu <= 6),
        Target(
            "API writes per successful rollback (status + records + Events), worst case",
            f"{_fmt(with_events, 2)} (status and object alone: {_fmt(writes, 2)})",
            "<= 5",
            with_events <= 5,
        ),
        *_server_target(r),
        *_peer_target(r),
        Target(
            f"restart over {n} finished: time to a new request's Ready",
            f"{_fmt(full.probe_seconds)} s (over nothing: {_fmt(mem.empty.probe_seconds)} s)",
            "(reported)",
            not math.isinf(full.probe_seconds),
        ),
        Target(
            f"restart over {n} finished: finished requests written to",
            str(full.touched),
            "0",
            full.touched == 0,
        ),
        Target(
            "restart: writes beyond the probe's own",
            _fmt(extra, 0) if not math.isinf(full.probe_seconds) else "n/a (restart did not finish)",
            "0",
            not math.isinf(full.probe_seconds) and extra <= 0,
        ),
        Target(
            "restart: provider calls for finished requests",
            str(full.tally.calls["vector"]),
            "0",
            full.tally.calls["vector"] == 0,
        ),
        *_record_targets(mem, probe, n),
        Target(
            f"idle with {n} finished: writes + provider calls; CPU",
            f"{idle}; {idle_share:.1%} of a core",
            "0; ~0",
            idle == 0 and idle_share < 0.02,
        ),
    ]


def _server_target(r: Results) -> list[Target]:
    """kube-apiserver CPU per rollback, and how much of it the status's size explains."""
    op, w = r.throughput["operator"], r.writes
    server = op.server_cpu_seconds.get("kube-apiserver", float("nan")) * 1000 / op.count
    if w is None:
        return []
    status_writes = op.tally.per(op.tally.writes.status)
    share = (w.operator_status_ms - w.floor_status_ms) * status_writes
    return [
        Target(
            "kube-apiserver CPU per rollback; the status size's share",
            f"{server:.1f} ms; {share:.1f} ms ({status_writes:.2f} status writes x "
            f"({w.operator_status_ms:.2f} - {w.floor_status_ms:.2f}) ms: five conditions vs one)",
            "(reported)",
            not math.isnan(server),
        )
    ]


def _peer_target(r: Results) -> list[Target]:
    """The real peer on the node (a Job per rollback) beside the operator as a Pod."""
    if r.peer is None:
        return [
            Target("a real peer (a Job per rollback) on the node", "not run (--no-peer)", "(reported)", False)
        ]
    job, pod = r.peer["peer"], r.peer["operator"]
    return [
        Target(
            "a real peer on the node: create → rollback received p50 / p95; CPU per rollback, all parts",
            f"a Job: {job['received_ms']['p50']:.0f} / {job['received_ms']['p95']:.0f} ms, "
            f"{job['cpu_ms']['total']:.0f} ms; the operator as a Pod: {pod['received_ms']['p50']:.0f} / "
            f"{pod['received_ms']['p95']:.0f} ms, {pod['cpu_ms']['total']:.0f} ms",
            "(reported)",
            True,
        )
    ]


def _record_targets(mem: Memory, probe: Tally, n: str) -> list[Target]:
    """What RollbackRecords cost an operator that restarts over them and idles with them."""
    again = mem.with_records
    if again is None:
        return []
    extra = again.tally.writes.total - probe.per(probe.writes.total)
    grown = mem.records_mb - mem.finished_mb
    return [
        Target(
            f"restart over {n} finished and {mem.records:,} records: writes beyond the probe's; "
            "provider calls",
            f"{_fmt(extra, 0)}; {again.tally.calls['vector']}",
            "0; 0",
            extra <= 0 and again.tally.calls["vector"] == 0 and again.touched == 0,
        ),
        Target(
            f"RSS with {mem.records:,} records vs without",
            f"{mem.records_mb:.0f} MiB ({grown:+.0f} MiB)",
            "<= +10 MiB",
            grown <= 10,
        ),
    ]


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU": cpu,
        "memory (free)": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "Python": platform.python_version(),
    }


def commit() -> str:
    """HEAD, and whether the working tree differs from it (read without taking git's index lock)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, env=env, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    changed = len(git("status", "--porcelain", "--untracked-files=no").splitlines())
    return f"{head} (+{changed} uncommitted files)" if changed else head


def table(r: Results) -> str:
    """The console summary: operator, floors, ratio, then the targets."""
    lat, thr = r.latency, r.throughput
    subjects = ("operator", "floor", "claiming", "contract", "bare")
    heads = ("operator/floor", "operator/claiming", "operator/contract")
    rows: list[tuple[str, ...]] = [("figure", *subjects, *heads)]

    def add(label: str, values: list[float], digits: int = 1) -> None:
        ratios = (f"{values[0] / v:.2f}x" for v in values[1:4])
        rows.append((label, *(_fmt(v, digits) for v in values), *ratios))

    for p in ("p50", "p95", "p99"):
        add(f"latency create→received {p} (ms)", [lat[s].received[p] for s in subjects])
    add(f"throughput, {r.sizes.burst} at once (rollbacks/s)", [thr[s].per_second for s in subjects])
    add("CPU per rollback in the burst (ms)", [thr[s].cpu_seconds * 1000 / thr[s].count for s in subjects])
    add(
        "kube-apiserver CPU per rollback (ms)",
        [
            thr[s].server_cpu_seconds.get("kube-apiserver", float("nan")) * 1000 / thr[s].count
            for s in subjects
        ],
    )
    add("peak RSS during the burst (MiB)", [thr[s].peak_rss_mb for s in subjects], 0)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.append("")
    lines += [f"{'OK  ' if t.holds else 'MISS'} {t.what}: {t.value} (target {t.goal})" for t in targets(r)]
    return "\n".join(lines)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

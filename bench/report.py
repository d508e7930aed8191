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

from bench.context import Sizes, Tally
from bench.memory import Memory
from bench.phases import Latency, Throughput

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Results:
    sizes: Sizes
    latency: dict[str, Latency] = field(default_factory=dict)
    throughput: dict[str, Throughput] = field(default_factory=dict)
    cost: dict[str, Tally] = field(default_factory=dict)
    memory: Memory | None = None
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
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def targets(r: Results) -> list[Target]:
    """The issue's targets for this machine, judged on this run."""
    lat, thr, mem = r.latency, r.throughput, r.memory
    assert mem is not None
    p50 = lat["operator"].received["p50"] / lat["floor"].received["p50"]
    rate = thr["operator"].per_second / thr["floor"].per_second
    burst = thr["operator"].tally
    writes = max(burst.per(burst.writes.requests + burst.writes.status),
                 *(t.per(t.writes.requests + t.writes.status) for t in r.cost.values()))  # fmt: skip
    restart = mem.full.tally.writes.requests + mem.full.tally.writes.status
    probe = r.cost["facets"]
    probe_writes = probe.per(probe.writes.requests + probe.writes.status)
    idle = mem.idle.writes.total + sum(mem.idle.calls.values())
    return [
        Target("throughput vs floor", f"{rate:.2f}x", ">= 0.5x", rate >= 0.5),
        Target("p50 latency vs floor", f"{p50:.2f}x", "<= 2x", p50 <= 2),
        Target("writes to rollbackrequests per rollback (worst provider)", _fmt(writes, 2), "<= 4", writes <= 4),
        Target(f"RSS with {mem.finished:,} finished", f"{mem.finished_mb:.0f} MiB", "<= 150 MiB",
               mem.finished_mb <= 150),  # fmt: skip
        Target("restart: writes to finished requests", str(mem.full.touched), "0", mem.full.touched == 0),
        Target("restart: writes beyond the probe's own", _fmt(restart - probe_writes, 0), "0",
               restart - probe_writes <= 0),  # fmt: skip
        Target("restart: provider calls for finished requests", str(mem.full.tally.calls["vector"]), "0",
               mem.full.tally.calls["vector"] == 0),  # fmt: skip
        Target(f"idle {mem.idle_seconds:.0f}s with finished requests: writes + calls", str(idle), "0", idle == 0),
    ]


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))  # fmt: skip
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
    """The console summary: operator, floor, ratio, target."""
    lat, thr = r.latency, r.throughput
    rows = [("figure", "operator", "floor", "ratio")]
    for p in ("p50", "p95", "p99"):
        op, fl = lat["operator"].received[p], lat["floor"].received[p]
        rows.append((f"latency create→received {p} (ms)", _fmt(op), _fmt(fl), f"{op / fl:.2f}x"))
    op_rate, fl_rate = thr["operator"].per_second, thr["floor"].per_second
    rows.append((f"throughput, {r.sizes.burst} at once (rollbacks/s)", _fmt(op_rate), _fmt(fl_rate),
                 f"{op_rate / fl_rate:.2f}x"))  # fmt: skip
    op_rss, fl_rss = thr["operator"].peak_rss_mb, thr["floor"].peak_rss_mb
    rows.append(("peak RSS during the burst (MiB)", _fmt(op_rss, 0), _fmt(fl_rss, 0), f"{op_rss / fl_rss:.2f}x"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.append("")
    lines += [f"{'OK  ' if t.holds else 'MISS'} {t.what}: {t.value} (target {t.goal})" for t in targets(r)]
    return "\n".join(lines)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

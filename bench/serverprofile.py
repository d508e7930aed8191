"""Where the API server's CPU goes during the operator's burst: its own CPU profile, sorted.

The benchmark's kube-apiserver runs with ``--profiling=true``; while the profiled burst runs
(``bench.profile``), ``capture`` asks it for a CPU profile (``/debug/pprof/profile``, Go's sampling
profiler at 100 Hz, inside the server). ``go tool pprof -traces`` prints each sampled stack, and
``summarize`` puts every sample in two tables, each time in the first part whose marker its stack
holds (in the order listed):

- ``REQUESTS``: which request the server was serving (status writes, the record patches, creates,
  watches, ...). A handler runs in its own goroutine, so the markers are the handlers' own frames;
- ``WORK``: what it was doing (garbage collection, CEL rules, schema validation, managed fields,
  applying the patch, storage, watch fan-out, TLS and HTTP, ...).

The contract's writes are what the throughput target is measured against (``docs/performance.md``);
these tables say where their cost is. Used by ``bench.profile``; ``parse`` and ``summarize`` are
separate so that a test can feed them text.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.context import Bench

Markers = tuple[tuple[str, tuple[str, ...]], ...]

GC = "garbage collection (of every request's allocations)"
OTHER = "other (the server's own loops, etcd client, scheduler)"

REQUESTS: Markers = (
    (GC, ("runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge")),
    (
        "RollbackRequest status writes (the operator's)",
        ("customresource.(*StatusREST).Update", "serveStatus.PatchResource", "serveStatus.UpdateResource"),
    ),
    (
        "other patches (the RollbackRecord's outcome)",
        ("handlers.(*patcher)", "serveResource.PatchResource", "serveResource.UpdateResource"),
    ),
    ("creates of custom resources (the driver's requests, the records)", ("serveResource.CreateResource",)),
    ("creates of built-in objects (the Events)", ("handlers.CreateResource", "handlers.createHandler")),
    (
        "watches: filtering, encoding and sending each change to each watcher",
        (
            "cacher.(*Cacher)",
            "cacher.(*cacheWatcher)",
            "cacher.(*cachingObject)",
            "cacher.(*watchCache)",
            "handlers.serveWatch",
            "handlers.(*WatchServer)",
            "etcd3.(*watchChan)",
            "(*watchGRPCStream)",
        ),
    ),
    ("lists and reads", ("ListResource", "GetResource")),
    ("serving connections: TLS, HTTP, authentication, authorization", ("crypto/tls", "net/http")),
)

WORK: Markers = (
    (GC, ("runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge")),
    ("CEL validation rules (the CRDs' x-kubernetes-validations)", ("schema/cel.(*Validator)",)),
    (
        "schema validation, pruning, defaulting",
        ("kube-openapi/pkg/validation", "schema/pruning", "schema/defaulting", "apiserver/validation."),
    ),
    ("managed fields (which manager owns which field)", ("managedfields", "structured-merge-diff")),
    ("applying the patch (JSON merge)", ("handlers.(*jsonPatcher)", "evanphx/json-patch")),
    (
        "watch fan-out",
        (
            "cacher.(*Cacher)",
            "cacher.(*cacheWatcher)",
            "cacher.(*cachingObject)",
            "cacher.(*watchCache)",
            "handlers.serveWatch",
            "etcd3.(*watchChan)",
        ),
    ),
    ("storage: encoding, decoding, talking to etcd", ("storage/etcd3", "go.etcd.io/etcd/client")),
    ("encoding answers", ("responsewriters",)),
    ("authentication, authorization, admission", ("authentication", "authorization", "admission")),
    ("TLS and HTTP", ("crypto/", "net/http", "x/net/http2")),
)

_SEPARATOR = re.compile(r"^-+\+-+$")
_VALUE = re.compile(r"^\s*([\d.]+)(ns|us|µs|ms|s)\s+(.*)$")
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class ServerProfile:
    sampled_ms: float
    """CPU time the profile holds (samples x 10 ms)."""
    cpu_ms: float = 0.0
    """The API server's CPU per rollback in the profiled burst (from /proc)."""
    requests: dict[str, float] = field(default_factory=dict)
    """Part → share (0..1), in ``REQUESTS`` order, then ``OTHER``."""
    work: dict[str, float] = field(default_factory=dict)
    """Part → share (0..1), in ``WORK`` order, then ``OTHER``."""


def parse(lines: Iterable[str]) -> list[tuple[float, list[str]]]:
    """``go tool pprof -traces`` output → (milliseconds, frames from the leaf outwards) per sample."""
    samples: list[tuple[float, list[str]]] = []
    current: list[str] | None = None
    for line in lines:
        if _SEPARATOR.match(line.strip()):
            current = None
            continue
        match = _VALUE.match(line)
        if match and current is None:
            number, unit, frame = match.groups()
            current = [frame.strip()]
            samples.append((float(number) * _UNIT_MS[unit], current))
        elif current is not None and line.strip():
            current.append(line.strip())
    return samples


def _part(frames: Sequence[str], markers: Markers) -> str:
    stack = "\n".join(frames)
    return next((name for name, marks in markers if any(m in stack for m in marks)), OTHER)


def _shares(samples: Sequence[tuple[float, list[str]]], markers: Markers) -> dict[str, float]:
    spent: dict[str, float] = defaultdict(float)
    for ms, frames in samples:
        spent[_part(frames, markers)] += ms
    total = sum(spent.values())
    names = [name for name, _ in markers] + [OTHER]
    return {name: spent.get(name, 0.0) / total for name in names} if total else {}


def summarize(lines: Iterable[str], *, cpu_ms: float = 0.0) -> ServerProfile:
    """The profile's samples in both tables; ``cpu_ms`` is carried along for the document."""
    samples = parse(lines)
    return ServerProfile(
        sampled_ms=sum(ms for ms, _ in samples),
        cpu_ms=cpu_ms,
        requests=_shares(samples, REQUESTS),
        work=_shares(samples, WORK),
    )


def go() -> str | None:
    """The Go toolchain (``make controlplane`` needs it too), whose ``pprof`` reads the profile."""
    return shutil.which("go")


async def capture(bench: Bench, seconds: int, output: Path) -> bool:
    """Ask the API server for ``seconds`` of CPU profile into ``output``; False when it refuses."""
    async with bench.kube.http.get(
        "/debug/pprof/profile",
        params={"seconds": str(seconds)},
        timeout=aiohttp.ClientTimeout(total=seconds + 30),
    ) as response:
        if response.status != 200:
            return False
        body = await response.read()
    await asyncio.to_thread(output.write_bytes, body)
    return True


def read(path: Path, *, cpu_ms: float) -> ServerProfile | None:
    """The captured profile, sorted; None without Go or when pprof cannot read it."""
    command = go()
    if command is None or not path.exists():
        return None
    done = subprocess.run(
        [command, "tool", "pprof", "-traces", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        return None
    profile = summarize(done.stdout.splitlines(), cpu_ms=cpu_ms)
    return profile if profile.sampled_ms else None

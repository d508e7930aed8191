"""``python -m bench`` (``make bench``): run every measurement once, print a table, write the document.

Starts its own control plane (etcd + kube-apiserver from .bin/) and the sandboxes in a child
process, then measures in this order: the cost of a rollback per provider, latency and throughput
(the operator and the four floors of ``bench.floor``), what one write costs the API server, memory
and restart cost (operator), and one more burst with a sampling profiler attached
(``bench.profile``; the API server's own profile beside it: ``bench.serverprofile``). Then, on
the node tier, the real peer: the operator as a Pod beside a Job per rollback (``bench.peer``;
``--no-peer`` skips it). ``--quick`` uses small sizes for trying it out
and writes nothing unless ``--output`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.support.controlplane import BIN_DIR, ControlPlane
from tests.support.crd import install_crd
from tests.support.scenarios import VECTOR_TOKEN

from bench import phases
from bench.context import Bench, Sizes, load
from bench.document import markdown
from bench.kubeapi import Access, Kube
from bench.memory import memory
from bench.peer import run_peer
from bench.procs import Subject
from bench.profile import profile
from bench.report import REPO, Results, table
from bench.sandbox import RemoteSandboxes
from bench.writecost import write_cost

DOCUMENT = REPO / "docs" / "performance.md"


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def measure(bench: Bench, operator: Subject, floors: list[Subject], workdir: Path) -> Results:
    """Every phase, in order; the load average is noted as each begins."""
    results = Results(bench.sizes)

    def begin(phase: str) -> None:
        results.load.append((phase, load()))
        _say(f"{phase} (load {load()[0]:.2f})")

    for provider in ("facets", "vector", "yandex"):
        begin(f"cost {provider}")
        results.cost[provider] = await phases.cost(bench, operator, provider)
    for subject in (operator, *floors):
        begin(f"latency {subject.name}")
        results.latency[subject.name] = await phases.latency(bench, subject)
    rounds: dict[str, list[phases.Throughput]] = {}
    for round_ in range(1, bench.sizes.rounds + 1):  # in turn, so that load changes hit all alike
        for subject in (*reversed(floors), operator):
            begin(f"throughput {subject.name} {round_}")
            rounds.setdefault(subject.name, []).append(await phases.throughput(bench, subject))
    for name, runs in rounds.items():
        results.rates[name] = [run.per_second for run in runs]
        results.throughput[name] = sorted(runs, key=lambda run: run.per_second)[len(runs) // 2]
    begin("write cost")
    results.writes = await write_cost(bench, results.throughput["operator"].sample_status)
    begin("memory and restart")
    results.memory = await memory(bench, operator, results.throughput["operator"].sample_status)
    begin("profile")
    burst = results.throughput["operator"].seconds  # profile the API server for most of a burst
    results.profile = await profile(bench, operator, workdir, server_seconds=max(1, int(burst * 0.8)))
    results.load.append(("end", load()))
    return results


def servers(plane: ControlPlane) -> dict[str, int]:
    """The servers' process ids, from the pid files ControlPlane keeps in its work directory."""
    return {name: int((plane.workdir / f"{name}.pid").read_text()) for name in ("kube-apiserver", "etcd")}


async def run(plane: ControlPlane, workdir: Path, sizes: Sizes) -> Results:
    boxes = RemoteSandboxes.start(workdir / "sandboxes.log")
    kube = Kube(Access.from_kubeconfig(plane.kubeconfig))
    await kube.list("default")  # answered (after 429s) once the new CRD's watch cache is ready
    env = {**plane.env(), "BENCH_VECTOR_TOKEN": VECTOR_TOKEN}
    allowed = [arg for url in boxes.allowed_endpoints() for arg in ("--allowed-endpoint", url)]
    operator = Subject("operator", env, workdir, extra_args=allowed)
    floors = [
        Subject("floor", env, workdir),
        Subject("claiming", env, workdir, extra_args=["--claim"]),
        Subject("contract", env, workdir, extra_args=["--contract"]),
        Subject("bare", env, workdir, extra_args=["--bare"]),
    ]
    try:
        bench = Bench(kube, boxes, sizes, servers(plane))
        return await measure(bench, operator, floors, workdir)
    finally:
        for subject in (operator, *floors):
            subject.stop()
        await kube.aclose()
        boxes.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; writes no document by default")
    parser.add_argument("--output", type=Path, help=f"where to write the document (default: {DOCUMENT})")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs) afterwards")
    parser.add_argument("--no-peer", action="store_true", help="skip the node tier's peer (needs root)")
    args = parser.parse_args()
    sizes = Sizes.quick() if args.quick else Sizes()
    workdir = Path(tempfile.mkdtemp(prefix="rollback-bench-"))
    plane = ControlPlane(workdir / "controlplane", BIN_DIR, profiling=True)  # bench.serverprofile
    began = time.monotonic()
    _say(f"starting a control plane in {workdir}")
    plane.start()
    try:
        install_crd(plane)
        results = asyncio.run(run(plane, workdir, sizes))
    finally:
        plane.stop()
    if not args.no_peer:
        _say("the real peer, on the node")
        results.peer = run_peer(workdir / "peer", rounds=5 if args.quick else 20)
    results.seconds = time.monotonic() - began
    print(table(results))
    (workdir / "results.json").write_text(json.dumps(dataclasses.asdict(results), indent=1, default=str))
    output = args.output or (None if args.quick else DOCUMENT)
    if output is not None:
        output.write_text(markdown(results, quick=args.quick))
        _say(f"wrote {os.path.relpath(output)}")
    if args.keep:
        _say(f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The measurement on the node: the operator's side, then the peer's, each in one measured window.

``run_peer`` brings the node up (``down()`` first, and always ``down()`` at the end), serves the
sandboxes behind the TLS front, installs the operator as the node tier does, and has ``Run`` roll
back one Vector environment at a time: through a RollbackRequest each (the operator), then through
a Job each (the peer, ``bench.peer.job``, with the operator scaled to zero). ``Side`` holds one
side's figures: latencies from the driver's clock against the sandbox's arrivals, and the CPU the
node spent (``bench.peer.cpu``) with an idle reading of the same parts before the window.
``PeerResults`` holds both; ``run_peer`` returns it as a plain dict. Used by ``bench.__main__`` and
``bench.peer.__main__``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.node.install import DEPLOYMENT, NAMESPACE, install, operator_pods
from tests.node.node import Node, NodeError
from tests.support.scenarios import VECTOR_TOKEN, Scenario, World
from tests.support.tls import TestCA

from bench.context import SCENARIO_ARGS, body
from bench.kubeapi import Access
from bench.peer.cpu import COMPONENTS, CpuMeter, become_subreaper, reap_shims, running_shims
from bench.peer.job import peer_job
from bench.peer.node import Api, FrontedSandboxes, wait_until
from bench.tracking import finished

PEER_NAMESPACE = "rollback-peer"


def say(message: str) -> None:
    """A progress line on stderr, with the time."""
    print(f"[bench.peer {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def summary(seconds: list[float]) -> dict[str, float]:
    """p50, p95 (inclusive method) and max of ``seconds``, in milliseconds."""
    if len(seconds) < 2:
        only = seconds[0] * 1000 if seconds else float("nan")
        return {"p50": only, "p95": only, "max": only}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "max": max(seconds) * 1000}


def first_rollbacks(arrivals: list[tuple[float, str]], since: float) -> dict[str, float]:
    """Vector environment id → when its first rollback POST at or after ``since`` arrived."""
    first: dict[str, float] = {}
    for moment, path in sorted(arrivals):
        parts = path.rstrip("/").split("/")
        if moment >= since and parts[-1] == "rollback" and len(parts) >= 2:
            first.setdefault(parts[-2], moment)
    return first


# -- results -------------------------------------------------------------------------------------------


@dataclass
class Side:
    """One way of rolling back, measured over ``rounds`` sequential rollbacks."""

    received_ms: dict[str, float]
    """create → rollback received by the sandbox: p50, p95, max."""
    done_ms: dict[str, float]
    """create → done seen by the driver's watch (Ready=True / Complete=True): p50, p95, max."""
    window_seconds: float
    """The measured window: the first create until the node settled after the last rollback."""
    cpu_ms: dict[str, float]
    """CPU per rollback over the window, per component, and ``total``."""
    idle_ms_per_second: dict[str, float]
    """CPU per second of the same components just before the window, with nothing to do."""
    above_idle_ms: dict[str, float]
    """``cpu_ms`` less the idle rate over the window, per rollback."""
    provider_cpu_ms: dict[str, float]
    """CPU per rollback of the sandboxes and their TLS front (the provider's side: not in ``total``)."""
    exited_shims: int
    load: tuple[float, float, float]
    """Load averages as the window began."""


@dataclass
class PeerResults:
    rounds: int
    warmup: int
    node_started_at: str
    """When the node was started (UTC)."""
    node_up_seconds: float
    """``Node.up()`` until the node was Ready."""
    idle_seconds: float
    """The length of each idle reading."""
    shims_whole: bool
    """Whether exited shims were read whole (this process their subreaper), or sampled."""
    operator: Side | None = None
    peer: Side | None = None
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _per(used: dict[str, float], rounds: int) -> dict[str, float]:
    per = {name: used.get(name, 0.0) * 1000 / rounds for name in COMPONENTS}
    per["total"] = sum(per.values())
    return per


# -- the measurement ---------------------------------------------------------------------------------


@dataclass
class Run:
    """One run on an installed node: the operator's side, then the peer's."""

    node: Node
    api: Api
    boxes: FrontedSandboxes
    ca: TestCA
    rounds: int
    warmup: int
    idle_seconds: float

    def meter(self) -> CpuMeter:
        return CpuMeter(self.node, extra=self.boxes.pids())

    def measure(
        self,
        name: str,
        targets: list[Scenario],
        one: Callable[[int, Scenario], tuple[float, float]],
        settle: Callable[[], None],
    ) -> Side:
        """Warm-ups, an idle reading, then the measured rollbacks in one window."""
        for index, target in enumerate(targets[: self.warmup]):
            one(-1 - index, target)
        settle()
        idle_meter = self.meter().start()
        time.sleep(self.idle_seconds)  # the idle reading's length, not a wait for something
        idle, idle_seconds = idle_meter.stop()
        load = os.getloadavg()
        say(f"{name}: {self.rounds} rollbacks (load {load[0]:.2f})")
        measured = targets[self.warmup :]
        meter = self.meter().start()
        since = time.time()
        created: dict[str, float] = {}
        done: dict[str, float] = {}
        for index, target in enumerate(measured):
            created[target.rollback_key], done[target.rollback_key] = one(index, target)
        settle()
        used, seconds = meter.stop()
        reap_shims(self.node.socket)
        arrived = first_rollbacks(self.boxes.boxes.arrivals("vector"), since)
        missing = [t.rollback_key for t in measured if t.rollback_key not in arrived]
        if missing:
            raise RuntimeError(f"{name}: no rollback arrived for {missing}")
        keys = [t.rollback_key for t in measured]
        cpu = _per(used, self.rounds)
        idle_rate = {k: v * 1000 / idle_seconds for k, v in idle.items()}
        above = {k: cpu[k] - idle_rate.get(k, 0.0) * seconds / self.rounds for k in COMPONENTS}
        above["total"] = sum(above.values())
        extra = self.boxes.pids()
        return Side(
            received_ms=summary([arrived[k] - created[k] for k in keys]),
            done_ms=summary([done[k] - created[k] for k in keys]),
            window_seconds=seconds,
            cpu_ms=cpu,
            idle_ms_per_second={k: idle_rate.get(k, 0.0) for k in COMPONENTS},
            above_idle_ms=above,
            provider_cpu_ms={k: used[k] * 1000 / self.rounds for k in extra},
            exited_shims=meter.exited,
            load=load,
        )

    # the operator

    def operator(self, targets: list[Scenario]) -> Side:
        namespace = f"peer-operator-{secrets.token_hex(3)}"
        self.api.create("/api/v1/namespaces", {"metadata": {"name": namespace}})
        self.api.create(
            f"/api/v1/namespaces/{namespace}/secrets",
            {"metadata": {"name": "creds-vector"}, "stringData": {"token": VECTOR_TOKEN}},
        )
        collection = f"/apis/rollback.dev/v1alpha1/namespaces/{namespace}/rollbackrequests"

        def one(index: int, target: Scenario) -> tuple[float, float]:
            name = f"op-{index:03d}" if index >= 0 else f"op-warmup-{-index}"
            began = time.time()
            created = self.api.create(collection, body(name, target))
            for _, obj in self.api.watch(collection, name, created["metadata"]["resourceVersion"], within=60):
                phase = finished(obj)
                if phase == "Succeeded":
                    return began, time.time()
                if phase is not None:
                    raise RuntimeError(f"{name}: {phase}: {obj.get('status')}")
            raise AssertionError("unreachable")

        return self.measure("operator", targets, one, self.api.quiet)

    # the peer

    def stop_operator(self) -> None:
        self.node.kubectl("scale", "-n", NAMESPACE, DEPLOYMENT, "--replicas=0")
        wait_until("the operator's Pod gone", lambda: not operator_pods(self.node), within=120, every=0.5)
        wait_until("no shim left", lambda: not running_shims(self.node.socket), within=60, every=0.5)

    def peer_setup(self) -> None:
        namespace = {
            "metadata": {
                "name": PEER_NAMESPACE,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            }
        }
        self.api.create("/api/v1/namespaces", namespace)
        base = f"/api/v1/namespaces/{PEER_NAMESPACE}"
        self.api.create(
            f"{base}/secrets", {"metadata": {"name": "vector-token"}, "stringData": {"token": VECTOR_TOKEN}}
        )
        self.api.create(
            f"{base}/configmaps",
            {"metadata": {"name": "provider-ca"}, "data": {"ca.crt": self.ca.cert_path.read_text()}},
        )

    def logs(self, job: str) -> str:
        try:
            return self.node.kubectl("logs", "-n", PEER_NAMESPACE, f"job/{job}")
        except NodeError as exc:
            return str(exc)

    def peer(self, targets: list[Scenario]) -> Side:
        self.stop_operator()
        self.peer_setup()
        collection = f"/apis/batch/v1/namespaces/{PEER_NAMESPACE}/jobs"

        def one(index: int, target: Scenario) -> tuple[float, float]:
            name = f"rollback-{index:03d}" if index >= 0 else f"rollback-warmup-{-index}"
            job = peer_job(name, target.rollback_key, self.boxes.url("vector"))
            began = time.time()
            created = self.api.create(collection, job)
            complete: float | None = None
            for kind, obj in self.api.watch(
                collection, name, created["metadata"]["resourceVersion"], within=120
            ):
                if kind == "DELETED":
                    if complete is None:
                        raise RuntimeError(f"job {name} deleted before it completed: {obj.get('status')}")
                    return began, complete
                conditions = {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions", [])}
                if conditions.get("Failed") == "True":
                    raise RuntimeError(f"job {name} failed: {obj.get('status')}\n{self.logs(name)}")
                if complete is None and conditions.get("Complete") == "True":
                    complete = time.time()
            raise AssertionError("unreachable")

        def settle() -> None:
            # the last Pod's sandbox torn down (its shim gone), then the API server quiet
            wait_until("no shim left", lambda: not running_shims(self.node.socket), within=60)
            self.api.quiet()

        return self.measure("peer", targets, one, settle)


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done (then raise KeyboardInterrupt), so that a second
    Ctrl-C cannot leave the node half down. Outside the main thread, signals cannot be caught: a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in kept:
        signal.signal(sig, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt(f"signal {received[0]}, deferred until the node was down")


def run_peer(
    workdir: Path, *, rounds: int = 20, warmup: int = 3, idle_seconds: float = 10.0
) -> dict[str, Any]:
    """Measure the operator and the peer on the node; the node is taken down afterwards, always.

    ``workdir`` receives the test CA, the sandboxes' log and nothing else. Needs root, the node's
    binaries and images (``make controlplane node-build``) and exclusive use of the node tier.
    Returns ``PeerResults`` as a plain dict (``peer_markdown`` renders it).
    """
    began = time.monotonic()
    node = Node()
    node.down()  # whatever a killed run left
    whole = become_subreaper()
    try:
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        say("starting the node")
        node.up()
        results = PeerResults(rounds, warmup, started_at, node.ready_seconds or 0.0, idle_seconds, whole)
        ca = TestCA(workdir / "provider-ca", "provider sandboxes test CA")
        boxes = FrontedSandboxes.start(workdir, ca)
        api = Api(Access.from_kubeconfig(node.kubeconfig))
        try:
            say("installing the operator")
            install(node, allowed_endpoints=boxes.allowed_endpoints(), ca_cert=ca.cert_path)
            world = World(boxes)  # type: ignore[arg-type]  # has the parts World uses
            count = warmup + rounds
            targets = [world.vector(**SCENARIO_ARGS["vector"]) for _ in range(2 * count)]
            world.apply()
            run = Run(node, api, boxes, ca, rounds, warmup, idle_seconds)
            results.operator = run.operator(targets[:count])
            results.peer = run.peer(targets[count:])
            twice = [k for k, n in boxes.rollbacks("vector").items() if n != 1]
            if twice:
                results.notes.append(f"targets not rolled back exactly once: {twice}")
        finally:
            api.close()
            boxes.stop()
        results.load_end = os.getloadavg()
    finally:
        say("taking the node down")
        with uninterrupted():
            node.down()
        reap_shims(node.socket)
        become_subreaper(on=False)
    results.seconds = time.monotonic() - began
    return dataclasses.asdict(results)

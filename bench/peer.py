"""A real peer on the node tier: what a team does without the operator, beside the operator.

``python -m bench.peer`` (``make bench-peer``) brings up the node of tests/node/ (``down()`` first,
and always ``down()`` at the end), serves the provider sandboxes behind the node tier's TLS front on
the bridge address, installs the operator as the node tier does, and then measures two ways of
rolling back one Vector environment, one rollback at a time:

- **operator**: a RollbackRequest per environment (each created once the previous one is Ready),
  handled by the operator's Pod;
- **peer**: a Kubernetes Job per environment (each created once the previous one is Complete and
  gone), whose container (the operator's image, the only one on the node with Python, with its
  command replaced) POSTs ``/api/v1/vector/environments/{env}/rollback`` over https with a Bearer
  token from a Secret and the test CA from a ConfigMap, in a namespace that enforces the
  ``restricted`` Pod Security profile. ``ttlSecondsAfterFinished: 0`` removes each Job when done.
  The operator's Deployment is scaled to zero for this part: a team without the operator runs none.

For each it reports create → rollback received by the sandbox (the driver's clock just before the
create call against the sandbox's arrival time, recorded by ``bench.sandbox``: one machine, one
clock), create → done (``Ready=True`` / ``Complete=True`` seen by the driver's watch), and the CPU
time the node spent over the measured window per rollback, per component (``CpuMeter``), with an
idle reading of the same components just before each window. ``run_peer`` returns it all as a
plain dict; ``peer_markdown`` renders it as a section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import httpx
from tests.node.install import DEPLOYMENT, NAMESPACE, install, operator_pods
from tests.node.node import CGROUP_ROOT, GATEWAY, OPERATOR_IMAGE, Node, NodeError
from tests.node.sandboxes import FRONT_PORTS, NAMES, front_command
from tests.support.scenarios import VECTOR_TOKEN, Scenario, World
from tests.support.tls import TestCA

from bench.context import SCENARIO_ARGS, body
from bench.kubeapi import WRITE_VERBS, Access
from bench.sandbox import RemoteSandboxes
from bench.tracking import finished

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
SERVERS = (
    "kube-apiserver",
    "etcd",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "containerd",
    "kube-proxy",
    "dns",
)
"""The node's processes, by the names of their pid files (tests/node/node.py)."""
SHIMS = "containerd shims"
PODS = "Pods"
COMPONENTS = (*SERVERS, SHIMS, PODS)
PEER_NAMESPACE = "rollback-peer"
CA_DIR = "/etc/provider-ca"
PEER_SCRIPT = f"""\
import os, ssl, urllib.request
url = os.environ["VECTOR_URL"] + "/api/v1/vector/environments/" + os.environ["ENVIRONMENT"] + "/rollback"
request = urllib.request.Request(url, data=b"{{}}", method="POST", headers={{
    "Authorization": "Bearer " + os.environ["VECTOR_TOKEN"],
    "Content-Type": "application/json", "Accept": "application/json"}})
context = ssl.create_default_context(cafile="{CA_DIR}/ca.crt")
with urllib.request.urlopen(request, context=context, timeout=30) as response:
    print(response.status, response.read().decode())
"""
"""The Job's container: the rollback call as a team would write it (urllib: the image's Python, no
dependencies beyond the standard library). A refusal raises, the container fails, the Job fails."""
_METRIC = re.compile(r"^apiserver_request_total\{([^}]*)\} (\S+)$")
_VERB = re.compile(r'verb="([A-Z]+)"')


def _say(message: str) -> None:
    print(f"[bench.peer {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- pure parts --------------------------------------------------------------------------------------


def summary(seconds: list[float]) -> dict[str, float]:
    """p50, p95 (inclusive method) and max of ``seconds``, in milliseconds."""
    if len(seconds) < 2:
        only = seconds[0] * 1000 if seconds else float("nan")
        return {"p50": only, "p95": only, "max": only}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "max": max(seconds) * 1000}


@dataclass(frozen=True)
class Stat:
    """What the driver reads of a ``/proc/<pid>/stat`` line."""

    state: str
    ppid: int
    ticks: int
    """utime + stime + cutime + cstime, in clock ticks: the process's own CPU time and that of the
    children it waited for (runc under a shim, the CNI plugins under containerd, iptables-restore
    under kube-proxy, mount under the kubelet)."""
    started: int
    """Start time after boot, in clock ticks: with the pid, names one process for good."""

    @classmethod
    def parse(cls, line: str) -> Stat:
        fields = line.rpartition(")")[2].split()  # fields[0] is field 3 (state): utime is field 14
        return cls(fields[0], int(fields[1]), sum(int(value) for value in fields[11:15]), int(fields[19]))


def cgroup_usage_ns(directory: Path) -> int:
    """CPU time used by every process that ever ran in the cgroup ``directory`` or below, in ns:
    ``cpuacct.usage`` (v1, hierarchical) or ``usage_usec`` of ``cpu.stat`` (v2)."""
    usage = directory / "cpuacct.usage"
    if usage.exists():
        return int(usage.read_text())
    return cpu_stat_usec((directory / "cpu.stat").read_text()) * 1000


def cpu_stat_usec(text: str) -> int:
    """``usage_usec`` from a cgroup v2 ``cpu.stat``."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value)
    raise ValueError(f"no usage_usec in cpu.stat: {text!r}")


def pods_cgroup(root: Path = CGROUP_ROOT) -> Path:
    """The kubelet's cgroup for all Pods (cgroupfs driver: ``kubepods``), in the hierarchy that
    accounts CPU: cgroup v1's cpuacct controller (mounted alone or with cpu), else cgroup v2."""
    for controller in ("cpuacct", "cpu,cpuacct", "cpuacct,cpu", ""):
        for top in ("kubepods", "kubepods.slice"):
            candidate = root / controller / top if controller else root / top
            if (candidate / "cpuacct.usage").exists() or (candidate / "cpu.stat").exists():
                return candidate
    raise RuntimeError(f"no kubepods cgroup with CPU accounting under {root}")


def first_rollbacks(arrivals: list[tuple[float, str]], since: float) -> dict[str, float]:
    """Vector environment id → when its first rollback POST at or after ``since`` arrived."""
    first: dict[str, float] = {}
    for moment, path in sorted(arrivals):
        parts = path.rstrip("/").split("/")
        if moment >= since and parts[-1] == "rollback" and len(parts) >= 2:
            first.setdefault(parts[-2], moment)
    return first


def write_requests(metrics: str) -> int:
    """Write requests the API server has served so far, from its ``/metrics`` text."""
    total = 0
    for line in metrics.splitlines():
        match = _METRIC.match(line)
        if match:
            verb = _VERB.search(match.group(1))
            if verb and verb.group(1) in WRITE_VERBS:
                total += int(float(match.group(2)))
    return total


# -- CPU ---------------------------------------------------------------------------------------------


def server_pid(node: Node, name: str) -> int:
    """The pid of one of the node's processes, from its pid file (pid, then the binary it runs)."""
    pid, binary = (node.run_dir / f"{name}.pid").read_text().split("\n")[:2]
    argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    if argv0 != binary:
        raise RuntimeError(f"{name}: pid {pid} runs {argv0}, not {binary}")
    return int(pid)


def process_ticks(pid: int) -> int:
    return Stat.parse(Path(f"/proc/{pid}/stat").read_text()).ticks


def become_subreaper(on: bool = True) -> bool:
    """Make this process the reaper of its orphaned descendants (``PR_SET_CHILD_SUBREAPER``): the
    shims containerd starts (containerd is a child of this process) are then re-parented here when
    they detach, and each one that exits stays a zombie, its CPU time readable, until reaped."""
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0)


def is_shim(argv: list[bytes], socket_path: Path) -> bool:
    """Whether ``argv`` is a running shim of the containerd at ``socket_path``: not one of the short
    ``start`` and ``delete`` calls containerd makes of the same binary and waits for itself."""
    return (
        bool(argv)
        and Path(argv[0].decode(errors="replace")).name.startswith("containerd-shim")
        and str(socket_path).encode() in argv
        and argv[-1] not in (b"start", b"delete")
    )


def shims(socket_path: Path) -> dict[tuple[int, int], Stat]:
    """The node's containerd shims, running or exited and not yet reaped by this process, by (pid,
    start time)."""
    found: dict[tuple[int, int], Stat] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (entry / "comm").read_text().strip() != "containerd-shim":
                continue
            stat = Stat.parse((entry / "stat").read_text())
            if stat.state == "Z":  # its command line is gone; it is a shim if it was re-parented here
                if stat.ppid != os.getpid():
                    continue
            elif not is_shim((entry / "cmdline").read_bytes().rstrip(b"\0").split(b"\0"), socket_path):
                continue
            found[(int(entry.name), stat.started)] = stat
    return found


def running_shims(socket_path: Path) -> list[int]:
    return [pid for (pid, _), stat in shims(socket_path).items() if stat.state != "Z"]


def reap_shims(socket_path: Path) -> None:
    """Reap the exited shims that were re-parented to this process."""
    for (pid, _), stat in shims(socket_path).items():
        if stat.state == "Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


class CpuMeter:
    """CPU time the node's parts use between ``start()`` and ``stop()``, per component, in seconds.

    The servers: utime + stime of the process and of the children it waited for (``/proc``). The
    shims: each one's own time and its ``runc`` calls', read at both ends and every ``interval``
    seconds between; with this process as their subreaper (``become_subreaper``) a shim that exited
    is still readable as a zombie, so the reading is whole; without, a shim's last moments before it
    exits (under ``interval``) are missed. The Pods: the kubelet's ``kubepods`` cgroup, which
    accounts every container of every Pod (the pause containers included), even of Pods removed.
    """

    def __init__(self, node: Node, *, extra: dict[str, int] | None = None, interval: float = 0.1) -> None:
        self.node, self.interval = node, interval
        self.pids = {name: server_pid(node, name) for name in SERVERS}
        self.extra = extra or {}
        self.pods = pods_cgroup()
        self._before: dict[str, float] = {}
        self._shims_before: dict[tuple[int, int], int] = {}
        self._shims_last: dict[tuple[int, int], int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.began = 0.0
        self.exited = 0
        """Shims that ran in the window and exited before its end."""

    def _servers(self) -> dict[str, float]:
        readings = {
            name: process_ticks(pid) / CLOCK_TICKS for name, pid in {**self.pids, **self.extra}.items()
        }
        readings[PODS] = cgroup_usage_ns(self.pods) / 1e9
        return readings

    def _sample(self) -> dict[tuple[int, int], Stat]:
        now = shims(self.node.socket)
        self._shims_last.update({key: stat.ticks for key, stat in now.items()})
        return now

    def _follow(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> CpuMeter:
        self._shims_before = {key: stat.ticks for key, stat in shims(self.node.socket).items()}
        self._shims_last = dict(self._shims_before)
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="shims", daemon=True)
        self._thread.start()
        self.began = time.monotonic()
        self._before = self._servers()
        return self

    def stop(self) -> tuple[dict[str, float], float]:
        """CPU seconds per component since ``start()``, and the seconds that passed."""
        after = self._servers()
        seconds = time.monotonic() - self.began
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        now = self._sample()
        running = {key for key, stat in now.items() if stat.state != "Z"}
        self.exited = len(set(self._shims_last) - set(self._shims_before) - running)
        used = {name: after[name] - self._before[name] for name in after}
        used[SHIMS] = (sum(self._shims_last.values()) - sum(self._shims_before.values())) / CLOCK_TICKS
        return used, seconds


# -- the API server, over plain HTTPS ------------------------------------------------------------------


class Api:
    """What the driver asks the API server: create, watch one object, count writes (/metrics)."""

    def __init__(self, access: Access) -> None:
        self.http = httpx.Client(
            base_url=access.server,
            verify=ssl.create_default_context(cafile=access.ca_file),
            headers={"Authorization": f"Bearer {access.token}"},
            timeout=httpx.Timeout(30, read=None),
        )

    def close(self) -> None:
        self.http.close()

    def create(self, collection: str, document: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(collection, json=document)
        if response.status_code >= 400:
            raise RuntimeError(f"POST {collection}: {response.status_code} {response.text}")
        created: dict[str, Any] = response.json()
        return created

    def watch(
        self, collection: str, name: str, resource_version: str, *, within: float
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event type, object) of one object after ``resource_version``, for ``within`` seconds."""
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            params = {
                "watch": "1",
                "fieldSelector": f"metadata.name={name}",
                "resourceVersion": resource_version,
                "timeoutSeconds": str(max(1, int(left))),
                "allowWatchBookmarks": "false",
            }
            with self.http.stream("GET", collection, params=params) as response:
                if response.status_code >= 400:
                    raise RuntimeError(f"watch {collection}: {response.status_code} {response.read()!r}")
                for line in response.iter_lines():
                    if not line:
                        continue
                    event = json.loads(line)
                    obj: dict[str, Any] = event["object"]
                    if event["type"] == "ERROR":
                        raise RuntimeError(f"watch {collection}/{name}: {obj}")
                    resource_version = obj["metadata"]["resourceVersion"]
                    yield event["type"], obj
        raise TimeoutError(f"{collection}/{name}: nothing conclusive within {within:.0f}s")

    def writes(self) -> int:
        response = self.http.get("/metrics")
        response.raise_for_status()
        return write_requests(response.text)

    def quiet(self, seconds: float = 1.0, *, within: float = 60) -> None:
        """Until the API server has served no write for ``seconds`` (earlier work has settled)."""
        deadline = time.monotonic() + within
        last = self.writes()
        while time.monotonic() < deadline:
            time.sleep(seconds)  # the length of the quiet window, not a wait for something
            now = self.writes()
            if now == last:
                return
            last = now
        raise TimeoutError(f"the API server was not quiet for {seconds}s within {within}s")


def wait_until(what: str, condition: Callable[[], bool], *, within: float, every: float = 0.1) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f}s waiting for {what}")
        time.sleep(every)


# -- the sandboxes behind the TLS front ------------------------------------------------------------------


@dataclass
class FrontedSandboxes:
    """``bench.sandbox``'s child (which records when each request arrives) behind the node tier's TLS
    front on the bridge address: what ``World`` seeds, and the URLs the Pods reach."""

    boxes: RemoteSandboxes
    front: subprocess.Popen[bytes]

    @classmethod
    def start(cls, workdir: Path, ca: TestCA) -> FrontedSandboxes:
        log_path = workdir / "sandboxes.log"
        boxes = RemoteSandboxes.start(log_path)
        certificate = ca.issue("sandboxes", hosts=[GATEWAY])
        routes = [f"{GATEWAY}:{FRONT_PORTS[name]}={urlsplit(boxes.url(name)).port}" for name in NAMES]
        with log_path.open("ab") as log:
            front = subprocess.Popen(front_command(certificate, routes), stdout=log, stderr=subprocess.STDOUT)
        started = cls(boxes, front)
        try:
            wait_until("the TLS front", started._answering, within=30)
        except BaseException:
            started.stop()
            raise
        return started

    def _answering(self) -> bool:
        if self.front.poll() is not None:
            raise RuntimeError(f"the TLS front exited with {self.front.returncode}")
        try:
            for name in NAMES:
                socket.create_connection((GATEWAY, FRONT_PORTS[name]), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.front.poll() is None:
            self.front.terminate()
        try:
            self.front.wait(10)
        except subprocess.TimeoutExpired:
            self.front.kill()
            self.front.wait(10)
        self.boxes.stop()

    def url(self, name: str) -> str:
        return f"https://{GATEWAY}:{FRONT_PORTS[name]}"

    def allowed_endpoints(self) -> list[str]:
        return [self.url(name) for name in NAMES]

    def read(self, name: str, fn: Callable[[Any], Any]) -> Any:
        return self.boxes.read(name, fn)

    def rollbacks(self, name: str) -> dict[str, int]:
        return self.boxes.rollbacks(name)

    def pids(self) -> dict[str, int]:
        return {"sandboxes": self.boxes.proc.pid, "TLS front": self.front.pid}


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
        _say(f"{name}: {self.rounds} rollbacks (load {load[0]:.2f})")
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


def peer_job(name: str, environment: str, vector_url: str) -> dict[str, Any]:
    """A Job that rolls ``environment`` back with one POST, under the ``restricted`` profile."""
    container = {
        "name": "rollback",
        "image": OPERATOR_IMAGE,
        "imagePullPolicy": "Never",
        "command": ["python3", "-c", PEER_SCRIPT],
        "env": [
            {"name": "VECTOR_URL", "value": vector_url},
            {"name": "ENVIRONMENT", "value": environment},
            {
                "name": "VECTOR_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "vector-token", "key": "token"}},
            },
        ],
        "volumeMounts": [{"name": "provider-ca", "mountPath": CA_DIR, "readOnly": True}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
    }
    pod = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "provider-ca", "configMap": {"name": "provider-ca"}}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 0, "template": {"spec": pod}},
    }


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
        _say("starting the node")
        node.up()
        results = PeerResults(rounds, warmup, started_at, node.ready_seconds or 0.0, idle_seconds, whole)
        ca = TestCA(workdir / "provider-ca", "provider sandboxes test CA")
        boxes = FrontedSandboxes.start(workdir, ca)
        api = Api(Access.from_kubeconfig(node.kubeconfig))
        try:
            _say("installing the operator")
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
        _say("taking the node down")
        with uninterrupted():
            node.down()
        reap_shims(node.socket)
        become_subreaper(on=False)
    results.seconds = time.monotonic() - began
    return dataclasses.asdict(results)


# -- the report -----------------------------------------------------------------------------------------

LABELS = {
    "kube-apiserver": "kube-apiserver",
    "etcd": "etcd",
    "kube-controller-manager": "kube-controller-manager",
    "kube-scheduler": "kube-scheduler",
    "kubelet": "kubelet",
    "containerd": "containerd (+ CNI plugins)",
    SHIMS: "containerd shims (+ runc)",
    "kube-proxy": "kube-proxy",
    "dns": "cluster DNS",
    PODS: "the Pods: the operator's / the Jobs' (kubepods cgroup)",
}


def _ratio(operator: float, peer: float) -> str:
    return f"{peer / operator:.1f}x" if operator > 0 else "-"


def _rows(results: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(label, operator, peer, format) per line of the report; the components' labels start with "-"."""
    operator, peer = results["operator"], results["peer"]
    rows = [
        (f"create → {what}, {cut} (ms)", operator[key][cut], peer[key][cut], ".0f")
        for key, what in (("received_ms", "rollback received"), ("done_ms", "done (Ready / Job Complete)"))
        for cut in ("p50", "p95", "max")
    ]
    rows.append(
        (
            "CPU per rollback, the node's parts (ms)",
            operator["cpu_ms"]["total"],
            peer["cpu_ms"]["total"],
            ".0f",
        )
    )
    rows += [
        (f"- {LABELS[name]}", operator["cpu_ms"][name], peer["cpu_ms"][name], ".1f") for name in COMPONENTS
    ]
    rows.append(
        (
            "CPU per rollback above the idle rate (ms)",
            operator["above_idle_ms"]["total"],
            peer["above_idle_ms"]["total"],
            ".0f",
        )
    )
    return rows


def _context(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    operator, peer = results["operator"], results["peer"]
    return [
        ("measured window (s)", f"{operator['window_seconds']:.1f}", f"{peer['window_seconds']:.1f}"),
        (
            "idle rate of the same parts (ms of CPU per s)",
            f"{sum(operator['idle_ms_per_second'].values()):.0f}",
            f"{sum(peer['idle_ms_per_second'].values()):.0f}",
        ),
        (
            "provider side, not in the total: sandboxes + TLS front (ms)",
            f"{sum(operator['provider_cpu_ms'].values()):.1f}",
            f"{sum(peer['provider_cpu_ms'].values()):.1f}",
        ),
        ("1-minute load average as the window began", f"{operator['load'][0]:.2f}", f"{peer['load'][0]:.2f}"),
    ]


def peer_markdown(results: dict[str, Any]) -> str:
    """The section "A real peer: a Job per rollback, on the node" of docs/performance.md."""
    lines = [
        "| per rollback | operator | a Job per rollback | Job / operator |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {label} | {left:{spec}} | {right:{spec}} | {'' if label[0] == '-' else _ratio(left, right)} |"
        for label, left, right, spec in _rows(results)
    ]
    lines += [f"| {label} | {left} | {right} | |" for label, left, right in _context(results)]
    n, warmup = results["rounds"], results["warmup"]
    shims = (
        "the driver is their subreaper, so a shim that exits stays readable to the end of the window"
        if results["shims_whole"]
        else "read every 0.1 s: a shim's last moments before it exits are missed"
    )
    how = f"""\
How it is measured: `python -m bench.peer` (`make bench-peer`) on the node of the node tier
([`node.md`](node.md)), started at {results["node_started_at"]} and Ready in
{results["node_up_seconds"]:.0f} s, with the operator installed from `deploy/` as that tier installs
it and the provider sandboxes behind its TLS front on the bridge. Each side rolls back {n} Vector environments
one at a time, after {warmup} warm-ups: the operator through a RollbackRequest each, created once the
previous one is Ready; the peer through a Job each (the operator's image with its command replaced
by a few lines of Python that POST the rollback with a Bearer token from a Secret and the test CA
from a ConfigMap, under the `restricted` Pod Security profile, `ttlSecondsAfterFinished: 0`),
created once the previous Job is Complete and gone, with the operator's Deployment scaled to zero.
"Rollback received" is the sandbox's clock when the rollback POST arrived, against the driver's
clock just before the create call (one machine, one clock); "done" is when the driver's watch saw
`Ready=True` or `Complete=True`. The peer only fires the call: it neither waits for the provider to
finish nor records anything, where the operator follows the deployment to its end and writes the
outcome to status, a RollbackRecord and Events.

CPU is counted over the measured window (the first create until the last rollback settled: no shim
left for the peer, then no API write for 1 s) and divided by {n}: kube-apiserver, etcd,
kube-controller-manager, kube-scheduler, kubelet, containerd, kube-proxy and the cluster DNS as
utime + stime from `/proc/<pid>/stat`, each with the children it waited for (such as the CNI plugins
under containerd, `iptables-restore` under kube-proxy, `mount` under the kubelet); the containerd shims the
same way, with the `runc` calls they made ({shims}); the Pods from the kubelet's `kubepods` cgroup
(`cpuacct.usage`: every container, the pause containers included, also of Pods already gone): the
operator's Pod, or the Jobs' Pods. The driver (its creates and one watch per object are in the API
server's figure on both sides) and the sandboxes are not in the total. The idle rate is the same
reading over {results["idle_seconds"]:.0f} s with nothing to do, just before each window (the peer's
without the operator's Pod); "above the idle rate" subtracts it over the window. The machine has 2
cores and was shared with other work: load averages are in the table.
"""
    paragraphs = [
        textwrap.fill(" ".join(part.split()), width=100, break_on_hyphens=False) for part in how.split("\n\n")
    ]
    heading = "## A real peer: a Job per rollback, on the node"
    return "\n\n".join([heading, "\n".join(lines), *paragraphs]) + "\n"


def table(results: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    lines = [f"{'per rollback':58} {'operator':>10} {'Job':>10} {'Job/op':>8}"]
    for label, left, right, spec in _rows(results):
        ratio = "" if label[0] == "-" else _ratio(left, right)
        lines.append(f"{label:58} {left:>10{spec}} {right:>10{spec}} {ratio:>8}")
    lines += [f"{label:58} {left:>10} {right:>10}" for label, left, right in _context(results)]
    lines.append(
        f"N={results['rounds']} (+{results['warmup']} warm-ups each); "
        f"node started {results['node_started_at']}, Ready in {results['node_up_seconds']:.1f} s"
    )
    return "\n".join(lines)


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="measured rollbacks per side (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up rollbacks per side (default 3)")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle reading per side")
    parser.add_argument("--output", type=Path, help="also write the results as JSON there")
    parser.add_argument("--markdown", action="store_true", help="print the docs section too")
    parser.add_argument("--keep", action="store_true", help="keep the work directory afterwards")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupted)  # `down()` runs on the way out
    workdir = Path(tempfile.mkdtemp(prefix="rollback-bench-peer-"))
    try:
        results = run_peer(workdir, rounds=args.rounds, warmup=args.warmup, idle_seconds=args.idle)
    except KeyboardInterrupt as exc:
        _say(f"interrupted ({exc}); the node is down")
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(results))
    if args.markdown:
        print("\n" + peer_markdown(results))
    if args.output is not None:
        args.output.write_text(json.dumps(results, indent=1) + "\n")
        _say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

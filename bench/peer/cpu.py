"""CPU time of the node's parts, read from ``/proc`` and the cgroups, per component.

``COMPONENTS`` names what is counted: the node's servers (by their pid files), the containerd shims
and the Pods (the kubelet's ``kubepods`` cgroup). ``CpuMeter`` reads them over a window; the shims
are found in ``/proc`` and, with this process as their subreaper (``become_subreaper``), read whole
even once they exit (``reap_shims`` reaps them after). Used by ``bench.peer.run`` (the measured
windows) and ``bench.peer.report`` (the components' labels).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.node.node import CGROUP_ROOT, Node

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

"""The two subjects of the benchmark as processes, and what the kernel says about them.

``Subject`` starts either the operator (``rollback-operator run`` exactly as a user would, with
its default timing and without debug logging) or the floor for one namespace. ``rss_mb`` and
``cpu_seconds`` read ``/proc``; ``PeakRss`` samples a process in the background. Used by
``bench.phases``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.operator import OperatorProcess

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


RUNTIME_PYTHON = Path(__file__).resolve().parents[1] / ".venv-runtime" / "bin" / "python"
"""The image's dependency set (``make runtime-venv``): what the subjects run with, so that memory is
measured as deployed (the development environment adds test tools and the plugin's client)."""


def runtime_python() -> str:
    if not RUNTIME_PYTHON.exists():
        raise RuntimeError(f"{RUNTIME_PYTHON} is missing: run `make runtime-venv` (make bench does)")
    return str(RUNTIME_PYTHON)


def runtime_environment() -> str:
    """What the subjects ran with, for the document: Python and the installed distributions."""
    probe = (
        "import sys, importlib.metadata as m; "
        "names = sorted({d.metadata['Name'].lower() for d in m.distributions()}); "
        "print(sys.version.split()[0], len(names), ' '.join(n for n in names if 'kubernetes' in n))"
    )
    out = subprocess.run(
        [runtime_python(), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    clients = ", ".join(out[2:]) or "none"
    return (
        f"`.venv-runtime` (the image's dependency set): Python {out[0]}, {out[1]} distributions from "
        f"requirements/runtime.lock and the package; Kubernetes client libraries installed: {clients}"
    )


class QuietOperator(OperatorProcess):
    """The operator as deployed: default timing, INFO logging (the test harness adds --verbose),
    the image's dependency set."""

    def command(self) -> list[str]:
        argv = [arg for arg in super().command() if arg != "--verbose"]
        return [runtime_python(), *argv[1:]]


@dataclass
class Subject:
    """The operator or a floor (``floor``; ``bare`` runs it with ``--bare``), for one namespace at a time."""

    name: str
    env: dict[str, str]
    workdir: Path
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    operator: OperatorProcess | None = None

    @property
    def pid(self) -> int:
        running = self.operator.proc if self.operator else self.proc
        assert running is not None
        return running.pid

    def start(self, namespace: str, *, log_name: str, warm: bool = True) -> float:
        """Start watching ``namespace``; returns the seconds until it was ready (healthy / listed).

        ``warm``: the operator is ready once it has also listed the RollbackRecords' names (its log
        says so), as an operator that has been running has: a measurement of steady work does not
        count the listing only a start pays (the restart phase, which measures a start, says False).
        """
        began = time.monotonic()
        try:
            if self.name == "operator":
                log = self.workdir / log_name
                before = log.stat().st_size if log.exists() else 0  # the log is appended to
                self.operator = QuietOperator(
                    env=self.env,
                    log_path=log,
                    namespaces=[namespace],
                    extra_args=self.extra_args,
                    timing=(),
                )
                self.operator.start()
                if warm:
                    _wait_for_line(log, RECORDS_LISTED, after=before, running=self.operator)
            else:
                self._start_floor(namespace, log_name)
        except BaseException:  # a process that never became ready must not outlive the run
            self.stop()
            raise
        return time.monotonic() - began

    def _start_floor(self, namespace: str, log_name: str) -> None:
        ready = self.workdir / f"{log_name}.ready"
        ready.unlink(missing_ok=True)
        argv = [
            runtime_python(),
            "-m",
            "bench.floor",
            "--kubeconfig",
            self.env["KUBECONFIG"],
            "--namespace",
            namespace,
            "--ready-file",
            str(ready),
            *self.extra_args,
        ]
        with (self.workdir / log_name).open("ab") as log:
            self.proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the floor did not start; see {self.workdir / log_name}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.operator is not None:
            self.operator.stop()
            self.operator = None
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


RECORDS_LISTED = "RollbackRecords listed"
"""What the operator logs once it knows which records exist (``recordnames.py``)."""


def _wait_for_line(
    log: Path, text: str, *, after: int, running: OperatorProcess, timeout: float = 120
) -> None:
    """Until ``text`` is in ``log`` past byte ``after``; the operator's log tail if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        with log.open("rb") as handle:
            handle.seek(after)
            if text.encode() in handle.read():
                return
        if running.proc is None or running.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the operator never logged {text!r}:\n{running.tail()}")
        time.sleep(0.02)


class PeakRss:
    """Samples a process's RSS every ``interval`` seconds while the block runs; ``peak`` in MiB."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mb(self.pid))
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> PeakRss:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.peak = max(self.peak, rss_mb(self.pid))

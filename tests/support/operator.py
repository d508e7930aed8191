"""Runs ``rollback-operator run`` as a real child process, for tests, the demo and benchmarks.

The operator is started exactly as a user would start it (the console script, the current
kubeconfig), with fast timing flags for tests. ``kill()`` sends SIGKILL (the crash tests' tool);
``stop()`` sends SIGTERM and waits. Logs go to a file the tests can read and search.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

FAST_TIMING = (
    "--claim-grace",
    "4",
    "--settle",
    "0.2",
    "--poll-initial",
    "0.1",
    "--poll-max",
    "0.5",
    "--retry-initial",
    "0.1",
    "--retry-max",
    "0.5",
    "--queue-recheck",
    "1",
)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OperatorProcess:
    """One operator process; start it again after a kill to simulate a restart."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        log_path: Path,
        namespaces: Sequence[str] = (),
        extra_args: Sequence[str] = (),
        timing: Sequence[str] = FAST_TIMING,
    ) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.namespaces = list(namespaces)
        self.extra_args = list(extra_args)
        self.timing = list(timing)
        self.proc: subprocess.Popen[bytes] | None = None
        self.health_port = 0
        self.metrics_port = 0
        self.ready_port = 0

    def command(self) -> list[str]:
        scope = [arg for ns in self.namespaces for arg in ("--namespace", ns)] or ["--all-namespaces"]
        ports = [
            "--health-address",
            "127.0.0.1",
            "--health-port",
            str(self.health_port),
            "--metrics-port",
            str(self.metrics_port),
            "--ready-port",
            str(self.ready_port),
        ]
        return [
            sys.executable,
            "-m",
            "rollback_operator.cli",
            "run",
            *scope,
            *ports,
            "--log-format",
            "json",
            "--verbose",
            *self.timing,
            *self.extra_args,  # last, so that a test may choose another log format
        ]

    def start(self, *, wait: bool = True) -> OperatorProcess:
        """Start the process (logs appended); wait until /healthz answers unless told not to.

        A free port can be taken by another process between ``free_port()`` and the bind: an
        operator that exits for that reason is started again on new ports (three attempts).
        """
        for attempt in range(3):
            self.health_port, self.metrics_port, self.ready_port = free_port(), free_port(), free_port()
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    self.command(), env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            if not wait:
                return self
            try:
                self.wait_healthy()
            except RuntimeError:
                if attempt == 2 or "address already in use" not in self.tail():
                    raise
            else:
                return self
        return self

    def wait_healthy(self, timeout: float = 60) -> None:
        """Block until /healthz answers 200, or fail with the log's tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"operator exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"operator not healthy within {timeout}s:\n{self.tail()}")

    def readiness(self) -> tuple[int, str]:
        """``/readyz``: its status code and body."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ready_port}/readyz", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def metrics(self) -> str:
        """The /metrics page as text."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no chance to record anything."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def tail(self, lines: int = 40) -> str:
        """The last lines of the log."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_text(self) -> str:
        """The whole log."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

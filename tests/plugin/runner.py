"""Running the plugin as a real process: ``python -m rollback_operator.plugin``, what the console script runs.

``Plugin.run`` waits for the command and returns its exit code and output; ``Plugin.start`` leaves
it running (for Ctrl-C tests) behind a ``Running`` handle, a context manager whose output lines can
be awaited with a deadline.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("kubectl-rollback")
"""The installed console script, which kubectl finds on PATH (tested through kubectl itself)."""
COMMAND = [sys.executable, "-m", "rollback_operator.plugin"]


@dataclass
class Result:
    """A finished plugin run."""

    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


class Running:
    """A plugin process still running; its stdout is read line by line in the background."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def line(self, timeout: float = 30) -> str:
        """The next stdout line; fails after ``timeout`` seconds or at the end of the output."""
        deadline = time.monotonic() + timeout
        try:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no output line within {timeout}s; so far: {self.seen}") from None
        if line is None:
            raise AssertionError(f"the plugin ended its output; so far: {self.seen}")
        self.seen.append(line)
        return line

    def finish(self, timeout: float = 30) -> Result:
        """Wait for the exit; the rest of stdout and all of stderr."""
        code = self.proc.wait(timeout)
        rest = []
        while (line := self._lines.get(timeout=timeout)) is not None:
            rest.append(line)
        assert self.proc.stderr is not None
        return Result(code, "\n".join(self.seen + rest), self.proc.stderr.read())

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        """Kill the process if a failed test left it running; close its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


class Plugin:
    """The plugin, run with a fixed environment (KUBECONFIG of the test cluster)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)

    def run(self, *args: str, timeout: float = 60, env: Mapping[str, str] | None = None) -> Result:
        """Run to the end."""
        done = subprocess.run(
            [*COMMAND, *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> Running:
        """Start and return at once."""
        proc = subprocess.Popen(
            [*COMMAND, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        return Running(proc)

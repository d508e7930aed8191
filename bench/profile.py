"""Where the operator's CPU goes: one more burst with a sampling profiler attached.

py-spy (a development dependency) samples the running operator from outside (``--nonblocking``: the
process is never paused) while the same burst as the throughput phase runs. Only the event loop's
stacks count (the operator does its work there; the metrics server's thread waits). Each sample is
put in the first part whose marker its stack holds, in this order:

- provider calls: ``ProviderHTTP`` (httpx over aiohttp, reading and checking the answer);
- Events: ``KubeAPI.post_event``;
- Kubernetes calls: ``ApiServer.call`` (the record look, claim and outcome, the status write);
- logging: a ``logging`` frame under an operator frame (two lines per rollback);
- the operator's own logic: any other operator frame below kopf's handler call (models, status,
  records, scheduling);
- kopf: watching and dispatching events, outside the operator's handler;
- the event loop: everything else (sockets, aiohttp's protocol callbacks, timers).

The API server's own CPU profile is taken over the same burst (``bench.serverprofile``).

Called by ``bench.__main__``; ``summarize`` is separate so that a test can feed it stacks.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench.context import Bench
from bench.phases import Throughput, throughput
from bench.procs import Subject
from bench.serverprofile import ServerProfile, capture, read

PARTS = (
    ("provider calls (httpx over aiohttp)", ("ProviderHTTP.",)),
    ("Events (2 per rollback)", ("KubeAPI.post_event",)),
    ("Kubernetes calls (record look, claim, outcome; status)", ("ApiServer.call",)),
)
LOGGING = "logging (2 lines per rollback)"
OPERATOR = "the operator's own logic (models, status, records, scheduling)"
KOPF = "kopf: watching and dispatching events"
LOOP = "the event loop: sockets, aiohttp's callbacks, timers"
ORDER = (*(name for name, _ in PARTS), LOGGING, OPERATOR, KOPF, LOOP)


@dataclass
class Profile:
    samples: int
    """Event-loop samples taken during the burst."""
    shares: dict[str, float] = field(default_factory=dict)
    """Part → share of the event loop's samples (0..1), in ``ORDER``."""
    cpu_ms: float = 0.0
    """CPU per rollback in the profiled burst (the profiler adds a little)."""
    burst: Throughput | None = None
    server: ServerProfile | None = None
    """The API server's own CPU profile over the same burst (``bench.serverprofile``)."""


def _part(frames: list[str]) -> str:
    """The part one event-loop sample belongs to (``frames``: from the loop's callback down)."""
    stack = ";".join(frames)
    for name, markers in PARTS:
        if any(marker in stack for marker in markers):
            return name
    ours = [i for i, frame in enumerate(frames) if "(rollback_operator/" in frame]
    if ours:
        return LOGGING if any("(logging/" in frame for frame in frames[ours[-1] :]) else OPERATOR
    if any("(kopf/" in frame for frame in frames):
        return KOPF
    return LOOP


def summarize(lines: Iterable[str]) -> tuple[int, dict[str, float]]:
    """py-spy's raw output (``frame;frame;... count`` per line) → event-loop samples and shares."""
    counts: Counter[str] = Counter()
    for line in lines:
        stack, _, number = line.rstrip().rpartition(" ")
        frames = stack.split(";")
        loop = [i for i, frame in enumerate(frames) if "Handle._run" in frame]
        if not number.isdigit() or not loop:
            continue  # not the event loop: the metrics server's thread, idle threads
        counts[_part(frames[loop[-1] + 1 :])] += int(number)
    total = sum(counts.values())
    return total, {name: counts[name] / total for name in ORDER} if total else {}


def spy() -> str | None:
    """The py-spy command, when installed (``make venv`` installs it)."""
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return found if Path(found).exists() else None


async def profile(bench: Bench, subject: Subject, workdir: Path, *, server_seconds: int) -> Profile | None:
    """The throughput burst once more, sampled; None when py-spy is missing or cannot attach.

    The API server is profiled too, for ``server_seconds`` from the subject's start (a little less
    than a burst lasts, so that the profile holds the burst and nothing after it).
    """
    command = spy()
    if command is None:
        return None
    output, server_output = workdir / "profile.txt", workdir / "kube-apiserver.pprof"
    attached: list[subprocess.Popen[bytes]] = []
    capturing: list[asyncio.Task[bool]] = []
    start = subject.start

    def start_and_attach(namespace: str, *, log_name: str, warm: bool = True) -> float:
        seconds = start(namespace, log_name=log_name, warm=warm)
        argv = [command, "record", "--pid", str(subject.pid), "--rate", "200", "--nonblocking"]
        argv += ["--format", "raw", "--output", str(output)]
        with (workdir / "py-spy.log").open("ab") as log:
            attached.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
        capturing.append(asyncio.ensure_future(capture(bench, server_seconds, server_output)))
        return seconds

    subject.start = start_and_attach  # type: ignore[method-assign]
    try:
        burst = await throughput(bench, subject)
    finally:
        subject.start = start  # type: ignore[method-assign]
        for proc in attached:  # the operator has stopped; py-spy writes what it sampled on SIGINT
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            await asyncio.to_thread(proc.wait, 30)
        answers = await asyncio.gather(*capturing, return_exceptions=True)
        captured = bool(answers) and all(answer is True for answer in answers)
    if not output.exists():
        return None
    samples, shares = summarize(output.read_text().splitlines())
    server_ms = burst.server_cpu_seconds.get("kube-apiserver", 0.0) * 1000 / burst.count
    server = read(server_output, cpu_ms=server_ms) if captured else None
    return Profile(samples, shares, burst.cpu_seconds * 1000 / burst.count, burst, server)

"""Starting and stopping the server processes of a local control plane, and finding them again by pid
file from another process. Used only by `tests.support.controlplane.plane`.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

STOP_GRACE = 10.0
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def spawn(argv: list[str], *, log_path: Path, die_with_parent: bool) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session with output appended to `log_path`.

    Its own session keeps a terminal's Ctrl-C away from the servers, so that teardown stops them in
    order. With `die_with_parent` the kernel SIGKILLs the server when the calling process dies.
    """
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_parent_death_hook() if die_with_parent else None,
        )


def terminate(pid: int, child: subprocess.Popen[bytes] | None = None, *, grace: float = STOP_GRACE) -> None:
    """SIGTERM the process group of `pid`, give it `grace` seconds, then SIGKILL it.

    Pass `child` when the process is ours, so that it is reaped instead of left as a zombie.
    """
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, STOP_GRACE)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if (child.poll() is not None) if child is not None else not alive(pid):
                return
            time.sleep(0.05)
    log.warning("process %d survived SIGKILL for %.0fs", pid, STOP_GRACE)


def running_pid(pid_file: Path, binary: Path) -> int | None:
    """The pid in `pid_file` if that process is alive and still runs `binary` (pids get reused)."""
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return None
    return pid if argv0 == bytes(binary) and alive(pid) else None


def alive(pid: int) -> bool:
    """True while `pid` runs; a zombie counts as gone (its parent, not us, has to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _parent_death_hook() -> Callable[[], None]:
    """A preexec_fn asking the kernel to SIGKILL the child when this process dies."""
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the child only makes a syscall

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return hook

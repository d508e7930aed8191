"""The provider sandboxes in a child process, and a handle on them that ``World`` can seed.

In the benchmark the sandboxes run in their own process (``python -m bench.sandbox``), so that
their CPU time never competes with the driver's for one interpreter lock. Each sandbox also
records the wall-clock arrival time of every API request (``GET /_bench/arrivals``): latency is
measured up to the moment the rollback reached the provider. ``RemoteSandboxes`` speaks to the
child over the sandboxes' own control API and offers the methods ``tests.support.scenarios.World``
uses (``url``, ``read`` with a state that can ``seed``, ``rollbacks``). Used by ``bench.phases``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from rollback_sandbox.common import Faults
from rollback_sandbox.serve import KINDS, Sandboxes

ARRIVALS = "/_bench/arrivals"
Handler = Callable[[web.Request], Any]


def _recorder(arrivals: list[tuple[float, str]]) -> Any:
    """A middleware noting when each API request arrived, before anything else happens to it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == ARRIVALS:
            return web.json_response(arrivals)
        if not request.path.startswith("/_sandbox/"):
            arrivals.append((time.time(), request.path))
        response: web.StreamResponse = await handler(request)
        return response

    return middleware


async def _serve() -> None:
    boxes = Sandboxes(seed=False)
    for server in boxes.servers.values():  # the outermost middleware: before injected faults
        server.app.middlewares.insert(0, _recorder([]))
    await boxes.start()
    print(json.dumps({name: boxes.url(name) for name in KINDS}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The parent holds our stdin open; end-of-file means it is gone, however it went.
    loop.add_reader(sys.stdin.fileno(), lambda: None if os.read(sys.stdin.fileno(), 1024) else stop.set())
    await stop.wait()
    await boxes.stop()


class _RemoteState:
    """What ``World.apply`` and fault-setting code touch of a sandbox state, over HTTP."""

    def __init__(self, http: httpx.Client, url: str) -> None:
        self._http, self._url = http, url

    def seed(self, document: dict[str, Any]) -> None:
        self._http.post(f"{self._url}/_sandbox/seed", json=document).raise_for_status()

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "faults":
            self._http.post(f"{self._url}/_sandbox/faults", json=asdict(value)).raise_for_status()
        else:
            super().__setattr__(name, value)


class RemoteSandboxes:
    """The three sandboxes served by a child process."""

    def __init__(self, proc: subprocess.Popen[bytes], urls: dict[str, str]) -> None:
        self.proc, self.urls = proc, urls
        self.http = httpx.Client(timeout=60)

    @classmethod
    def start(cls, log_path: Path) -> RemoteSandboxes:
        """Start the child and wait for the line with its URLs."""
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.sandbox"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox process exited with {proc.wait()}; see {log_path}")
        return cls(proc, json.loads(line))

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)

    def url(self, name: str) -> str:
        return self.urls[name]

    def allowed_endpoints(self) -> list[str]:
        return list(self.urls.values())

    def read(self, name: str, fn: Callable[[Any], Any]) -> Any:
        """``fn`` applied to a remote stand-in of the sandbox state (seeding, faults)."""
        return fn(_RemoteState(self.http, self.urls[name]))

    def _get(self, name: str, path: str) -> Any:
        response = self.http.get(self.urls[name] + path)
        response.raise_for_status()
        return response.json()

    def rollbacks(self, name: str) -> dict[str, int]:
        """Rollbacks performed per target."""
        return dict(self._get(name, "/_sandbox/rollbacks"))

    def requests(self, name: str) -> dict[str, int]:
        """API requests served per route."""
        return dict(self._get(name, "/_sandbox/state")["requests"])

    def arrivals(self, name: str) -> list[tuple[float, str]]:
        """(wall-clock time, path) of every API POST so far."""
        return [(float(t), str(p)) for t, p in self._get(name, ARRIVALS)]

    def reset(self) -> None:
        """Forget every seed, counter and fault (arrivals are kept)."""
        for url in self.urls.values():
            self.http.post(f"{url}/_sandbox/reset").raise_for_status()

    def faults(self, name: str, faults: Faults) -> None:
        self.read(name, lambda state: setattr(state, "faults", faults))


if __name__ == "__main__":
    asyncio.run(_serve())
    sys.exit(0)

"""The three provider sandboxes where the node's Pods reach them: over TLS, on the node's bridge.

The sandboxes run on this machine as ``rollback-operator sandbox`` (plain http on loopback, where the
test seeds and counts them through their control API, ``/_sandbox/...``); a TLS front per sandbox,
bound to the bridge's address, forwards to it with a certificate from a test CA. Provider URLs in a
RollbackRequest must be https off loopback, and the operator trusts the test CA only through its
CA-bundle setting: the tier exercises that setting as users rely on it. ``NodeSandboxes`` has the
parts of ``Sandboxes`` that ``tests.support.scenarios.World`` uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from tests.support.operator import free_port
from tests.support.tls import TestCA

NAMES = ("facets", "vector", "yandex")


class _Seeder:
    """What ``World.apply`` calls ``seed`` on."""

    def __init__(self, sandboxes: NodeSandboxes, name: str) -> None:
        self.sandboxes, self.name = sandboxes, name

    def seed(self, data: dict[str, Any]) -> None:
        self.sandboxes.control(self.name, "seed", body=data)


class NodeSandboxes:
    """The sandboxes process and its TLS fronts; ``start()``, then ``stop()``."""

    def __init__(self, *, listen: str, ca: TestCA, log_path: Path) -> None:
        self.listen = listen
        self.ports = {name: free_port() for name in NAMES}  # plain http, loopback
        self.front_ports = dict(zip(NAMES, (8701, 8702, 8703), strict=True))  # https, the bridge
        self.certificate = ca.issue("sandboxes", hosts=[listen])
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-fronts", daemon=True)
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.Task[object]] = set()

    def url(self, name: str) -> str:
        return f"https://{self.listen}:{self.front_ports[name]}"

    def allowed_endpoints(self) -> list[str]:
        return [self.url(name) for name in NAMES]

    def read(self, name: str, fn: Callable[[Any], Any]) -> Any:
        return fn(_Seeder(self, name))

    def rollbacks(self, name: str) -> dict[str, int]:
        counts: dict[str, int] = self.control(name, "rollbacks")
        return counts

    def control(self, name: str, route: str, *, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.ports[name]}/_sandbox/{route}",
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.load(response)

    def start(self) -> NodeSandboxes:
        ports = [f"--{name}-port={port}" for name, port in self.ports.items()]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "rollback_operator.cli", "sandbox", "--host", "127.0.0.1", *ports],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                for name in NAMES:
                    self.control(name, "state")
                break
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandboxes did not start: {self.log_path.read_text()}") from None
                time.sleep(0.1)
        self._thread.start()
        future: Future[None] = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        future.result(10)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(10)

    async def _serve(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate.cert, self.certificate.key)
        for name in NAMES:
            backend = self.ports[name]

            async def forward(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int = backend
            ) -> None:
                task = asyncio.current_task()
                assert task is not None
                self._connections.add(task)
                try:
                    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    writer.close()
                    return
                try:
                    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
                finally:
                    for side in (writer, up_writer):
                        side.close()
                    self._connections.discard(task)

            server = await asyncio.start_server(forward, self.listen, self.front_ports[name], ssl=context)
            self._servers.append(server)

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._connections):  # their `finally` closes both sides
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await asyncio.sleep(0.1)  # let the closed transports finish closing


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            writer.close()

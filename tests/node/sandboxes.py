"""The three provider sandboxes where the node's Pods reach them: over TLS, on the node's bridge.

The sandboxes run on this machine as ``rollback-operator sandbox`` (plain http on loopback, where the
test seeds and counts them through their control API, ``/_sandbox/...``); a TLS front per sandbox
(tests/node/tlsfront.py), bound to the bridge's address, forwards to it with a certificate from a
test CA. Provider URLs in a RollbackRequest must be https off loopback, and the operator trusts the
test CA only through its CA-bundle setting: the tier exercises that setting as users rely on it.
``NodeSandboxes`` has the parts of ``Sandboxes`` that ``tests.support.scenarios.World`` uses.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.operator import free_port
from tests.support.tls import ServerCertificate, TestCA

NAMES = ("facets", "vector", "yandex")
FRONT_PORTS = dict(zip(NAMES, (8701, 8702, 8703), strict=True))  # https, on the bridge


def front_command(certificate: ServerCertificate, routes: list[str]) -> list[str]:
    """The TLS front's command line: each ``HOST:PORT=BACKEND_PORT`` route, with ``certificate``."""
    return [
        sys.executable,
        "-m",
        "tests.node.tlsfront",
        "--cert",
        str(certificate.cert),
        "--key",
        str(certificate.key),
        *routes,
    ]


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
        self.front_ports = dict(FRONT_PORTS)
        self.certificate = ca.issue("sandboxes", hosts=[listen])
        self.log_path = log_path
        self._procs: list[subprocess.Popen[bytes]] = []

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
        sandbox = [sys.executable, "-m", "rollback_operator.cli", "sandbox", "--host", "127.0.0.1"]
        routes = [f"{self.listen}:{self.front_ports[name]}={self.ports[name]}" for name in NAMES]
        with self.log_path.open("ab") as log:
            self._procs = [
                subprocess.Popen(
                    [*sandbox, "--scheme", "https", *ports],  # clients reach it through the TLS front
                    stdout=log,
                    stderr=subprocess.STDOUT,
                ),
                subprocess.Popen(
                    front_command(self.certificate, routes),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                ),
            ]
        deadline = time.monotonic() + 30
        while not self._answering():
            if any(proc.poll() is not None for proc in self._procs) or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandboxes did not start: {self.log_path.read_text()}")
            time.sleep(0.1)
        return self

    def _answering(self) -> bool:
        """Each sandbox answers on loopback, and each TLS front accepts connections."""
        try:
            for name in NAMES:
                self.control(name, "state")
                socket.create_connection((self.listen, self.front_ports[name]), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

"""The driver's handles on the node: its API server, and the provider sandboxes behind the TLS front.

``Api`` is what the driver asks the API server over plain HTTPS: create, watch one object, count
the writes it has served (``/metrics``, read by ``write_requests``). ``FrontedSandboxes`` runs
``bench.sandbox``'s child behind the node tier's TLS front on the bridge address, where the Pods
reach it, and offers what ``World`` uses to seed it. ``wait_until`` polls a condition. Used by
``bench.peer.run``.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from tests.node.node import GATEWAY
from tests.node.sandboxes import FRONT_PORTS, NAMES, front_command
from tests.support.tls import TestCA

from bench.kubeapi import WRITE_VERBS, Access
from bench.sandbox import RemoteSandboxes

_METRIC = re.compile(r"^apiserver_request_total\{([^}]*)\} (\S+)$")
_VERB = re.compile(r'verb="([A-Z]+)"')


# -- the API server, over plain HTTPS ------------------------------------------------------------------


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

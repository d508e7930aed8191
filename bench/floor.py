"""The floor: the least work any operator must do per request, measured as a baseline.

A plain async watcher over one namespace. For each new RollbackRequest (no phase yet) it sends
one rollback POST to the Vector API named in the spec and then writes status once (``Ready=True``).
Nothing else: no target resolution, no claim, no polling, no Events, no retries, no Secret read
(the token comes from the environment). It shares the operator's control plane and sandbox in the
same benchmark run, so every operator figure is also a ratio to this one.

    BENCH_VECTOR_TOKEN=... python -m bench.floor --kubeconfig PATH --namespace NS --ready-file PATH
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.kubeapi import Access, Kube

IN_FLIGHT = 32
"""Requests handled at once. A bounded pool keeps the HTTP client cheap (see ``bench.kubeapi.Kube``)."""


def _ready_status(generation: int, message: str) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    ready = {"type": "Ready", "status": "True", "reason": "RollbackSucceeded", "message": message,
             "lastTransitionTime": now, "observedGeneration": generation}  # fmt: skip
    return {"phase": "Succeeded", "observedGeneration": generation, "message": message, "conditions": [ready]}


class Floor:
    """Rolls back once per new request and writes status once."""

    def __init__(self, kube: Kube, vector: httpx.AsyncClient, namespace: str) -> None:
        self.kube, self.vector, self.namespace = kube, vector, namespace
        self.seen: set[str] = set()
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.tasks: set[asyncio.Task[None]] = set()

    def offer(self, obj: dict[str, Any]) -> None:
        """Start work on a request not seen before and not yet handled."""
        meta = obj["metadata"]
        if meta["uid"] in self.seen or (obj.get("status") or {}).get("phase"):
            return
        self.seen.add(meta["uid"])
        task = asyncio.create_task(self.handle(obj))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def handle(self, obj: dict[str, Any]) -> None:
        async with self.slots:
            await self._rollback(obj)

    async def _rollback(self, obj: dict[str, Any]) -> None:
        block = obj["spec"]["provider"]["vector"]
        url = f"{block['apiURL']}/api/v1/vector/environments/{block['environmentId']}/rollback"
        response = await self.vector.post(url, json={})
        response.raise_for_status()
        deployment = response.json()["data"]["id"]
        status = _ready_status(obj["metadata"]["generation"], f"rollback {deployment} triggered")
        await self.kube.patch_status(self.namespace, obj["metadata"]["name"], status)

    async def run(self, ready_file: Path) -> None:
        """Follow the namespace forever; ``ready_file`` appears once the first list was read."""
        async for _, obj in self.kube.follow(self.namespace, listed=lambda: ready_file.write_text("ready\n")):
            self.offer(obj)


async def main(args: argparse.Namespace) -> None:
    kube = Kube(Access.from_kubeconfig(args.kubeconfig), connections=IN_FLIGHT)
    headers = {"Authorization": f"Bearer {os.environ['BENCH_VECTOR_TOKEN']}", "Accept": "application/json"}
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as vector:
        await Floor(kube, vector, args.namespace).run(args.ready_file)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    asyncio.run(main(parser.parse_args()))

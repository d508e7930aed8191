"""The floor: the least work any operator must do per request, measured as a baseline.

A plain async watcher over one namespace. For each new RollbackRequest (no phase yet) it sends
one rollback POST to the Vector API named in the spec and then writes status once (``Ready=True``).
Nothing else: no target resolution, no claim (unless ``--claim``), no polling, no Events, no
retries, no Secret read (the token comes from the environment). It shares the operator's control
plane and sandbox in the same benchmark run, so every operator figure is also a ratio to this one.

By default it uses the operator's own client libraries for each concern, so that the ratio
measures what the operator does rather than which library it uses: a raw aiohttp watch (as kopf
watches), aiohttp for the status write (as ``apiserver.ApiServer``) and ``httpx`` for the
provider (as ``providers.http``). ``--bare`` uses aiohttp for the provider too: the cheapest
Python stack there is, for scale. ``--claim`` first writes a claim (a status write guarded by the
request's ``resourceVersion``, as the operator's) and only then sends the rollback: the least an
operator that promises exactly-once must do, for comparison.

    BENCH_VECTOR_TOKEN=... python -m bench.floor --kubeconfig PATH --namespace NS --ready-file PATH \
        [--bare] [--claim]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.kubeapi import Access, Kube

IN_FLIGHT = 32
"""Requests handled at once (as many connections to each server)."""
MERGE = "application/merge-patch+json"
Post = Callable[[str], Awaitable[str]]
Write = Callable[[str, str, dict[str, Any], str | None], Awaitable[object]]
"""namespace, name, status, and the resourceVersion that must still be current (None: unguarded)."""


def ready_status(generation: int, message: str) -> dict[str, Any]:
    """The floor's one status write: Succeeded, with a single Ready condition."""
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "RollbackSucceeded",
        "message": message,
        "lastTransitionTime": now,
        "observedGeneration": generation,
    }
    return {"phase": "Succeeded", "observedGeneration": generation, "message": message, "conditions": [ready]}


def _claim_status(generation: int, key: str) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    operation = {"claimedAt": now, "idempotencyKey": key}
    return {"phase": "InProgress", "observedGeneration": generation, "operation": operation}


class Floor:
    """Rolls back once per new request and writes status once."""

    def __init__(self, kube: Kube, namespace: str, *, post: Post, write: Write, claim: bool = False) -> None:
        self.kube, self.namespace, self.post, self.write, self.claim = kube, namespace, post, write, claim
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
            block = obj["spec"]["provider"]["vector"]
            meta = obj["metadata"]
            if self.claim:
                claim = _claim_status(meta["generation"], meta["uid"])
                await self.write(self.namespace, meta["name"], claim, meta["resourceVersion"])
            deployment = await self.post(
                f"{block['apiURL']}/api/v1/vector/environments/{block['environmentId']}/rollback"
            )
            status = ready_status(meta["generation"], f"rollback {deployment} triggered")
            await self.write(self.namespace, meta["name"], status, None)

    async def run(self, ready_file: Path) -> None:
        """Follow the namespace forever; ``ready_file`` appears once the first list was read."""
        async for _, obj in self.kube.follow(self.namespace, listed=lambda: ready_file.write_text("ready\n")):
            self.offer(obj)


@contextlib.asynccontextmanager
async def operator_stack(kube: Kube, token: str) -> AsyncIterator[tuple[Post, Write]]:
    """The provider POST with httpx and the status write with aiohttp, as the operator does."""
    # Imported here so that the bare floor's memory shows what it needs without this library.
    import httpx

    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    async with httpx.AsyncClient(headers=headers, limits=limits) as http:

        async def post(url: str) -> str:
            response = await http.post(url, json={})
            response.raise_for_status()
            return str(response.json()["data"]["id"])

        yield post, kube.patch_status


@contextlib.asynccontextmanager
async def bare_stack(kube: Kube, token: str) -> AsyncIterator[tuple[Post, Write]]:
    """Both calls with aiohttp."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as http:

        async def post(url: str) -> str:
            async with http.post(url, json={}) as response:
                response.raise_for_status()
                return str((await response.json())["data"]["id"])

        yield post, kube.patch_status


async def main(args: argparse.Namespace) -> None:
    kube = Kube(Access.from_kubeconfig(args.kubeconfig), connections=IN_FLIGHT)
    token = os.environ["BENCH_VECTOR_TOKEN"]
    stack = bare_stack(kube, token) if args.bare else operator_stack(kube, token)
    async with stack as (post, write):
        await Floor(kube, args.namespace, post=post, write=write, claim=args.claim).run(args.ready_file)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--bare", action="store_true", help="aiohttp for every call")
    parser.add_argument("--claim", action="store_true", help="a guarded claim write before the rollback")
    asyncio.run(main(parser.parse_args()))

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
operator that promises exactly-once must do, for comparison. ``--contract`` does the least the API
contract (the README's "How it works" and "Status") asks for: it resolves ``stepsBack: 1`` from the
environment's history (one GET), claims by creating a RollbackRecord, sends the rollback, writes
the status the contract describes (all five conditions, the operation), completes the record with
the outcome and posts the two Events (trigger, success). Five writes, as the operator's; what it
leaves out is all the operator does beyond that (retries, recovery, polling, queues, checks,
metrics, logs).

    BENCH_VECTOR_TOKEN=... python -m bench.floor --kubeconfig PATH --namespace NS --ready-file PATH \
        [--bare] [--claim | --contract]
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

from bench.kubeapi import GROUP, VERSION, Access, Kube

IN_FLIGHT = 32
"""Requests handled at once (as many connections to each server)."""
MERGE = "application/merge-patch+json"
Post = Callable[[str, dict[str, Any]], Awaitable[str]]
"""url, JSON body; returns the new deployment's id."""
Get = Callable[[str], Awaitable[Any]]
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


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _claim_status(generation: int, key: str) -> dict[str, Any]:
    operation = {"claimedAt": _now(), "idempotencyKey": key}
    return {"phase": "InProgress", "observedGeneration": generation, "operation": operation}


def contract_status(generation: int, operation: dict[str, Any], plan: tuple[str, str]) -> dict[str, Any]:
    """A succeeded request's status as the API contract describes it: every field, all five conditions."""
    now, (live, target) = _now(), plan
    message = f"rolled back to {target}"

    def condition(kind: str, status: str, reason: str, text: str = "") -> dict[str, Any]:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": text,
            "lastTransitionTime": now,
            "observedGeneration": generation,
        }

    return {
        "observedGeneration": generation,
        "phase": "Succeeded",
        "provider": "vector",
        "currentVersion": live,
        "targetVersion": target,
        "resolution": f"stepsBack=1: newest earlier version ({target})",
        "operation": {**operation, "triggeredAt": now, "state": "Succeeded", "message": "Deployed"},
        "startedAt": operation["claimedAt"],
        "completedAt": now,
        "requestedBy": "unknown",
        "message": message,
        "conditions": [
            condition("Resolved", "True", "TargetResolved"),
            condition("Triggered", "True", "RollbackTriggered"),
            condition("Ready", "True", "RollbackSucceeded", message),
            condition("Reconciling", "False", "Finished"),
            condition("Stalled", "False", "NoFailure"),
        ],
    }


def _record(obj: dict[str, Any], name: str, plan: tuple[str, str], claimed_at: str) -> dict[str, Any]:
    """The RollbackRecord that holds the claim: the request, its identity, the plan."""
    meta, (live, target) = obj["metadata"], plan
    spec = {
        "request": {"namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]},
        "requestRef": f"{meta['namespace']}/{meta['name']}",
        "identity": meta["uid"],
        "provider": "vector",
        "targetKey": obj["spec"]["provider"]["vector"]["environmentId"],
        "requestedBy": "unknown",
        "from": live,
        "to": target,
        "resolution": f"stepsBack=1: newest earlier version ({target})",
        "idempotencyKey": meta["uid"],
        "watermark": live,
    }
    labels = {"rollback.dev/request-namespace": meta["namespace"], "rollback.dev/provider": "vector"}
    metadata = {"name": name, "labels": labels}
    status = {"claimedAt": claimed_at, "claimedBy": "floor"}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RollbackRecord",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }


def _event(obj: dict[str, Any], reason: str, message: str) -> dict[str, Any]:
    meta, now = obj["metadata"], _now()
    involved = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "namespace": meta["namespace"]}
    return {
        "metadata": {"generateName": f"{meta['name']}."},
        "involvedObject": {**involved, "name": meta["name"], "uid": meta["uid"]},
        "type": "Normal",
        "reason": reason,
        "message": message,
        "source": {"component": "floor"},
        "reportingComponent": "floor",
        "reportingInstance": "floor",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def one_step_back(history: dict[str, Any]) -> tuple[str, str]:
    """(live, target) for ``stepsBack: 1``: the newest two successful deployments."""
    done = [d["id"] for d in history["data"] if d.get("status") in ("deployed", "completed")]
    return done[0], done[1]


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
                f"{block['apiURL']}/api/v1/vector/environments/{block['environmentId']}/rollback", {}
            )
            status = ready_status(meta["generation"], f"rollback {deployment} triggered")
            await self.write(self.namespace, meta["name"], status, None)

    async def run(self, ready_file: Path) -> None:
        """Follow the namespace forever; ``ready_file`` appears once the first list was read."""
        async for _, obj in self.kube.follow(self.namespace, listed=lambda: ready_file.write_text("ready\n")):
            self.offer(obj)


class ContractFloor(Floor):
    """The least the API contract asks for per request (five writes, two provider calls)."""

    def __init__(self, kube: Kube, namespace: str, *, post: Post, get: Get, write: Write) -> None:
        super().__init__(kube, namespace, post=post, write=write)
        self.get = get

    async def handle(self, obj: dict[str, Any]) -> None:
        async with self.slots:
            meta, block = obj["metadata"], obj["spec"]["provider"]["vector"]
            environment = f"{block['apiURL']}/api/v1/vector/environments/{block['environmentId']}"
            plan = one_step_back(await self.get(f"{environment}/deployments?per_page=25"))
            record, claimed_at = f"floor-{meta['uid']}", _now()
            await self.kube.create_record(_record(obj, record, plan, claimed_at))
            deployment = await self.post(f"{environment}/rollback", {"target_deployment_id": plan[1]})
            operation = {"id": deployment, "idempotencyKey": meta["uid"], "claimedAt": claimed_at}
            status = contract_status(meta["generation"], operation, plan)
            await self.write(self.namespace, meta["name"], status, None)
            outcome = {"phase": "Succeeded", "reason": "RollbackSucceeded", "message": status["message"]}
            done = {
                "operationId": deployment,
                "state": "Succeeded",
                "completedAt": _now(),
                "outcome": outcome,
            }
            await self.kube.patch_record(record, {"status": done})
            triggered = f"rollback to {plan[1]} triggered ({deployment}); reason: {obj['spec']['reason']}"
            await self.kube.create_event(self.namespace, _event(obj, "RollbackTriggered", triggered))
            await self.kube.create_event(self.namespace, _event(obj, "RollbackSucceeded", status["message"]))


@contextlib.asynccontextmanager
async def operator_stack(kube: Kube, token: str) -> AsyncIterator[tuple[Post, Get, Write]]:
    """The provider POST with httpx and the status write with aiohttp, as the operator does."""
    # Imported here so that the bare floor's memory shows what it needs without this library.
    import httpx

    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    async with httpx.AsyncClient(headers=headers, limits=limits) as http:

        async def post(url: str, body: dict[str, Any]) -> str:
            response = await http.post(url, json=body)
            response.raise_for_status()
            return str(response.json()["data"]["id"])

        async def get(url: str) -> Any:
            response = await http.get(url)
            response.raise_for_status()
            return response.json()

        yield post, get, kube.patch_status


@contextlib.asynccontextmanager
async def bare_stack(kube: Kube, token: str) -> AsyncIterator[tuple[Post, Get, Write]]:
    """Both calls with aiohttp."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as http:

        async def post(url: str, body: dict[str, Any]) -> str:
            async with http.post(url, json=body) as response:
                response.raise_for_status()
                return str((await response.json())["data"]["id"])

        async def get(url: str) -> Any:
            async with http.get(url) as response:
                response.raise_for_status()
                return await response.json()

        yield post, get, kube.patch_status


async def main(args: argparse.Namespace) -> None:
    kube = Kube(Access.from_kubeconfig(args.kubeconfig), connections=IN_FLIGHT)
    token = os.environ["BENCH_VECTOR_TOKEN"]
    stack = bare_stack(kube, token) if args.bare else operator_stack(kube, token)
    async with stack as (post, get, write):
        if args.contract:
            floor: Floor = ContractFloor(kube, args.namespace, post=post, get=get, write=write)
        else:
            floor = Floor(kube, args.namespace, post=post, write=write, claim=args.claim)
        await floor.run(args.ready_file)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--bare", action="store_true", help="aiohttp for every call")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--claim", action="store_true", help="a guarded claim write before the rollback")
    shape.add_argument("--contract", action="store_true", help="the calls and writes the API contract asks")
    asyncio.run(main(parser.parse_args()))

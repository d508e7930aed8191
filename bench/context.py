"""What every benchmark phase shares: the clients, fresh namespaces with seeded targets, counting.

``Bench`` holds the API client, the sandboxes and the sizes. ``Bench.setup`` makes a namespace
with a Secret and seeds the sandboxes with new targets (and nothing else, so that sandbox lookups
stay as cheap as in a small installation). ``Counting`` reads the API server's request counters
and the sandboxes' route counters before and after a window. Used by ``bench.phases`` and
``bench.memory``.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.support.rollbacks import manifest
from tests.support.scenarios import Scenario, World

from bench.kubeapi import Kube, Writes, writes_between
from bench.sandbox import RemoteSandboxes

T = TypeVar("T")
SANDBOXES = ("facets", "vector", "yandex")
SCENARIO_ARGS: dict[str, dict[str, Any]] = {"vector": {"deployments": 2}}
"""The shortest useful Vector history: the sandbox scans every deployment it holds per request."""


@dataclass(frozen=True)
class Sizes:
    """How many requests each measurement uses."""

    latency: int = 200
    warmup: int = 5
    burst: int = 1000
    rounds: int = 3
    """Throughput rounds (bare, floor, operator in turn); each subject's median round is reported."""
    per_provider: int = 30
    writes: int = 400
    """Writes of each kind in the write-cost phase."""
    finished: int = 10_000
    idle_seconds: float = 20.0

    @classmethod
    def quick(cls) -> Sizes:
        """Small numbers for trying the benchmark out; not for publishing."""
        return cls(
            latency=20,
            warmup=2,
            burst=100,
            rounds=1,
            per_provider=5,
            writes=100,
            finished=1000,
            idle_seconds=5.0,
        )


@dataclass
class Tally:
    """Writes and provider calls in one window, per successful rollback."""

    writes: Writes
    calls: dict[str, int]
    """API requests per sandbox."""
    routes: dict[str, int]
    """API requests per ``sandbox METHOD /route``."""
    rollbacks: int

    def per(self, amount: float) -> float:
        return amount / self.rollbacks if self.rollbacks else float("nan")


@dataclass
class Counting:
    """Counters read at the start of a window; ``close`` gives what happened since."""

    bench: Bench
    api: Any = None
    routes: dict[str, dict[str, int]] = field(default_factory=dict)

    async def open(self, *, quiet: float = 1.0) -> Counting:
        """Read the counters once no write has happened for ``quiet`` seconds (earlier work is done)."""
        self.api = await self._quiet(quiet)
        self.routes = {name: self.bench.boxes.requests(name) for name in SANDBOXES}
        return self

    async def close(self, rollbacks: int, *, quiet: float = 1.0) -> Tally:
        """What happened since ``open``, read once no write has happened for ``quiet`` seconds.

        (The last Event of a request is posted just after its final status write.)
        """
        writes = writes_between(self.api, await self._quiet(quiet))
        routes: dict[str, int] = {}
        calls: dict[str, int] = {}
        for name in SANDBOXES:
            before = self.routes[name]
            for route, count in self.bench.boxes.requests(name).items():
                if count - before.get(route, 0):
                    routes[f"{name} {route}"] = count - before.get(route, 0)
            calls[name] = sum(v for k, v in routes.items() if k.startswith(f"{name} "))
        return Tally(writes, calls, routes, rollbacks)

    async def _quiet(self, seconds: float) -> Any:
        last = await self.bench.kube.request_counts()
        while True:
            await asyncio.sleep(seconds)
            now = await self.bench.kube.request_counts()
            if writes_between(last, now).total == 0:
                return now
            last = now


@dataclass
class Bench:
    """The run's shared clients and settings."""

    kube: Kube
    boxes: RemoteSandboxes
    sizes: Sizes
    servers: dict[str, int] = field(default_factory=dict)
    """Process ids of the control plane's servers (kube-apiserver, etcd), for their CPU time."""

    async def setup(self, stem: str, counts: Mapping[str, int]) -> tuple[str, dict[str, list[Scenario]]]:
        """A new namespace with one Secret per provider (``creds-<sandbox>``); the sandboxes reset and
        seeded with ``counts[provider]`` new targets each, and nothing else."""
        namespace = f"{stem}-{secrets.token_hex(3)}"
        world = World(self.boxes)  # type: ignore[arg-type]  # the remote handle speaks World's protocol
        targets = {
            p: [world.scenario(p, **SCENARIO_ARGS.get(p, {})) for _ in range(n)] for p, n in counts.items()
        }
        self.boxes.reset()
        world.apply()
        await self.kube.create_namespace(namespace)
        for provider, scenarios in targets.items():
            if scenarios:
                await self.kube.create_secret(namespace, f"creds-{provider}", scenarios[0].secret)
        return namespace, targets

    async def create_all(self, namespace: str, bodies: list[dict[str, Any]], *, parallel: int = 16) -> None:
        """Create ``bodies`` with at most ``parallel`` requests in flight."""
        await gather_limited(
            [functools.partial(self.kube.create, namespace, b) for b in bodies], parallel=parallel
        )


def body(name: str, target: Scenario) -> dict[str, Any]:
    """A RollbackRequest for ``target`` that uses the namespace's Secret for its provider."""
    return manifest(name, target.provider, secret=f"creds-{target.sandbox}")


async def gather_limited(calls: list[Callable[[], Awaitable[T]]], *, parallel: int) -> list[T]:
    """Run the calls with at most ``parallel`` at once; results in order."""
    gate = asyncio.Semaphore(parallel)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(call) for call in calls))


def load() -> tuple[float, float, float]:
    """The machine's 1/5/15-minute load averages."""
    return os.getloadavg()

"""What one write costs the API server: a status as the operator writes it, as the floor writes it,
and an Event.

Each kind is written to a few hundred fresh requests that nothing watches, 8 at once, and the API
server's CPU time (from /proc) is divided by the number of writes. The operator's
status is the one a request finished in the throughput phase carries; the floor's is
``bench.floor``'s. The figures show what limits the ratios to the floor (docs/performance.md).
Used by ``bench.__main__``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.support.rollbacks import manifest

from bench.context import Bench, gather_limited
from bench.floor import ready_status
from bench.procs import cpu_seconds
from rollback_operator.kube import event_body

PROVIDER = {"vector": {"environmentId": "unused", "apiURL": "http://127.0.0.1:9"}}
"""A valid spec; no subject runs during this phase, so nothing is ever sent to it."""
SECRET_NAME = "unused"  # noqa: S105 - a Secret's name, never read


@dataclass
class WriteCost:
    count: int
    operator_status_ms: float
    floor_status_ms: float
    event_ms: float


def _event(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The Event the operator posts when a rollback succeeds, about ``obj``."""
    message = "rolled back to 010000000000000000000000z9"
    return event_body(
        obj,
        type_="Normal",
        reason="RollbackSucceeded",
        message=message,
        component="rollback-operator",
        instance="bench",
    )


async def write_cost(bench: Bench, operator_status: Mapping[str, Any]) -> WriteCost:
    """API server CPU milliseconds per write of each kind.

    Each kind gets its own fresh requests and writes every one twice, timing only the second pass:
    the first pays for the garbage the creations left (the API server collects it while it works),
    as in the steady state of a long run. Each write changes the status, so none is a no-op.
    """
    count = bench.sizes.writes
    namespace, _ = await bench.setup("writes", {})
    pid = bench.servers["kube-apiserver"]
    kube = bench.kube

    def status(kind: str, n: int) -> dict[str, Any]:
        message = f"rollback 01m82937zfvhs1e1663t5tjnz{n} triggered"
        if kind == "floor":
            return ready_status(1, message)
        return {**operator_status, "message": message}

    def calls(kind: str, objects: list[dict[str, Any]], n: int) -> list[Callable[[], Awaitable[object]]]:
        if kind == "event":
            return [functools.partial(kube.create_event, namespace, _event(o)) for o in objects]
        names = [o["metadata"]["name"] for o in objects]
        return [functools.partial(kube.patch_status, namespace, name, status(kind, n)) for name in names]

    figures: dict[str, float] = {}
    for kind in ("operator", "floor", "event"):
        bodies = [manifest(f"{kind}-{i:04d}", PROVIDER, secret=SECRET_NAME) for i in range(count)]
        objects = await gather_limited(
            [functools.partial(kube.create, namespace, b) for b in bodies], parallel=8
        )
        await gather_limited(calls(kind, objects, 0), parallel=8)
        before = cpu_seconds(pid)
        await gather_limited(calls(kind, objects, 1), parallel=8)
        figures[kind] = (cpu_seconds(pid) - before) * 1000 / count
    return WriteCost(count, figures["operator"], figures["floor"], figures["event"])

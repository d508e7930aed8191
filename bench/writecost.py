"""What one write costs the API server: a status as the operator writes it, as the floor writes it,
and an Event.

Each kind is written once to each of a few hundred fresh requests that nothing watches, 8 at once,
in rounds where the kinds take turns; the API server's CPU time (from /proc) is divided by the number
of writes and the median round reported. The operator's
status is the one a request finished in the throughput phase carries; the floor's is
``bench.floor``'s. The figures show what limits the ratios to the floor (docs/performance.md).
Used by ``bench.__main__``.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.support.rollbacks import manifest

from bench.context import Bench, gather_limited
from bench.floor import _ready_status
from bench.procs import cpu_seconds

PROVIDER = {"vector": {"environmentId": "unused", "apiURL": "http://127.0.0.1:9"}}
"""A valid spec; no subject runs during this phase, so nothing is ever sent to it."""
SECRET_NAME = "unused"  # noqa: S105 - a Secret's name, never read


@dataclass
class WriteCost:
    count: int
    operator_status_ms: float
    floor_status_ms: float
    event_ms: float


def _event(namespace: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """An Event about ``obj`` shaped like the operator's (``kube.KubeAPI.post_event``)."""
    meta, now = obj["metadata"], datetime.now(UTC).isoformat()
    return {
        "metadata": {"generateName": f"{meta['name']}.", "namespace": namespace},
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": namespace,
            "uid": meta["uid"],
        },
        "type": "Normal",
        "reason": "RollbackSucceeded",
        "message": "rolled back to 010000000000000000000000z9",
        "source": {"component": "rollback-operator"},
        "reportingComponent": "rollback-operator",
        "reportingInstance": "bench",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


async def write_cost(bench: Bench, operator_status: Mapping[str, Any], *, rounds: int = 5) -> WriteCost:
    """API server CPU milliseconds per write of each kind: the median of ``rounds`` rounds in which the
    kinds take turns (so that the API server's own background work, e.g. its garbage collection
    after the phases before, does not land on one kind), after one round not counted."""
    per_round = max(1, bench.sizes.writes // rounds)
    namespace, _ = await bench.setup("writes", {})
    pid = bench.servers["kube-apiserver"]
    kube = bench.kube
    floor_status = _ready_status(1, "rollback 01m82937zfvhs1e1663t5tjnz0 triggered")

    async def fresh(stem: str) -> list[dict[str, Any]]:
        bodies = [manifest(f"{stem}-{i:04d}", PROVIDER, secret=SECRET_NAME) for i in range(per_round)]
        return await gather_limited(
            [functools.partial(kube.create, namespace, b) for b in bodies], parallel=8
        )

    async def per_write(calls: list[Callable[[], Awaitable[object]]]) -> float:
        before = cpu_seconds(pid)
        await gather_limited(calls, parallel=8)
        return (cpu_seconds(pid) - before) * 1000 / len(calls)

    figures: dict[str, list[float]] = {"operator": [], "floor": [], "event": []}
    for round_ in range(rounds + 1):
        objects = {kind: await fresh(f"{kind}-{round_}") for kind in figures}
        names = {kind: [o["metadata"]["name"] for o in objs] for kind, objs in objects.items()}
        calls = {
            "operator": [
                functools.partial(kube.patch_status, namespace, n, operator_status) for n in names["operator"]
            ],
            "floor": [
                functools.partial(kube.patch_status, namespace, n, floor_status) for n in names["floor"]
            ],
            "event": [
                functools.partial(kube.create_event, namespace, _event(namespace, o))
                for o in objects["event"]
            ],
        }
        for kind in figures:
            figure = await per_write(calls[kind])
            if round_:  # the first round only warms up
                figures[kind].append(figure)
    return WriteCost(
        count=per_round * rounds,
        operator_status_ms=statistics.median(figures["operator"]),
        floor_status_ms=statistics.median(figures["floor"]),
        event_ms=statistics.median(figures["event"]),
    )

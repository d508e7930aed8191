"""The API server goes away in the middle of a run and comes back: the same operator finishes everything.

Requests across the three providers are in flight (claimed, triggered, polling) when kube-apiserver
is stopped; etcd keeps its data. While it is down, provider operations finish and the operator can
neither watch nor write. kube-apiserver then starts again on the same address, and the operator,
never restarted, must recover by itself: every request Succeeded, each target rolled back once.
"""

from __future__ import annotations

import time

import pytest

from rollback_sandbox.serve import Sandboxes
from tests.resilience.conftest import OperatorFactory
from tests.resilience.fleet import Fleet, api_server_outage
from tests.resilience.report import Report, Sizes
from tests.support.controlplane import ControlPlane
from tests.support.crd import wait_creatable
from tests.support.rollbacks import Requests
from tests.support.scenarios import World


def _in_flight(fleet: Fleet) -> int:
    statuses = fleet.statuses()
    return sum(1 for s in statuses.values() if (s.get("operation") or {}).get("claimedAt"))


@pytest.mark.slow
def test_the_operator_recovers_from_an_api_server_restart_and_finishes_every_request_once(
    sizes: Sizes,
    cluster: ControlPlane,
    sandboxes: Sandboxes,
    requests_: Requests,
    operator_factory: OperatorFactory,
    report: Report,
) -> None:
    world = World(sandboxes, vector_step_seconds=2.0, yandex_operation_seconds=4.0)
    fleet = Fleet.across_providers(requests_, world, sizes.restart_requests, prefix="outage")
    world.apply()
    fleet.create_secrets()
    operator = operator_factory().start()
    fleet.submit(fleet.targets)
    deadline = time.monotonic() + 60
    while (claimed := _in_flight(fleet)) < sizes.restart_requests // 3 and time.monotonic() < deadline:
        time.sleep(0.1)

    unavailable = api_server_outage(cluster, sizes.outage_seconds)
    back = time.monotonic()
    creatable = wait_creatable(cluster)  # the admission policies' view of the CRD comes back too
    statuses = fleet.wait_terminal(timeout=180)
    recovered = time.monotonic() - back

    verdict = fleet.verdict(statuses)
    criteria = {
        "the operator process never exited": operator.proc is not None and operator.proc.poll() is None,
        "every request Succeeded": verdict["phases"] == {"Succeeded": sizes.restart_requests},
        "every target rolled back exactly once": verdict["duplicates"] == 0
        and verdict["total rollbacks"] == sizes.restart_requests,
    }
    report.add(
        "API server restart",
        f"{sizes.restart_requests} requests round-robin over Facets, Vector and Yandex (one per target), "
        "created at once; Vector deployments take 4 s, Yandex operations 4 s. Once a third of them "
        f"hold a claim, kube-apiserver is stopped, kept down for {sizes.outage_seconds:.0f} s (etcd keeps "
        "running with its data) and started again on the same address. One operator with the test "
        "timing, never restarted.",
        {
            "requests": sizes.restart_requests,
            "claimed when the API server stopped": claimed,
            "API server unavailable, stop to ready again (s)": f"{unavailable:.1f}",
            "API server back → all terminal (s)": f"{recovered:.1f}",
            "API server back → new requests admitted again (s)": f"{creatable:.1f}",
            **verdict,
        },
        criteria,
    )
    assert criteria == dict.fromkeys(criteria, True), (verdict, operator.tail())

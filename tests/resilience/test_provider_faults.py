"""Providers that fail often, throttle, answer too late or hang up: every request still succeeds, once.

All three sandboxes misbehave on every API call (reads and rollbacks alike): 20% answer 5xx
before doing anything, 10% answer 429 with ``Retry-After``, 5% do the work and answer only after
the adapters' client timeout, and 5% do the work and drop the connection without an answer.
"""

from __future__ import annotations

import time

import pytest

from rollback_operator.providers.http import DEFAULT_TIMEOUT
from rollback_sandbox.common import Faults
from rollback_sandbox.serve import Sandboxes
from tests.resilience.conftest import OperatorFactory
from tests.resilience.fleet import PROVIDERS, Fleet
from tests.resilience.report import Report, Sizes
from tests.support.rollbacks import Requests
from tests.support.scenarios import World

CLIENT_TIMEOUT = float(DEFAULT_TIMEOUT.read or 10.0)
FAULTS = Faults(
    error_rate=0.20,
    throttle_rate=0.10,
    retry_after=1.0,
    slow_rate=0.05,
    slow_seconds=CLIENT_TIMEOUT + 2,  # longer than the adapters wait for an answer
    drop_rate=0.05,
)


def _faults_seen(sandboxes: Sandboxes) -> int:
    return sum(sandboxes.read(p, lambda s: sum(s.requests.values())) for p in PROVIDERS)


@pytest.mark.slow
def test_every_request_succeeds_exactly_once_against_providers_that_fail_throttle_stall_and_hang_up(
    sizes: Sizes, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, report: Report
) -> None:
    world = World(sandboxes, vector_step_seconds=0.3, yandex_operation_seconds=0.5)
    fleet = Fleet.across_providers(requests_, world, sizes.fault_requests, prefix="faulty")
    world.apply()
    for provider in PROVIDERS:
        sandboxes.read(provider, lambda s: setattr(s, "faults", FAULTS))
    fleet.create_secrets()
    operator = operator_factory().start()
    began = time.monotonic()
    fleet.submit(fleet.targets)
    statuses = fleet.wait_terminal(timeout=240)
    elapsed = time.monotonic() - began

    verdict = fleet.verdict(statuses)
    criteria = {
        "every request Succeeded": verdict["phases"] == {"Succeeded": sizes.fault_requests},
        "no target rolled back twice": verdict["duplicates"] == 0,
        "every target rolled back exactly once": verdict["total rollbacks"] == sizes.fault_requests,
    }
    report.add(
        "Provider faults",
        f"{sizes.fault_requests} requests round-robin over Facets, Vector and Yandex (one per target), all "
        "created at once, against sandboxes where every API call (GET and POST) has a 20% chance of a 503, "
        "10% of a 429 with `Retry-After: 1`, 5% of being processed and answered only after "
        f"{FAULTS.slow_seconds:.0f} s (the adapters time out after {CLIENT_TIMEOUT:.0f} s) and 5% of being "
        "processed and then hung up on. One operator with the test timing.",
        {
            "requests": sizes.fault_requests,
            "provider API calls": _faults_seen(sandboxes),
            "time until all terminal (s)": f"{elapsed:.0f}",
            **verdict,
        },
        criteria,
    )
    assert criteria == dict.fromkeys(criteria, True), (verdict, operator.tail())

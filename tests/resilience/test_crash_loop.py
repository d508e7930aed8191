"""An operator SIGKILLed every one to three seconds still finishes every request, exactly once.

Requests across the three providers are submitted in waves while the operator is killed (no
cleanup, no chance to record anything) and restarted, over and over; every provider call is slowed
a little and Vector and Yandex report progress only after a while, so kills land before, during and
after triggers and while polling. After the last kill one operator runs undisturbed.
"""

from __future__ import annotations

import itertools
import random
import time

import pytest

from rollback_sandbox.common import Faults
from rollback_sandbox.serve import Sandboxes
from tests.resilience.conftest import OperatorFactory
from tests.resilience.fleet import PROVIDERS, Fleet
from tests.resilience.report import Report, Sizes
from tests.support.rollbacks import Requests
from tests.support.scenarios import World

SEED = 20261122


def _waves(names: list[str], count: int) -> list[list[str]]:
    """``count`` consecutive slices: each mixes the providers, as the names go round-robin over them."""
    size = -(-len(names) // count)
    return [names[i * size : (i + 1) * size] for i in range(count)]


@pytest.mark.slow
def test_an_operator_killed_every_few_seconds_ends_every_request_without_a_duplicate_rollback(
    sizes: Sizes, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, report: Report
) -> None:
    world = World(sandboxes, vector_step_seconds=1.0, yandex_operation_seconds=2.0)
    fleet = Fleet.across_providers(requests_, world, sizes.crash_requests, prefix="crash")
    world.apply()
    for provider in PROVIDERS:  # every call takes a moment, so kills land inside calls too
        sandboxes.read(provider, lambda s: setattr(s, "faults", Faults(latency=0.1)))
    fleet.create_secrets()
    chaos = random.Random(SEED)
    kills, in_flight = [time.monotonic()], []
    operator = operator_factory(log_name="run-00.log").start()
    for kill, wave in enumerate(_waves(list(fleet.targets), sizes.kills), start=1):
        fleet.submit(wave)
        time.sleep(chaos.uniform(1.0, 3.0))  # the chaos schedule itself, not a wait for a condition
        in_flight.append(fleet.in_flight())
        operator.kill()
        kills.append(time.monotonic())
        operator = operator_factory(log_name=f"run-{kill:02d}.log").start()
    killed = kills[-1]
    statuses = fleet.wait_terminal(timeout=240)
    drained = time.monotonic() - killed

    verdict = fleet.verdict(statuses)
    gaps = [b - a for a, b in itertools.pairwise(kills)]
    criteria = {
        "every request terminal": verdict["terminal"] == sizes.crash_requests,
        "no target rolled back twice": verdict["duplicates"] == 0,
        "every Succeeded request caused exactly one rollback": not verdict[
            "succeeded without exactly one rollback"
        ],
        f"at least {sizes.kills} kills": len(in_flight) >= sizes.kills,
        "kills landed on requests in flight": sum(in_flight) > 0,
    }
    report.add(
        "Crash loop",
        f"{sizes.crash_requests} requests round-robin over Facets, Vector and Yandex (one per target), "
        f"submitted in {sizes.kills} waves: each wave goes to a freshly started operator, which is "
        "SIGKILLed 1-3 s later (seeded random) and started again at once. Provider calls take 100 ms; Vector "
        "deployments take 2 s, Yandex operations 2 s. Operator timing: the test flags (claim grace 4 s).",
        {
            "requests": sizes.crash_requests,
            "kills": len(in_flight),
            "seconds between kills, restart included (min / max)": f"{min(gaps):.1f} / {max(gaps):.1f}",
            "requests in flight at each kill": " ".join(map(str, in_flight)),
            "time under kills (s)": f"{killed - kills[0]:.0f}",
            "time from the last kill until all terminal (s)": f"{drained:.0f}",
            **verdict,
        },
        criteria,
    )
    assert criteria == dict.fromkeys(criteria, True), (verdict, operator.tail())

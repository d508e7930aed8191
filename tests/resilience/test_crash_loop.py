"""An operator SIGKILLed every one to three seconds still finishes every request, exactly once.

Requests across the three providers are submitted in waves while the operator is killed (no
cleanup, no chance to record anything) and restarted, over and over; every provider call is slowed
a little and Vector and Yandex report progress only after a while, so kills land before, during and
after triggers and while polling. After the last kill one operator runs undisturbed.
"""

from __future__ import annotations

import random
import time

import pytest

from rollback_operator.sandbox.common import Faults
from rollback_operator.sandbox.serve import Sandboxes
from tests.resilience.conftest import OperatorFactory
from tests.resilience.fleet import PROVIDERS, Fleet
from tests.resilience.report import Report, Sizes
from tests.support.rollbacks import Requests
from tests.support.scenarios import World

SEED = 20261122


def _waves(names: list[str], count: int) -> list[list[str]]:
    return [names[i::count] for i in range(count)]


@pytest.mark.slow
def test_an_operator_killed_every_few_seconds_ends_every_request_without_a_duplicate_rollback(
    sizes: Sizes, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, report: Report
) -> None:
    world = World(sandboxes, vector_step_seconds=0.5, yandex_operation_seconds=1.0)
    fleet = Fleet.across_providers(requests_, world, sizes.crash_requests, prefix="crash")
    world.apply()
    for provider in PROVIDERS:  # every call takes a moment, so kills land inside calls too
        sandboxes.read(provider, lambda s: setattr(s, "faults", Faults(latency=0.05)))
    fleet.create_secrets()
    chaos = random.Random(SEED)
    began, lifetimes = time.monotonic(), []
    operator = operator_factory(log_name="run-00.log").start()
    for kill, wave in enumerate(_waves(list(fleet.targets), sizes.kills), start=1):
        fleet.submit(wave)
        lifetime = chaos.uniform(1.0, 3.0)  # the chaos schedule itself, not a wait for a condition
        time.sleep(lifetime)
        operator.kill()
        lifetimes.append(lifetime)
        operator = operator_factory(log_name=f"run-{kill:02d}.log").start()
    killed = time.monotonic()
    statuses = fleet.wait_terminal(timeout=240)

    verdict = fleet.verdict(statuses)
    criteria = {
        "every request terminal": verdict["terminal"] == sizes.crash_requests,
        "no target rolled back twice": verdict["duplicates"] == 0,
        "every Succeeded request caused exactly one rollback": verdict["succeeded without exactly one rollback"]
        == 0,
        f"at least {sizes.kills} kills": len(lifetimes) >= sizes.kills,
    }
    report.add(
        "Crash loop",
        f"{sizes.crash_requests} requests round-robin over Facets, Vector and Yandex (one per target), "
        f"submitted in {sizes.kills} waves; after each wave the operator is SIGKILLed 1-3 s later "
        "(seeded random) and restarted at once. Provider calls take 50 ms; Vector deployments take 1 s, "
        "Yandex operations 1 s. Operator timing: the test flags (claim grace 4 s).",
        {"requests": sizes.crash_requests, "kills": len(lifetimes),
         "seconds between kills (min / max)": f"{min(lifetimes):.1f} / {max(lifetimes):.1f}",
         "time under kills (s)": f"{killed - began:.0f}",
         "time from the last kill until all terminal (s)": f"{time.monotonic() - killed:.0f}",
         **verdict},  # fmt: skip
        criteria,
    )
    assert criteria == dict.fromkeys(criteria, True), (verdict, operator.tail())

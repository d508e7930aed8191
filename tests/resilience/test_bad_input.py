"""Hundreds of invalid requests are all refused at the door; the operator and the valid requests carry on.

Random invalid specs (see ``garbage.py``) are created with strict field validation, as ``kubectl
apply`` sends them, and some valid requests already running get their (immutable) spec edited;
valid requests are created in between. Every bad input must be refused by the API server, nothing
must reach the sandboxes for it, and the valid requests must succeed as if nothing happened.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from rollback_sandbox.serve import Sandboxes
from tests.resilience.conftest import OperatorFactory
from tests.resilience.fleet import PROVIDERS, Fleet, rss_mib
from tests.resilience.garbage import invalid_spec
from tests.resilience.report import Report, Sizes
from tests.support.rollbacks import GROUP, PLURAL, VERSION, Requests, manifest
from tests.support.scenarios import Scenario, World

SEED = 4242
EDIT_SHARE = 0.1
"""Of the bad inputs, the share that edits a valid request's spec instead of creating a new one."""


def _create_bad(requests_: Requests, name: str, spec: dict[str, Any]) -> int:
    """Try to create; returns the HTTP status of the refusal (201 if it was accepted)."""
    body = {**manifest(name, {}, secret="x"), "spec": spec}
    try:
        requests_.custom.create_namespaced_custom_object(
            GROUP, VERSION, requests_.namespace, PLURAL, body, field_validation="Strict"
        )
    except ApiException as exc:
        return int(exc.status)
    return 201


def _edit(requests_: Requests, name: str, rng: random.Random) -> int:
    """Try to change a valid request's spec to another valid spec; returns the HTTP status."""
    change = rng.choice([{"reason": "edited"}, {"target": {"stepsBack": 2}}, {"dryRun": True}])
    try:
        requests_.custom.patch_namespaced_custom_object(
            GROUP, VERSION, requests_.namespace, PLURAL, name, {"spec": change}
        )
    except ApiException as exc:
        return int(exc.status)
    return 200


@pytest.mark.slow
def test_invalid_requests_at_volume_are_all_refused_and_change_nothing_for_the_valid_ones(
    sizes: Sizes, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory, report: Report
) -> None:
    world = World(sandboxes)
    fleet = Fleet.across_providers(requests_, world, sizes.valid_amid_bad, prefix="valid")
    bait: dict[str, Scenario] = {p: world.scenario(p) for p in PROVIDERS}  # only invalid specs name these
    world.apply()
    fleet.create_secrets()
    operator = operator_factory().start()
    assert operator.proc is not None
    rss_before, rng = rss_mib(operator.proc.pid), random.Random(SEED)
    valid, created = list(fleet.targets), list[str]()
    refusals, breakers = Counter[int](), Counter[str]()
    began = time.monotonic()
    for index in range(sizes.bad_specs):
        if index % (sizes.bad_specs // len(valid)) == 0 and len(created) < len(valid):
            created.append(valid[len(created)])
            fleet.submit([created[-1]])
        if created and rng.random() < EDIT_SHARE:
            refusals[_edit(requests_, rng.choice(created), rng)] += 1
            continue
        target = bait[rng.choice(PROVIDERS)]
        spec, broken = invalid_spec(
            manifest("x", target.provider, secret=f"creds-{target.sandbox}")["spec"], rng
        )
        breakers.update(broken)
        refusals[_create_bad(requests_, f"bad-{index:04d}", spec)] += 1
    fleet.submit(valid[len(created) :])
    barrage = time.monotonic() - began
    statuses = fleet.wait_terminal(timeout=120)

    verdict = fleet.verdict(statuses)
    specs_kept = all(requests_.get(n)["spec"]["reason"] == f"test rollback {n}" for n in valid)
    criteria = {
        "every bad input refused (400/422)": set(refusals) <= {400, 422},
        "only the valid requests exist": set(fleet.statuses()) == set(valid),
        "no specs of running requests changed": specs_kept,
        "nothing reached the sandboxes for bad input": all(
            t.rollbacks(sandboxes) == 0 for t in bait.values()
        ),
        "every valid request Succeeded, once": verdict["phases"] == {"Succeeded": len(valid)}
        and verdict["total rollbacks"] == len(valid),
        "the operator kept running, without a traceback": operator.proc.poll() is None
        and "Traceback" not in operator.log_text(),
    }
    report.add(
        "Bad input at volume",
        f"{sizes.bad_specs} bad inputs from a seeded random generator (seed {SEED}): about "
        f"{EDIT_SHARE:.0%} edit the immutable spec of a valid running request, the rest create a request "
        "whose spec, aimed at a live sandbox target, is broken in one to three ways (with strict field "
        f"validation, as `kubectl apply` sends it). {len(valid)} valid requests are created in between.",
        {
            "bad inputs": sizes.bad_specs,
            "answers (HTTP status: count)": dict(sorted(refusals.items())),
            "kinds of breakage used": len(breakers),
            "time for the barrage (s)": f"{barrage:.1f}",
            "operator RSS before / after (MiB)": f"{rss_before:.0f} / {rss_mib(operator.proc.pid):.0f}",
            **verdict,
        },
        criteria,
    )
    assert criteria == dict.fromkeys(criteria, True), (refusals, verdict, operator.tail())

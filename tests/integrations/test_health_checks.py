"""What Argo CD (health.lua) and Flux (kstatus) conclude from every status the operator writes.

Samples come from two places: the operator's own StatusWriter, one per phase and way of ending
(``samples.py``), and real requests recorded version by version while a real operator works
through the sandbox. Argo CD runs ``deploy/integrations/argocd/health.lua`` in an emulation of
its Lua runtime (``argocd.py``); kstatus' generic rules are in ``kstatus.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from rollback_sandbox.serve import Sandboxes
from tests.integrations.argocd import SCRIPT, ArgoHealth
from tests.integrations.kstatus import kstatus
from tests.integrations.samples import SITUATIONS, fresh, written
from tests.support.operator import OperatorProcess
from tests.support.recording import record
from tests.support.rollbacks import Requests, manifest
from tests.support.scenarios import World

EXPECTED = {  # sample: (Argo CD health, kstatus)
    "Waiting": ("Progressing", "InProgress"),
    "Resolving (credentials missing)": ("Progressing", "InProgress"),
    "Pending": ("Progressing", "InProgress"),
    "InProgress (claimed)": ("Progressing", "InProgress"),
    "InProgress (triggered)": ("Progressing", "InProgress"),
    "Succeeded": ("Healthy", "Current"),
    "Succeeded (dry run)": ("Healthy", "Current"),
    "Succeeded (already at target)": ("Healthy", "Current"),
    "Failed (target not found)": ("Degraded", "Failed"),
    "Failed (provider failed the rollback)": ("Degraded", "Failed"),
    "Failed (timed out)": ("Degraded", "Failed"),
    "Unknown": ("Degraded", "Failed"),
    "AwaitingApproval": ("Suspended", "InProgress"),
    "Succeeded (already executed)": ("Healthy", "Current"),
    "Failed (already executed)": ("Degraded", "Failed"),
    "Failed (expired)": ("Degraded", "Failed"),
    "Failed (rejected)": ("Degraded", "Failed"),
    "Failed (plan changed)": ("Degraded", "Failed"),
}


@pytest.fixture(scope="module")
def argo() -> ArgoHealth:
    return ArgoHealth()


def test_every_sample_situation_has_an_expectation() -> None:
    assert set(EXPECTED) == set(SITUATIONS)


@pytest.mark.parametrize("name", list(SITUATIONS))
async def test_argo_cd_and_kstatus_read_each_status_the_operator_writes(argo: ArgoHealth, name: str) -> None:
    obj = await written(*SITUATIONS[name])

    health = argo.check(obj)

    assert (health["status"], kstatus(obj)) == EXPECTED[name]
    status = obj["status"]
    if health["status"] == "Degraded":  # why, in the operator's words
        assert health["message"].endswith(status["message"])
        assert health["message"].startswith(
            next(c["reason"] for c in status["conditions"] if c["type"] == "Stalled")
        )
    if health["status"] == "Progressing":
        assert health["message"] == f"{status['phase']}: {status['message']}"


def test_a_request_without_status_is_progressing_for_argo_cd_but_current_for_kstatus(
    argo: ArgoHealth,
) -> None:
    obj = fresh()

    assert argo.check(obj) == {
        "status": "Progressing",
        "message": "Waiting for the rollback operator to pick the request up",
    }
    assert argo.check({**obj, "status": {}})["status"] == "Progressing"
    # kstatus has nothing to go on until the operator's first write: docs/gitops.md explains the CEL checks
    assert kstatus(obj) == "Current"
    defaulted = {**obj, "status": {"observedGeneration": 0}}  # what a CRD default on status would give
    assert argo.check(defaulted)["status"] == "Progressing"
    assert kstatus(defaulted) == "InProgress"


async def test_a_status_older_than_the_spec_is_progressing(argo: ArgoHealth) -> None:
    succeeded = await written(*SITUATIONS["Succeeded"])
    succeeded["metadata"]["generation"] = 2

    assert argo.check(succeeded)["status"] == "Progressing"
    assert kstatus(succeeded) == "InProgress"


def test_the_emulated_runtime_refuses_what_argo_cd_refuses() -> None:
    with_string_library = ArgoHealth('return { status = string.upper("healthy") }')
    with_string_method = ArgoHealth('return { status = ("Healthy"):sub(1) }')
    with_bad_status = ArgoHealth('return { status = "Fine" }')
    obj = fresh()

    for script in (with_string_library, with_string_method):
        with pytest.raises(Exception, match="attempt to index"):
            script.check(obj)
    with pytest.raises(AssertionError, match="invalid health status"):
        with_bad_status.check(obj)


def test_arrays_arrive_indexed_from_one_and_null_fields_absent() -> None:
    probe = ArgoHealth('return { status = "Healthy", message = obj.items[1] .. tostring(obj.gone) .. obj.n }')

    assert probe.check({"items": ["first", "second"], "gone": None, "n": 2})["message"] == "firstnil2"


def test_argocd_cm_carries_exactly_health_lua() -> None:
    config = yaml.safe_load(SCRIPT.with_name("argocd-cm.yaml").read_text())

    assert config["kind"] == "ConfigMap"
    assert config["data"]["resource.customizations.health.rollback.dev_RollbackRequest"] == SCRIPT.read_text()


# ------------------------------------------------------------------ real requests, recorded


def _recorded(requests_: Requests, sandboxes: Sandboxes, name: str, *, fail: bool) -> list[dict[str, Any]]:
    world = World(sandboxes, vector_step_seconds=0.3)
    scenario = world.vector(fail=fail)
    world.apply()
    requests_.secret(f"{name}-creds", scenario.secret)
    body = manifest(name, scenario.provider, secret=f"{name}-creds")
    return record(requests_, name, lambda: requests_.create(body))


def test_a_real_rollback_is_progressing_at_every_step_until_it_is_healthy(
    argo: ArgoHealth, requests_: Requests, sandboxes: Sandboxes, operator: OperatorProcess
) -> None:
    versions = _recorded(requests_, sandboxes, "recorded-success", fail=False)

    healths = [argo.check(v)["status"] for v in versions]
    flux = [kstatus(v) for v in versions]

    assert len({(v.get("status") or {}).get("message") for v in versions}) >= 4  # several steps were seen
    assert healths == ["Progressing"] * (len(versions) - 1) + ["Healthy"]
    # before its first status write a request is served with observedGeneration 0: in progress too
    assert flux == ["InProgress"] * (len(versions) - 1) + ["Current"]


def test_a_real_failed_rollback_ends_degraded_with_the_providers_words(
    argo: ArgoHealth, requests_: Requests, sandboxes: Sandboxes, operator: OperatorProcess
) -> None:
    versions = _recorded(requests_, sandboxes, "recorded-failure", fail=True)

    healths = [argo.check(v) for v in versions]

    assert [h["status"] for h in healths[:-1]] == ["Progressing"] * (len(versions) - 1)
    assert healths[-1]["status"] == "Degraded"
    assert healths[-1]["message"].startswith("RollbackFailed: vector reports the rollback failed")
    assert kstatus(versions[-1]) == "Failed"

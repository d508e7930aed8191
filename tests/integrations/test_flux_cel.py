"""The Flux CEL health check (deploy/integrations/flux/, docs/gitops.md) on every status the operator
writes, evaluated by a real CEL implementation; kstatus (Flux's default without it) alongside.

Expected: Failed for every failed or unknown outcome (Stalled=True), Current once Ready=True, in
progress otherwise: while the operator works, while a plan awaits approval, and before the operator
has written any status (where kstatus alone says Current: the reason for the CEL check).
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.integrations.flux import FluxHealth, expressions
from tests.integrations.kstatus import kstatus
from tests.integrations.samples import SITUATIONS, fresh, written
from tests.support.controlplane import REPO

EXPECTED = {  # sample: Flux with the CEL check
    "Waiting": "InProgress",
    "Resolving (credentials missing)": "InProgress",
    "Pending": "InProgress",
    "InProgress (claimed)": "InProgress",
    "InProgress (triggered)": "InProgress",
    "Succeeded": "Current",
    "Succeeded (dry run)": "Current",
    "Succeeded (already at target)": "Current",
    "Failed (target not found)": "Failed",
    "Failed (provider failed the rollback)": "Failed",
    "Failed (timed out)": "Failed",
    "Unknown": "Failed",
    "AwaitingApproval": "InProgress",
    "Succeeded (already executed)": "Current",
    "Failed (already executed)": "Failed",
    "Failed (expired)": "Failed",
    "Failed (rejected)": "Failed",
    "Failed (plan changed)": "Failed",
}


@pytest.fixture(scope="module")
def flux() -> FluxHealth:
    return FluxHealth(expressions())


def test_every_sample_situation_has_an_expectation() -> None:
    assert set(EXPECTED) == set(SITUATIONS)


@pytest.mark.parametrize("name", list(SITUATIONS))
async def test_flux_cel_reads_each_status_the_operator_writes(flux: FluxHealth, name: str) -> None:
    obj = await written(*SITUATIONS[name])

    assert flux.status(obj) == EXPECTED[name]
    # The CEL check and kstatus agree once the operator has written a status.
    assert kstatus(obj) == EXPECTED[name]
    # failed and current never both hold, so the order Flux evaluates them in does not matter.
    assert not (flux.value("failed", obj) and flux.value("current", obj))


def test_a_request_without_status_is_in_progress_for_cel_while_kstatus_calls_it_current(
    flux: FluxHealth,
) -> None:
    obj = fresh(1)
    obj.pop("status", None)

    assert flux.status(obj) == "InProgress"
    assert flux.value("current", obj) is not True
    assert kstatus(obj) == "Current"


def test_docs_show_the_same_expressions_as_the_snippet_file() -> None:
    text = (REPO / "docs" / "gitops.md").read_text()
    blocks = [
        yaml.safe_load(b)
        for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
        if "healthCheckExprs" in b
    ]

    assert blocks, "docs/gitops.md shows no healthCheckExprs"
    for block in blocks:
        (entry,) = (
            block["healthCheckExprs"] if "healthCheckExprs" in block else block["spec"]["healthCheckExprs"]
        )
        assert {k: entry[k] for k in ("failed", "current")} == expressions()

"""GitOps tools apply the same manifest again and again: that must change nothing, anywhere.

Each test applies a RollbackRequest manifest with the real kubectl, lets the real operator finish
it through the sandbox, applies it again and checks: no write happened (same resourceVersion,
generation and status), no Event was added, and the provider saw exactly one rollback. A later
request, finished by the same operator, is the barrier: by then the operator has seen any event
the second apply could have caused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rollback_sandbox.serve import Sandboxes
from tests.support.controlplane import ControlPlane
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import Requests, manifest
from tests.support.scenarios import World

APPLY = {
    "client-side": ("apply",),
    "server-side": ("apply", "--server-side", "--field-manager", "gitops"),
}


def _apply(cluster: ControlPlane, mode: str, path: Path, namespace: str) -> str:
    return cluster.kubectl(*APPLY[mode], "-f", str(path), "-n", namespace).stdout.strip()


def _snapshot(requests_: Requests, name: str) -> dict[str, Any]:
    obj = requests_.get(name)
    meta = obj["metadata"]
    return {
        "resourceVersion": meta["resourceVersion"],
        "generation": meta["generation"],
        "managedFields": meta.get("managedFields"),
        "status": obj["status"],
        "events": [e.metadata.name for e in requests_.events(name)],
    }


def _barrier(requests_: Requests, world: World, sandboxes: Sandboxes, name: str) -> None:
    """Submit another request and wait for the operator to finish it."""
    scenario = world.vector()
    world.apply()
    requests_.secret(f"{name}-creds", scenario.secret)
    requests_.create(manifest(name, scenario.provider, secret=f"{name}-creds"))
    assert requests_.wait_terminal(name)["phase"] == "Succeeded"


@pytest.mark.parametrize("mode", list(APPLY))
def test_applying_an_unchanged_manifest_again_changes_nothing(
    mode: str,
    cluster: ControlPlane,
    requests_: Requests,
    sandboxes: Sandboxes,
    operator: OperatorProcess,
    tmp_path: Path,
) -> None:
    world = World(sandboxes)
    scenario = world.vector()
    world.apply()
    name = f"gitops-{mode}"
    requests_.secret(f"{name}-creds", scenario.secret)
    path = tmp_path / "rollback.yaml"
    path.write_text(yaml.safe_dump(manifest(name, scenario.provider, secret=f"{name}-creds")))
    assert _apply(cluster, mode, path, requests_.namespace).endswith(
        "created" if mode == "client-side" else "serverside-applied"
    )
    assert requests_.wait_terminal(name)["phase"] == "Succeeded"
    before = _snapshot(requests_, name)

    again = _apply(cluster, mode, path, requests_.namespace)
    _barrier(requests_, world, sandboxes, f"barrier-{mode}")

    assert again.endswith("unchanged" if mode == "client-side" else "serverside-applied")
    assert _snapshot(requests_, name) == before
    assert scenario.rollbacks(sandboxes) == 1


def test_a_label_added_by_a_gitops_tool_changes_metadata_only(
    cluster: ControlPlane,
    requests_: Requests,
    sandboxes: Sandboxes,
    operator: OperatorProcess,
    tmp_path: Path,
) -> None:
    world = World(sandboxes)
    scenario = world.vector()
    world.apply()
    requests_.secret("labelled-creds", scenario.secret)
    body = manifest("labelled", scenario.provider, secret="labelled-creds")
    path = tmp_path / "rollback.yaml"
    path.write_text(yaml.safe_dump(body))
    _apply(cluster, "client-side", path, requests_.namespace)
    assert requests_.wait_terminal("labelled")["phase"] == "Succeeded"
    before = _snapshot(requests_, "labelled")

    body["metadata"]["labels"] = {"app.kubernetes.io/instance": "payments-rollbacks"}
    path.write_text(yaml.safe_dump(body))
    assert _apply(cluster, "client-side", path, requests_.namespace).endswith("configured")
    _barrier(requests_, world, sandboxes, "barrier-label")

    after = _snapshot(requests_, "labelled")
    assert after["resourceVersion"] != before["resourceVersion"]  # the label was written...
    assert (after["generation"], after["status"], after["events"]) == (  # ...and nothing else happened
        before["generation"],
        before["status"],
        before["events"],
    )
    assert scenario.rollbacks(sandboxes) == 1

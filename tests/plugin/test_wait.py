"""``--wait`` and ``status -w`` follow a request through a real operator to its end.

The exit code carries the outcome (0 Succeeded, 1 Failed), each change prints one line, a short
watch timeout forces reconnects along the way, and Ctrl-C stops the watching without touching the
request.
"""

from __future__ import annotations

import re
import signal

from rollback_sandbox.serve import Sandboxes
from tests.plugin.runner import Plugin, Result
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import Requests
from tests.support.scenarios import Scenario, World


def _vector(sandboxes: Sandboxes, requests_: Requests, *, step: float = 0.0, fail: bool = False) -> Scenario:
    """A seeded Vector environment whose deployments take ``step`` seconds per stage."""
    world = World(sandboxes, vector_step_seconds=step)
    scenario = world.vector(fail=fail)
    world.apply()
    if "vector-creds" not in {
        s.metadata.name for s in requests_.core.list_namespaced_secret(requests_.namespace).items
    }:
        requests_.secret("vector-creds", scenario.secret)
    return scenario


def _args(scenario: Scenario, namespace: str, *extra: str) -> list[str]:
    block = scenario.provider["vector"]
    return [
        "vector",
        block["environmentId"],
        "--api-url",
        block["apiURL"],
        "--reason",
        "checkout errors",
        "--secret",
        "vector-creds",
        "-n",
        namespace,
        *extra,
    ]


def phases(result: Result) -> list[str]:
    """The phase column of the progress lines (after the name line)."""
    return [line.split()[1] for line in result.lines[1:]]


def test_wait_prints_each_phase_and_exits_0_when_the_rollback_succeeds(
    plugin: Plugin, sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _vector(sandboxes, requests_, step=0.4)

    result = plugin.run(*_args(scenario, requests_.namespace, "--steps-back", "1", "--wait"), timeout=90)

    assert result.code == 0, result
    name = result.lines[0]
    assert requests_.status(name)["phase"] == "Succeeded"
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d  Pending  waiting for the operator to pick the request up", result.lines[1]
    )
    assert "InProgress" in phases(result)
    assert phases(result)[-1] == "Succeeded"
    operation = requests_.status(name)["operation"]
    assert result.lines[-1].endswith(
        f"Succeeded (RollbackSucceeded)  rolled back to {scenario.earlier[0]}  "
        f"[operation {operation['id']} Succeeded: {operation['message']}]"
    )
    assert len(set(result.lines)) == len(result.lines)  # a line per change, never the same twice
    assert scenario.rollbacks(sandboxes) == 1


def test_wait_exits_1_when_the_provider_fails_the_rollback(
    plugin: Plugin, sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _vector(sandboxes, requests_, fail=True)

    result = plugin.run(*_args(scenario, requests_.namespace, "--steps-back", "1", "--wait"), timeout=90)

    assert result.code == 1, result
    assert phases(result)[-1] == "Failed"
    assert "Failed (RollbackFailed)  vector reports the rollback failed" in result.lines[-1]


def test_a_dry_run_waits_for_the_resolution_and_exits_0(
    plugin: Plugin, sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _vector(sandboxes, requests_)

    result = plugin.run(*_args(scenario, requests_.namespace, "--steps-back", "2", "--dry-run", "--wait"))

    assert result.code == 0, result
    assert result.lines[-1].endswith(
        f"Succeeded (DryRunSucceeded)  dry run: would roll back from {scenario.live} to {scenario.earlier[1]}"
    )
    assert scenario.rollbacks(sandboxes) == 0


def test_following_survives_watches_that_end_every_second(
    plugin: Plugin, sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _vector(sandboxes, requests_, step=1.5)  # pending 1.5s, deploying 1.5s: several watch windows

    result = plugin.run(
        *_args(scenario, requests_.namespace, "--steps-back", "1", "--wait", "--watch-timeout", "1"),
        timeout=90,
    )

    assert result.code == 0, result
    assert phases(result)[-1] == "Succeeded"
    assert any("Deploying" in line for line in result.lines)  # seen between two reconnects


def test_status_w_follows_a_running_request_to_its_end(
    plugin: Plugin, sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess
) -> None:
    scenario = _vector(sandboxes, requests_, step=4.0)  # ~8s of deploying: plenty to start following
    created = plugin.run(*_args(scenario, requests_.namespace, "--steps-back", "1", "--name", "followed"))
    assert created.code == 0, created.err
    requests_.wait_phase("followed", "InProgress")

    result = plugin.run("status", "followed", "-n", requests_.namespace, "-w", timeout=90)

    assert result.code == 0, result
    progress = [line for line in result.lines if re.match(r"\d\d:\d\d:\d\d  ", line)]
    summary = result.out.split(progress[0])[0]
    assert re.search(r"^Phase:\s+InProgress$", summary, re.MULTILINE)
    assert "Conditions:" in summary
    assert progress[0].split()[1] == "InProgress"
    assert progress[-1].split()[1] == "Succeeded"


def test_ctrl_c_stops_watching_and_leaves_the_request_alone(
    plugin: Plugin, namespace: str, k8s_api: object, crd: str
) -> None:
    unwatched = Requests(k8s_api, namespace)  # type: ignore[arg-type]  # no operator: it waits forever
    with plugin.start(
        "vector", "env1", "--steps-back", "1", "--reason", "r", "--secret", "s", "-n", namespace, "--wait"
    ) as running:
        name = running.line()
        assert "waiting for the operator" in running.line()

        running.proc.send_signal(signal.SIGINT)
        result = running.finish()

    assert result.code == 130
    assert f"stopped watching; {name} carries on in the cluster" in result.err
    assert "Traceback" not in result.err
    obj = unwatched.get(name)
    assert "deletionTimestamp" not in obj["metadata"]
    assert obj["status"] == {"observedGeneration": 0}  # untouched: only the schema's default

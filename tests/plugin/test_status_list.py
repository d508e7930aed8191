"""``kubectl rollback status`` and ``list`` describe real requests that a real operator finished.

One module-wide operator rolls back two Vector environments through the sandbox, one of them with
a rollback the provider fails; the tests read them back through the plugin (and through kubectl).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

from rollback_sandbox.serve import Sandboxes
from tests.plugin.runner import SCRIPT, Plugin
from tests.support.controlplane import ControlPlane
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import Requests
from tests.support.scenarios import Scenario, World


@dataclass
class Finished:
    good: Scenario
    bad: Scenario


def _create(plugin: Plugin, requests_: Requests, scenario: Scenario, name: str) -> None:
    env_id, url = scenario.provider["vector"]["environmentId"], scenario.provider["vector"]["apiURL"]
    result = plugin.run(
        "vector",
        env_id,
        "--api-url",
        url,
        "--steps-back",
        "1",
        "--reason",
        f"{name} release",
        "--secret",
        "vector-creds",
        "--name",
        name,
        "-n",
        requests_.namespace,
    )
    assert result.code == 0, result.err


@pytest.fixture(scope="module")
def finished(
    plugin: Plugin, requests_: Requests, sandboxes: Sandboxes, operator: OperatorProcess
) -> Finished:
    world = World(sandboxes)
    done = Finished(world.vector(), world.vector(fail=True))
    world.apply()
    requests_.secret("vector-creds", done.good.secret)
    _create(plugin, requests_, done.good, "good")
    _create(plugin, requests_, done.bad, "bad")
    requests_.wait_terminal("good")
    requests_.wait_terminal("bad")
    return done


def field(text: str, label: str) -> str:
    """The value of ``Label:`` in a status summary."""
    found = re.search(rf"^{label}:\s+(.*)$", text, re.MULTILINE)
    assert found, f"no {label} in:\n{text}"
    return found.group(1)


def row(text: str, first: str) -> list[str]:
    """The table row (conditions or events) whose first cell is ``first``, split on runs of spaces."""
    found = re.search(rf"^  {first}\s.*$", text, re.MULTILINE)
    assert found, f"no row {first} in:\n{text}"
    return re.split(r"\s{2,}", found.group(0).strip())


def test_status_summarises_a_successful_rollback(
    plugin: Plugin, requests_: Requests, finished: Finished
) -> None:
    result = plugin.run("status", "good", "-n", requests_.namespace)

    assert result.code == 0, result.err
    out, good = result.out, finished.good
    assert field(out, "Phase") == "Succeeded"
    assert field(out, "Reason") == "good release"
    assert (
        field(out, "Provider") == f"vector environment {good.provider['vector']['environmentId']} at "
        f"{good.provider['vector']['apiURL']}"
    )
    assert field(out, "Request").startswith("stepsBack=1")
    assert field(out, "Versions") == f"{good.live} -> {good.earlier[0]}"
    assert field(out, "Resolution").startswith("stepsBack=1: newest of")
    operation = requests_.status("good")["operation"]
    assert field(out, "Operation").startswith(f"{operation['id']}  Succeeded")
    assert row(out, "Ready")[:3] == ["Ready", "True", "RollbackSucceeded"]
    assert row(out, "Stalled")[:3] == ["Stalled", "False", "NoFailure"]
    assert [row(out, "Resolved")[1], row(out, "Triggered")[1], row(out, "Reconciling")[1]] == [
        "True",
        "True",
        "False",
    ]
    events = out.split("Events:")[1]
    assert re.search(r"Normal\s+RollbackTriggered\s+.*reason: good release", events)
    assert re.search(r"Normal\s+RollbackSucceeded\s+rolled back to", events)


def test_status_of_a_failed_rollback_shows_why(
    plugin: Plugin, requests_: Requests, finished: Finished
) -> None:
    result = plugin.run("status", "bad", "-n", requests_.namespace)

    assert result.code == 0  # the summary was shown; only -w reports the outcome in the exit code
    assert field(result.out, "Phase") == "Failed"
    assert field(result.out, "Message").startswith("vector reports the rollback failed")
    assert row(result.out, "Ready")[:3] == ["Ready", "False", "RollbackFailed"]
    assert row(result.out, "Stalled")[:3] == ["Stalled", "True", "RollbackFailed"]
    assert re.search(r"Warning\s+RollbackFailed", result.out.split("Events:")[1])


def test_list_tables_the_requests_like_kubectl_get_with_age_and_message(
    plugin: Plugin, requests_: Requests, finished: Finished
) -> None:
    result = plugin.run("list", "-n", requests_.namespace)

    assert result.code == 0, result.err
    header, *rows = result.lines
    assert header.split() == ["NAME", "PROVIDER", "PHASE", "TARGET", "REASON", "AGE", "MESSAGE"]
    table = {cells[0]: cells for cells in (re.split(r"\s{2,}", line) for line in rows)}
    assert table["good"][:5] == ["good", "vector", "Succeeded", finished.good.earlier[0], "RollbackSucceeded"]
    assert re.fullmatch(r"\d+s|\d+m\d*s?", table["good"][5])
    assert table["good"][6] == f"rolled back to {finished.good.earlier[0]}"
    assert table["bad"][:5] == ["bad", "vector", "Failed", finished.bad.earlier[0], "RollbackFailed"]
    assert table["bad"][6].startswith("vector reports the rollback failed")


def test_list_across_namespaces_adds_the_namespace_column(
    plugin: Plugin, requests_: Requests, finished: Finished
) -> None:
    result = plugin.run("list", "-A")

    assert result.code == 0, result.err
    assert result.lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    ours = [line.split()[:3] for line in result.lines if line.startswith(requests_.namespace + " ")]
    assert sorted(ours) == [[requests_.namespace, "bad", "vector"], [requests_.namespace, "good", "vector"]]


def test_kubectl_finds_the_plugin_on_path(
    cluster: ControlPlane, requests_: Requests, finished: Finished
) -> None:
    assert SCRIPT.is_file(), f"{SCRIPT.name} is not installed next to {sys.executable}; run make venv"
    env = cluster.env()
    env["PATH"] = f"{env['PATH']}{os.pathsep}{SCRIPT.parent}"

    kubectl = str(cluster.bin_dir / "kubectl")
    result = subprocess.run(
        [kubectl, "rollback", "list", "-n", requests_.namespace],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.splitlines()[0].split()[:3] == ["NAME", "PROVIDER", "PHASE"]
    assert {line.split()[0] for line in result.stdout.splitlines()[1:]} == {"good", "bad"}


def test_status_of_a_missing_request_and_list_of_an_empty_namespace(
    plugin: Plugin, requests_: Requests, namespace: str
) -> None:
    missing = plugin.run("status", "nothing-here", "-n", requests_.namespace)
    empty = plugin.run("list", "-n", namespace)

    assert missing.code == 1
    assert (
        'Error from server (NotFound): rollbackrequests.rollback.dev "nothing-here" not found' in missing.err
    )
    assert (empty.code, empty.out) == (0, "")
    assert f"No resources found in {namespace} namespace." in empty.err


def test_the_plugin_needs_none_of_the_dev_only_packages(
    cluster: ControlPlane, requests_: Requests, finished: Finished
) -> None:
    # The sync `kubernetes` client is a dev dependency only; make importing it fail, then run the plugin.
    code = (
        "import sys; sys.modules['kubernetes'] = None; "
        "from rollback_operator.plugin import main; sys.exit(main())"
    )

    result = subprocess.run(
        [sys.executable, "-c", code, "list", "-n", requests_.namespace],
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert {line.split()[0] for line in result.stdout.splitlines()[1:]} == {"good", "bad"}


def test_history_tables_the_rollbacks_the_cluster_ran_with_their_outcome(
    plugin: Plugin, requests_: Requests, finished: Finished
) -> None:
    result = plugin.run("history", "-n", requests_.namespace, "--provider", "vector")

    assert result.code == 0, result.err
    header, *rows = result.lines
    assert header.split() == [
        "REQUEST", "PROVIDER", "FROM", "TO", "OUTCOME", "REQUESTED-BY", "APPROVED-BY", "AGE", "RECORD",
    ]  # fmt: skip
    table = {cells[0]: cells for cells in (re.split(r"\s{2,}", line) for line in rows)}
    good, bad = f"{requests_.namespace}/good", f"{requests_.namespace}/bad"
    assert set(table) == {good, bad}
    assert table[good][1:5] == ["vector", finished.good.live, finished.good.earlier[0], "RollbackSucceeded"]
    assert table[bad][4] == "RollbackFailed"
    assert table[good][8] == requests_.record_name("good")


def test_history_of_another_namespace_or_provider_is_empty(
    plugin: Plugin, requests_: Requests, finished: Finished
) -> None:
    other = plugin.run("history", "-n", f"{requests_.namespace}-other")
    facets = plugin.run("history", "-n", requests_.namespace, "--provider", "facets")

    assert (other.code, other.out, other.err.strip()) == (0, "", "No rollbacks recorded.")
    assert (facets.code, facets.out) == (0, "")

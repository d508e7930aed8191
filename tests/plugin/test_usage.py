"""A wrong command line is refused before anything is sent: exit code 2, and the message names the flag.

These runs point KUBECONFIG at a file that does not exist: had the plugin tried to reach a cluster,
it would have ended with exit code 1 and a kubeconfig complaint instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugin.runner import Plugin

VECTOR = ["vector", "01jfgxk4nqrst5vwx9yz0abcdg", "--secret", "vector-credentials"]
FACETS = ["facets", "--environment", "env1", "--resource-type", "service", "--resource-name", "api"]
REASON = ["--reason", "bad release"]


@pytest.fixture
def offline(tmp_path: Path) -> Plugin:
    return Plugin({"KUBECONFIG": str(tmp_path / "absent"), "PATH": ""})


CASES = {
    "no sub-command": ([], "COMMAND"),
    "no target": ([*VECTOR, *REASON], "--steps-back"),
    "both targets": (
        [*VECTOR, *REASON, "--steps-back", "1", "--to", "v1"],
        "--to: not allowed with argument --steps-back",
    ),
    "no reason": ([*VECTOR, "--steps-back", "1"], "--reason"),
    "empty reason": (
        [*VECTOR, "--steps-back", "1", "--reason", ""],
        "--reason: String should have at least 1",
    ),
    "reason too long": (
        [*VECTOR, "--steps-back", "1", "--reason", "x" * 1025],
        "--reason: String should have at most",
    ),
    "steps back zero": (
        [*VECTOR, *REASON, "--steps-back", "0"],
        "--steps-back: Input should be greater than or equal to 1",
    ),
    "steps back too far": (
        [*VECTOR, *REASON, "--steps-back", "51"],
        "--steps-back: Input should be less than or equal to 50",
    ),
    "steps back not a number": ([*VECTOR, *REASON, "--steps-back", "two"], "--steps-back: invalid int value"),
    "timeout too short": (
        [*VECTOR, *REASON, "--to", "v1", "--timeout-seconds", "5"],
        "--timeout-seconds: Input should be",
    ),
    "plain http api url": (
        [*VECTOR, *REASON, "--to", "v1", "--api-url", "http://api.example.com"],
        "--api-url: must be an https URL",
    ),
    "secret not a name": (
        ["vector", "env1", "--secret", "Vector_Creds", *REASON, "--to", "v1"],
        "--secret: must be a Kubernetes object name",
    ),
    "request name not a name": (
        [*VECTOR, *REASON, "--to", "v1", "--name", "Bad_Name"],
        "--name: must be a Kubernetes object name",
    ),
    "empty environment id": (
        ["vector", "", "--secret", "s", *REASON, "--to", "v1"],
        "ENV_ID: String should have at least 1",
    ),
    "facets without control plane": (
        [*FACETS, "--secret", "s", *REASON, "--to", "v1"],
        "--control-plane-url",
    ),
    "facets over http": (
        [*FACETS, "--control-plane-url", "http://acme.example", "--secret", "s", *REASON, "--to", "v1"],
        "--control-plane-url: must be an https URL",
    ),
    "yandex bad iam url": (
        ["yandex", "bba1", "--secret", "s", *REASON, "--to", "r1", "--iam-url", "ftp://iam"],
        "--iam-url: must be an https URL",
    ),
}


@pytest.mark.parametrize(("args", "expected"), list(CASES.values()), ids=list(CASES))
def test_a_wrong_command_line_exits_2_and_names_the_flag(
    offline: Plugin, args: list[str], expected: str
) -> None:
    result = offline.run(*args)

    assert result.code == 2, result
    assert expected in result.err
    assert "usage: kubectl rollback" in result.err
    assert result.out == ""


def test_every_mistake_in_one_command_is_reported_at_once(offline: Plugin) -> None:
    result = offline.run("vector", "", "--secret", "S", "--reason", "", "--steps-back", "99")

    assert result.code == 2
    for flag in ("ENV_ID:", "--secret:", "--reason:", "--steps-back:"):
        assert flag in result.err


def test_a_valid_command_gets_as_far_as_the_kubeconfig(offline: Plugin) -> None:
    result = offline.run(*VECTOR, *REASON, "--steps-back", "1")

    assert result.code == 1
    assert "no kubeconfig at" in result.err


def test_without_the_plugin_extra_the_plugin_says_how_to_install_it(tmp_path: Path) -> None:
    """The operator's image has no Kubernetes client library: the plugin names the extra it needs."""
    script = (
        "import runpy, sys; sys.modules['kubernetes_asyncio'] = None; "  # as if it were not installed
        "sys.argv = ['kubectl-rollback', 'list']; "
        "runpy.run_module('rollback_operator.plugin', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"KUBECONFIG": str(tmp_path / "absent"), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1, done
    assert "pip install 'rollback-operator[plugin]'" in done.stderr
    assert "Traceback" not in done.stderr

"""The operator starts as a uid that has no passwd entry, as the image's 65532 in every Pod.

kopf names each operator instance; left to itself it asks ``getpass.getuser()``, which raises
``KeyError`` for such a uid, and the Pod crash-loops before its first request. The CLI passes its own
identity instead.
"""

from __future__ import annotations

from pathlib import Path

from rollback_sandbox.serve import Sandboxes
from tests.support.controlplane import REPO, ControlPlane
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import Requests, manifest
from tests.support.scenarios import World


class NoPasswdOperator(OperatorProcess):
    """``rollback-operator run`` through tests.support.nopasswd."""

    def command(self) -> list[str]:
        argv = super().command()
        module = argv.index("rollback_operator.cli")
        argv[module] = "tests.support.nopasswd"
        return argv


def test_an_operator_whose_uid_has_no_passwd_entry_starts_and_rolls_back(
    cluster: ControlPlane,
    namespace: str,
    operator_kubeconfig: Path,
    sandboxes: Sandboxes,
    requests_: Requests,
    tmp_path: Path,
) -> None:
    env = {**cluster.env(), "KUBECONFIG": str(operator_kubeconfig), "PYTHONPATH": str(REPO)}
    env.pop("USER", None)
    allowed = [arg for url in sandboxes.allowed_endpoints() for arg in ("--allowed-endpoint", url)]
    operator = NoPasswdOperator(
        env=env, log_path=tmp_path / "operator.log", namespaces=[namespace], extra_args=allowed
    )
    world = World(sandboxes)
    scenario = world.scenario("vector")
    world.apply()
    requests_.secret("creds", scenario.secret)
    requests_.create(manifest("back-one", scenario.provider, secret="creds"))
    try:
        operator.start()  # raises with the log's tail if the process exits (the KeyError did)
        status = requests_.wait_terminal("back-one", timeout=60)
    finally:
        operator.stop(timeout=10)

    assert status["phase"] == "Succeeded", operator.tail()
    assert scenario.rollbacks(sandboxes) == 1
    assert "getpwuid" not in operator.log_text()

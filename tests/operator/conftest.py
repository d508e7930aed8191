"""End-to-end fixtures: the real API server, the three sandboxes, and the operator as a process.

Each test gets a fresh namespace, fresh sandboxes on fresh ports (seeded by the test) and an
operator process watching only that namespace, so tests cannot disturb each other. The operator
authenticates as the ServiceAccount from deploy/rbac/, with exactly the rights an installation
grants, so every end-to-end test is also a test of the RBAC rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rollback_sandbox.serve import Sandboxes
from tests.support.controlplane import ControlPlane
from tests.support.crd import install_crd
from tests.support.operator import OperatorProcess
from tests.support.rbac import install_operator_rbac
from tests.support.rollbacks import Requests


@pytest.fixture(scope="session")
def crd(cluster: ControlPlane) -> str:
    return install_crd(cluster)


@pytest.fixture(scope="session")
def operator_kubeconfig(cluster: ControlPlane, crd: str) -> Path:
    """A kubeconfig for the operator's ServiceAccount (least privilege, as deployed)."""
    return install_operator_rbac(cluster)


@pytest.fixture
def requests_(k8s_api: object, namespace: str, crd: str) -> Requests:
    return Requests(k8s_api, namespace)  # type: ignore[arg-type]


OperatorFactory = Callable[..., OperatorProcess]


@pytest.fixture
def operator_factory(
    cluster: ControlPlane, namespace: str, sandboxes: Sandboxes, operator_kubeconfig: Path, tmp_path: Path
) -> Iterator[OperatorFactory]:
    """Builds operator processes for this test's namespace, allowed to reach the sandboxes."""
    started: list[OperatorProcess] = []

    def build(
        *, extra_args: tuple[str, ...] = (), log_name: str = "operator.log", allow_sandboxes: bool = True
    ) -> OperatorProcess:
        urls = sandboxes.allowed_endpoints() if allow_sandboxes else []
        allowed = [arg for url in urls for arg in ("--allowed-endpoint", url)]
        proc = OperatorProcess(
            env=cluster.env(),
            log_path=tmp_path / log_name,
            namespaces=[namespace],
            extra_args=[*allowed, *extra_args],
        )
        started.append(proc)
        return proc

    yield build
    for proc in started:
        proc.stop(timeout=10)


@pytest.fixture
def operator(operator_factory: OperatorFactory) -> OperatorProcess:
    """One running operator for this test's namespace."""
    return operator_factory().start()

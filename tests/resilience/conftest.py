"""Resilience fixtures: sizes (small in ``make test``, full with ``--resilience-full``) and the report.

The small sizes keep the whole directory under about two minutes (the soak about 35 s);
``make resilience`` passes ``--resilience-full`` for the sizes the issue names and writes every
test's figures to docs/resilience.md (``--resilience-report PATH`` writes them elsewhere, at any
size); sections of tests that did not run are kept from the document as it was. Each test gets a
fresh namespace, fresh sandboxes and operator processes with the fast test timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import kubernetes
import pytest

from rollback_sandbox.serve import Sandboxes
from tests.resilience.report import FULL, SMALL, Report, Sizes
from tests.support.controlplane import REPO, ControlPlane
from tests.support.crd import install_crd
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import GROUP, PLURAL, VERSION, Requests

DOCUMENT = REPO / "docs" / "resilience.md"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("resilience")
    group.addoption(
        "--resilience-full",
        action="store_true",
        default=False,
        help="run the resilience suite at full size and write docs/resilience.md",
    )
    group.addoption(
        "--resilience-report",
        type=Path,
        default=None,
        help="write the resilience figures to this file (any size)",
    )


@pytest.fixture(scope="session")
def sizes(pytestconfig: pytest.Config) -> Sizes:
    return FULL if pytestconfig.getoption("resilience_full") else SMALL


@pytest.fixture(scope="session")
def report(pytestconfig: pytest.Config, sizes: Sizes) -> Iterator[Report]:
    """Collects each test's figures; written out at the end of the session when asked to."""
    collected = Report(sizes)
    yield collected
    path = pytestconfig.getoption("resilience_report")
    if path is None and pytestconfig.getoption("resilience_full"):
        path = DOCUMENT
    if path is not None and collected.sections:
        previous = path.read_text() if path.exists() else None
        path.write_text(collected.markdown(previous))


@pytest.fixture(scope="session")
def crd(cluster: ControlPlane, k8s_api: kubernetes.client.ApiClient) -> str:
    """The CRD, installed and served: a new CRD answers 429 until its watch cache is initialized."""
    name = install_crd(cluster)
    custom = kubernetes.client.CustomObjectsApi(k8s_api)
    deadline = time.monotonic() + 60
    while True:
        try:
            custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
            return name
        except kubernetes.client.exceptions.ApiException as exc:
            if exc.status != 429 or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


@pytest.fixture
def requests_(k8s_api: kubernetes.client.ApiClient, namespace: str, crd: str) -> Requests:
    return Requests(k8s_api, namespace)


OperatorFactory = Callable[..., OperatorProcess]


@pytest.fixture
def operator_factory(
    cluster: ControlPlane, namespace: str, sandboxes: Sandboxes, crd: str, tmp_path: Path
) -> Iterator[OperatorFactory]:
    """Builds operator processes for this test's namespace, allowed to reach the sandboxes."""
    started: list[OperatorProcess] = []

    def build(*, log_name: str = "operator.log", extra_args: Sequence[str] = ()) -> OperatorProcess:
        allowed = [arg for url in sandboxes.allowed_endpoints() for arg in ("--allowed-endpoint", url)]
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

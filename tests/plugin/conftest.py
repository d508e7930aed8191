"""Fixtures of the plugin tests: the CRD, the plugin as a real process, and one operator per module.

Starting an operator costs seconds, so each module that needs one gets one (``operator``), with
its own sandboxes, watching one namespace of that module (``watched``). Tests whose requests must
stay untouched use the per-test ``namespace``, which no operator watches. ``plugin`` runs the
plugin as a real process against the session's API server, as a user would.
``tests/integrations`` imports these fixtures too.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import kubernetes
import pytest

from rollback_sandbox.serve import Sandboxes
from tests.plugin.runner import Plugin
from tests.support.controlplane import ControlPlane
from tests.support.crd import install_crd
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import Requests
from tests.support.sandboxes import serving


@pytest.fixture(scope="session")
def crd(cluster: ControlPlane) -> str:
    return install_crd(cluster)


@pytest.fixture(scope="session")
def plugin(cluster: ControlPlane) -> Plugin:
    return Plugin(cluster.env())


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[Sandboxes]:
    """One set of sandboxes for the module, as its one operator serves the whole module."""
    with serving() as boxes:
        yield boxes


@pytest.fixture(scope="module")
def watched(k8s_api: kubernetes.client.ApiClient, request: pytest.FixtureRequest, crd: str) -> str:
    """A namespace for the module, watched by the module's operator."""
    name = f"{request.module.__name__.rsplit('.', 1)[-1].replace('_', '-')}-{secrets.token_hex(3)}"
    body = kubernetes.client.V1Namespace(metadata=kubernetes.client.V1ObjectMeta(name=name))
    kubernetes.client.CoreV1Api(k8s_api).create_namespace(body)
    return name


@pytest.fixture(scope="module")
def requests_(k8s_api: kubernetes.client.ApiClient, watched: str) -> Requests:
    return Requests(k8s_api, watched)


@pytest.fixture(scope="module")
def operator(
    cluster: ControlPlane, watched: str, sandboxes: Sandboxes, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """One operator for the module, watching ``watched`` and allowed to reach the sandboxes."""
    allowed = [arg for url in sandboxes.allowed_endpoints() for arg in ("--allowed-endpoint", url)]
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    proc = OperatorProcess(env=cluster.env(), log_path=log, namespaces=[watched], extra_args=allowed)
    proc.start()
    yield proc
    proc.stop(timeout=10)

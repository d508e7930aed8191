"""Fixtures of the installation tests: the CRD, and clients logged in as the operator's ServiceAccount.

``operator_kubeconfig`` comes from tests.support.rbac (deploy/rbac/ applied, a TokenRequest token);
``operator_api`` is a sync Kubernetes client that authenticates with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from tests.support.controlplane import ControlPlane
from tests.support.crd import install_crd
from tests.support.rbac import install_operator_rbac


@pytest.fixture(scope="session")
def crd(cluster: ControlPlane) -> str:
    return install_crd(cluster)


@pytest.fixture(scope="session")
def operator_kubeconfig(cluster: ControlPlane) -> Path:
    return install_operator_rbac(cluster)


@pytest.fixture(scope="session")
def operator_api(operator_kubeconfig: Path, crd: str) -> Iterator[kubernetes.client.ApiClient]:
    client = kubernetes.config.new_client_from_config(config_file=str(operator_kubeconfig))
    yield client
    client.close()

"""Fixtures of the API tests: the installed RollbackRequest CRD and a namespace shared by a module.

Other test directories reuse ``crd`` by importing it into their own conftest
(``from tests.api.conftest import crd``) or by calling ``tests.support.crd.install_crd``.
"""

from __future__ import annotations

import secrets

import pytest

from tests.support.controlplane import ControlPlane
from tests.support.crd import install_crd


@pytest.fixture(scope="session")
def crd(cluster: ControlPlane) -> str:
    """The name of the RollbackRequest CRD, applied from crds/ and Established."""
    return install_crd(cluster)


@pytest.fixture(scope="module")
def module_namespace(cluster: ControlPlane, crd: str) -> str:
    """One namespace for a module's many short tests (namespaces cannot be deleted here anyway)."""
    name = f"rbr-api-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", name)
    return name

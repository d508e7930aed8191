"""Fixtures of the chart tests: helm (built once by tests/helm/build.sh), and the monitoring CRDs.

`make test` builds helm before pytest starts; the `helm_built` fixture builds it when a test run
without make needs it (the first build takes a few minutes, later runs nothing).
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.helm.chart import BUILD_SCRIPT, MONITORING_CRDS
from tests.operator.conftest import crd, operator, operator_factory, operator_kubeconfig, requests_
from tests.support.controlplane import ControlPlane
from tests.support.crd import install_crd
from tests.support.rbac import install_operator_rbac

__all__ = ["crd", "operator", "operator_factory", "operator_kubeconfig", "requests_"]


@pytest.fixture(scope="session", autouse=True)
def helm_built() -> None:
    build = subprocess.run([str(BUILD_SCRIPT)], capture_output=True, text=True, check=False, timeout=900)
    if build.returncode != 0:
        pytest.fail(f"{BUILD_SCRIPT.name} failed (it needs Go 1.26):\n{build.stderr}")


@pytest.fixture(scope="session")
def installed(cluster: ControlPlane) -> ControlPlane:
    """The CRDs, and deploy/rbac/ (which creates the namespace `rollback-operator` with Pod Security
    `restricted`, so the dry runs below also check the pod against that profile)."""
    install_crd(cluster)
    install_operator_rbac(cluster)
    return cluster


@pytest.fixture(scope="session")
def monitoring_crds(cluster: ControlPlane) -> list[str]:
    """The Prometheus Operator's ServiceMonitor, PodMonitor and PrometheusRule CRDs, installed."""
    files = sorted(MONITORING_CRDS.glob("*.yaml"))
    assert len(files) == 3, f"{MONITORING_CRDS} should hold three CRDs (tests/helm/monitoring-crds.sh)"
    for path in files:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    names = [
        f"{plural}.monitoring.coreos.com" for plural in ("servicemonitors", "podmonitors", "prometheusrules")
    ]
    query = '{.status.conditions[?(@.type=="Established")].status}'
    deadline = time.monotonic() + 60
    for name in names:
        while cluster.kubectl("get", "crd", name, "-o", f"jsonpath={query}").stdout.strip() != "True":
            assert time.monotonic() < deadline, f"{name} not Established within 60s"
            time.sleep(0.2)
    return names

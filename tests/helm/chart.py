"""The chart read as data: helm run from .bin/ (tests/helm/build.sh), rendered objects, value files."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.support.controlplane import BIN_DIR, REPO

CHART = REPO / "charts" / "rollback-operator"
HELM = BIN_DIR / "helm"
BUILD_SCRIPT = REPO / "tests" / "helm" / "build.sh"
VALUES = REPO / "tests" / "helm" / "values"
MONITORING_CRDS = BIN_DIR / "monitoring-crds"
RELEASE = "rollback-operator"
NAMESPACE = "rollback-operator"
KUBE_VERSION = "1.36.3"  # the test control plane's (tests/controlplane/go.mod)


def helm(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the built helm; with ``check``, a failure raises with helm's stderr."""
    result = subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def template_args(
    values: Sequence[str] = (), sets: Sequence[str] = (), *, namespace: str = NAMESPACE
) -> list[str]:
    """``helm template`` arguments for the chart with these value files (names in tests/helm/values/)."""
    args = ["template", RELEASE, str(CHART), "--namespace", namespace, "--kube-version", KUBE_VERSION]
    args += [arg for name in values for arg in ("--values", str(VALUES / f"{name}.yaml"))]
    args += [arg for item in sets for arg in ("--set", item)]
    return args


def rendered(values: Sequence[str] = (), sets: Sequence[str] = (), *, crds: bool = False) -> str:
    """The chart's manifests as ``helm template`` prints them."""
    return helm(*template_args(values, sets), *(["--include-crds"] if crds else [])).stdout


def render(
    values: Sequence[str] = (), sets: Sequence[str] = (), *, crds: bool = False
) -> list[dict[str, Any]]:
    """The chart's objects."""
    return [doc for doc in yaml.safe_load_all(rendered(values, sets, crds=crds)) if doc]


def kinds(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(kind, name) of every object."""
    return {(o["kind"], o["metadata"]["name"]) for o in objects}


def value_files() -> list[str]:
    """The names of the value files in tests/helm/values/."""
    return sorted(path.stem for path in VALUES.glob("*.yaml"))


def chart_files(directory: str) -> list[Path]:
    """The files of one of the chart's directories."""
    return sorted((CHART / directory).iterdir())

"""The release pipeline, checked here though it runs only on GitHub: both workflows pass actionlint
(built from its pinned Go module, with shellcheck over the `run:` scripts where shellcheck is
installed), every action is pinned by commit, and the release does what docs/install.md promises.
And the SBOM `make sbom` writes lists every runtime dependency at the version the image installs.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.controlplane import BIN_DIR, REPO

WORKFLOWS = REPO / ".github" / "workflows"
BUILD_SCRIPT = REPO / "tests" / "release" / "build.sh"


@pytest.fixture(scope="module")
def actionlint() -> Path:
    build = subprocess.run([str(BUILD_SCRIPT)], capture_output=True, text=True, check=False, timeout=600)
    if build.returncode != 0:
        pytest.fail(f"{BUILD_SCRIPT.name} failed (it needs Go 1.26):\n{build.stderr}")
    return BIN_DIR / "actionlint"


def _workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def _steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return steps


def _uses(steps: list[dict[str, Any]], action: str) -> dict[str, Any]:
    return next(s for s in steps if s.get("uses", "").startswith(f"{action}@"))


def test_the_workflows_pass_actionlint(actionlint: Path) -> None:
    files = sorted(WORKFLOWS.glob("*.yaml"))
    result = subprocess.run(
        [str(actionlint), "-no-color", *map(str, files)], capture_output=True, text=True, check=False
    )

    assert [f.name for f in files] == ["ci.yaml", "release.yaml"]
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_a_broken_workflow(actionlint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ foo.bar }}\n"
    )
    result = subprocess.run(
        [str(actionlint), "-no-color", str(broken)], capture_output=True, text=True, check=False
    )

    assert result.returncode != 0
    assert "undefined variable" in result.stdout


def test_every_action_is_pinned_by_commit_and_names_its_release() -> None:
    for path in sorted(WORKFLOWS.glob("*.yaml")):
        for line in path.read_text().splitlines():
            if (found := re.search(r"uses: (\S+)", line)) is not None:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", found.group(1)), line
                assert re.search(r"# v\d+\.\d+\.\d+$", line), line


def test_ci_runs_make_check_and_make_test() -> None:
    ci = _workflow("ci.yaml")
    runs = {step.get("run") for job in ci["jobs"] for step in _steps(ci, job)}

    assert {"make check", "make test"} <= runs
    assert ci["permissions"] == {"contents": "read"}


def test_the_image_is_multi_arch_with_provenance_and_sbom_and_signed_keyless_by_digest() -> None:
    release = _workflow("release.yaml")
    job, steps = release["jobs"]["image"], _steps(release, "image")
    build = _uses(steps, "docker/build-push-action")["with"]
    scripts = "\n".join(s.get("run", "") for s in steps)

    assert set(build["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert (build["push"], build["provenance"], build["sbom"]) == (True, "mode=max", True)
    assert job["permissions"]["id-token"] == "write"
    _uses(steps, "sigstore/cosign-installer")
    assert 'cosign sign --yes "${IMAGE}@${DIGEST}"' in scripts
    assert _uses(steps, "anchore/sbom-action")["with"]["format"] == "cyclonedx-json"
    assert "cosign attest --yes --type cyclonedx" in scripts


def test_the_chart_is_pinned_to_the_image_digest_pushed_as_oci_and_signed() -> None:
    release = _workflow("release.yaml")
    scripts = "\n".join(s.get("run", "") for s in _steps(release, "chart"))

    assert release["jobs"]["chart"]["needs"] == "image"
    assert "helm package charts/rollback-operator" in scripts
    assert re.search(r"helm push \S+ \"oci://ghcr\.io/", scripts)
    assert "digest: ${DIGEST}" in scripts
    assert 'cosign sign --yes "$REF"' in scripts


def _locked(path: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", path.read_text(), flags=re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def test_the_runtime_lock_is_the_image_part_of_the_dev_lock() -> None:
    runtime, dev = (
        _locked(REPO / "requirements" / "runtime.lock"),
        _locked(REPO / "requirements" / "dev.lock"),
    )

    assert runtime.items() <= dev.items()


def test_the_sbom_lists_every_runtime_dependency_at_its_locked_version(tmp_path: Path) -> None:
    out = tmp_path / "sbom.cdx.json"
    subprocess.run(
        ["make", "--no-print-directory", "sbom", f"SBOM={out}"],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    bom = json.loads(out.read_text())
    listed = {canonicalize_name(c["name"]): c["version"] for c in bom["components"]}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    direct = {canonicalize_name(Requirement(spec).name) for spec in project["dependencies"]}
    locked = _locked(REPO / "requirements" / "dev.lock")

    assert bom["bomFormat"] == "CycloneDX"
    assert bom["metadata"]["component"]["name"] == project["name"]
    assert {name: listed.get(name) for name in direct} == {name: locked[name] for name in direct}
    assert listed == _locked(REPO / "requirements" / "runtime.lock")

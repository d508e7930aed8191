"""Fixtures shared by every test: the session's real control plane and clients for it.

`cluster` is one control plane per session (tests.support.controlplane), `k8s_api` a sync
`kubernetes` client for it as admin, `namespace` a fresh namespace per test, `sandboxes` the three
provider sandboxes (unseeded) for one test. Tests that use `cluster`,
directly or through another fixture, are marked `kube`, so `pytest -m "not kube"` needs no server.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import subprocess
from collections.abc import Iterator

import kubernetes
import pytest

from rollback_sandbox.serve import Sandboxes
from tests.support.controlplane import BIN_DIR, BUILD_SCRIPT, ControlPlane
from tests.support.sandboxes import serving


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kube)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the control plane before the first test, where no per-test timeout applies."""
    if session.config.option.collectonly or not any(
        item.get_closest_marker("kube") for item in session.items
    ):
        return
    capture = session.config.pluginmanager.getplugin("capturemanager")
    uncaptured = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with uncaptured:  # a first build takes minutes: let it say so
        build = subprocess.run([str(BUILD_SCRIPT)], check=False)
    if build.returncode != 0:
        pytest.exit(f'{BUILD_SCRIPT.name} failed; without Go, run pytest -m "not kube"', returncode=4)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    plane = ControlPlane(tmp_path_factory.mktemp("controlplane"), BIN_DIR)
    plane.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("KUBECONFIG", str(plane.kubeconfig))
            yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def k8s_api(cluster: ControlPlane) -> Iterator[kubernetes.client.ApiClient]:
    client = kubernetes.config.new_client_from_config(config_file=str(cluster.kubeconfig))
    yield client
    client.close()


@pytest.fixture
def namespace(k8s_api: kubernetes.client.ApiClient, request: pytest.FixtureRequest) -> str:
    """A new namespace named after the test; left in place for post-mortems (the session's etcd goes)."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50].rstrip("-")
    name = f"{stem}-{secrets.token_hex(3)}"
    body = kubernetes.client.V1Namespace(metadata=kubernetes.client.V1ObjectMeta(name=name))
    kubernetes.client.CoreV1Api(k8s_api).create_namespace(body)
    return name


@pytest.fixture
def sandboxes() -> Iterator[Sandboxes]:
    with serving() as boxes:
        yield boxes

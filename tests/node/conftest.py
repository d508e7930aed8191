"""The node tier's fixtures: the node, the provider sandboxes on its bridge, the operator installed.

Every test here is marked ``node``. The node needs root, the Debian packages and the images that
``make node-build`` provides; when it cannot start, the tier fails loudly (CI is such a machine), and
``pytest -m "not node"`` runs everything else. The node is taken down after the tier, also when
tests fail (and ``make node-down`` cleans up after a killed run).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import kubernetes
import pytest

from tests.node.install import install
from tests.node.node import GATEWAY, Node
from tests.node.sandboxes import NodeSandboxes
from tests.support.rollbacks import Requests
from tests.support.tls import TestCA


@pytest.fixture(scope="package")
def node() -> Iterator[Node]:
    node = Node()
    node.down()  # whatever a killed run left
    try:
        node.up()
        yield node
    finally:
        node.down()


@pytest.fixture(scope="package")
def node_api(node: Node) -> Iterator[kubernetes.client.ApiClient]:
    client = kubernetes.config.new_client_from_config(config_file=str(node.kubeconfig))
    yield client
    client.close()


@pytest.fixture(scope="package")
def provider_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("provider-ca"), "provider sandboxes test CA")


@pytest.fixture(scope="package")
def node_sandboxes(
    node: Node, provider_ca: TestCA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeSandboxes]:
    log = tmp_path_factory.mktemp("sandboxes") / "sandboxes.log"
    boxes = NodeSandboxes(listen=GATEWAY, ca=provider_ca, log_path=log).start()
    yield boxes
    boxes.stop()


@pytest.fixture(scope="package")
def installed(node: Node, node_sandboxes: NodeSandboxes, provider_ca: TestCA) -> Node:
    """deploy/ through the overlay, then configured as docs/install.md says: the sandboxes' URLs on
    the allow-list, and the CA that signed their certificate as the providers' CA bundle."""
    install(node, allowed_endpoints=node_sandboxes.allowed_endpoints(), ca_cert=provider_ca.cert_path)
    return node


@pytest.fixture
def node_requests(installed: Node, node_api: kubernetes.client.ApiClient) -> Requests:
    name = f"node-{secrets.token_hex(3)}"
    installed.kubectl("create", "namespace", name)
    return Requests(node_api, name)

"""Smoke tests of the local control plane itself (tests.support.controlplane) against the real server:
the pinned version answers, CRDs, custom objects, Secrets, Events and watches work, and RBAC is enforced
for the `nobody` user and for ServiceAccount tokens. Other suites rely on all of this.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import kubernetes
import pytest
from kubernetes.client import ApiClient, CoreV1Api, CustomObjectsApi
from kubernetes.client.exceptions import ApiException

from tests.support.controlplane import REPO, ControlPlane

GROUP, VERSION, PLURAL = "smoke.rollback.test", "v1", "widgets"
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                        },
                    }
                },
            }
        ],
    },
}


def pinned_kubernetes_version() -> str:
    go_mod = (REPO / "tests" / "controlplane" / "go.mod").read_text()
    match = re.search(r"^\s*k8s\.io/kubernetes (v\S+)", go_mod, re.MULTILINE)
    assert match, "tests/controlplane/go.mod does not require k8s.io/kubernetes"
    return match.group(1)


@pytest.fixture(scope="module")
def widgets(cluster: ControlPlane) -> str:
    """The smoke tests' own CRD, applied with kubectl and Established."""
    cluster.kubectl("apply", "-f", "-", input=json.dumps(WIDGET_CRD))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{PLURAL}.{GROUP}", "--timeout=60s")
    return PLURAL


def create_widget(api: ApiClient, namespace: str, name: str, size: int) -> dict[str, object]:
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": name}}
    body["spec"] = {"size": size}
    result: dict[str, object] = CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body
    )
    return result


def whoami(kubeconfig: Path, cluster: ControlPlane) -> str:
    result = cluster.kubectl("--kubeconfig", str(kubeconfig), "auth", "whoami", "-o", "json")
    username: str = json.loads(result.stdout)["status"]["userInfo"]["username"]
    return username


def test_server_and_kubectl_report_the_pinned_kubernetes_version(cluster: ControlPlane) -> None:
    versions = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert versions["serverVersion"]["gitVersion"] == pinned_kubernetes_version()
    assert versions["clientVersion"]["gitVersion"] == pinned_kubernetes_version()


def test_custom_objects_of_an_established_crd_can_be_created_and_listed(
    k8s_api: ApiClient, namespace: str, widgets: str
) -> None:
    create_widget(k8s_api, namespace, "first", size=1)
    create_widget(k8s_api, namespace, "second", size=2)
    listed = CustomObjectsApi(k8s_api).list_namespaced_custom_object(GROUP, VERSION, namespace, widgets)
    sizes = {item["metadata"]["name"]: item["spec"]["size"] for item in listed["items"]}
    assert sizes == {"first": 1, "second": 2}


def test_a_watch_delivers_the_modification_of_a_custom_object(
    k8s_api: ApiClient, namespace: str, widgets: str
) -> None:
    created = create_widget(k8s_api, namespace, "watched", size=1)
    api = CustomObjectsApi(k8s_api)
    api.patch_namespaced_custom_object(GROUP, VERSION, namespace, widgets, "watched", {"spec": {"size": 7}})
    watch = kubernetes.watch.Watch()
    since = created["metadata"]["resourceVersion"]  # type: ignore[index]
    events = watch.stream(
        api.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        widgets,
        resource_version=since,
        timeout_seconds=10,
    )
    first = next(events, None)
    watch.stop()
    assert first is not None, "the watch ended without an event"
    assert (first["type"], first["object"]["spec"]["size"]) == ("MODIFIED", 7)


def test_secrets_are_stored_and_listed(k8s_api: ApiClient, namespace: str) -> None:
    core = CoreV1Api(k8s_api)
    secret = {"metadata": {"name": "credentials"}, "stringData": {"token": "s3cr3t"}}
    core.create_namespaced_secret(namespace, secret)
    listed = core.list_namespaced_secret(namespace)
    assert [(item.metadata.name, item.data) for item in listed.items] == [
        ("credentials", {"token": "czNjcjN0"})  # base64 of s3cr3t
    ]


def test_core_events_are_stored_and_listed(k8s_api: ApiClient, namespace: str) -> None:
    core = CoreV1Api(k8s_api)
    event = {
        "metadata": {"name": "widget.started"},
        "involvedObject": {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Widget",
            "name": "w",
            "namespace": namespace,
        },
        "reason": "Started",
        "message": "smoke test event",
        "type": "Normal",
    }
    core.create_namespaced_event(namespace, event)
    listed = core.list_namespaced_event(namespace, field_selector="involvedObject.name=w")
    assert [(item.reason, item.message) for item in listed.items] == [("Started", "smoke test event")]


def test_the_user_nobody_is_authenticated_but_forbidden_to_list_secrets(cluster: ControlPlane) -> None:
    assert whoami(cluster.nobody_kubeconfig, cluster) == "nobody"
    nobody = kubernetes.config.new_client_from_config(config_file=str(cluster.nobody_kubeconfig))
    with nobody, pytest.raises(ApiException) as raised:
        CoreV1Api(nobody).list_namespaced_secret("default")
    assert raised.value.status == 403


def test_a_service_account_token_authenticates_as_that_account(
    cluster: ControlPlane, k8s_api: ApiClient, namespace: str
) -> None:
    core = CoreV1Api(k8s_api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "robot"}})
    request = {"spec": {"audiences": [], "expirationSeconds": 600}}
    token = core.create_namespaced_service_account_token("robot", namespace, request).status.token
    user = f"system:serviceaccount:{namespace}:robot"
    assert whoami(cluster.kubeconfig_for(token, user), cluster) == user
    denied = cluster.kubectl(
        "--kubeconfig", str(cluster.kubeconfig_for(token, user)), "get", "secrets", check=False
    )
    assert "Forbidden" in denied.stderr


@pytest.mark.slow
def test_the_api_server_restarts_with_its_data_and_certificate_kept(
    cluster: ControlPlane, k8s_api: ApiClient, namespace: str
) -> None:
    CoreV1Api(k8s_api).create_namespaced_config_map(namespace, {"metadata": {"name": "survivor"}})
    cluster.stop_apiserver()
    assert cluster.kubectl("get", "namespaces", check=False, timeout=10).returncode != 0
    cluster.start_apiserver()
    found = cluster.kubectl("get", "configmap", "survivor", "-n", namespace, "-o", "name")
    assert found.stdout.strip() == "configmap/survivor"

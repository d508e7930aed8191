"""The operator's ServiceAccount can do what the operator does and nothing else: real calls, real 403s.

Every call goes to the real API server with a TokenRequest token of the ServiceAccount that
deploy/rbac/ creates and binds (tests.support.rbac). The objects acted on are created by the admin.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from kubernetes.client import (
    ApiClient,
    ApiextensionsV1Api,
    AppsV1Api,
    AuthorizationV1Api,
    CoreV1Api,
    CustomObjectsApi,
)
from kubernetes.client.exceptions import ApiException

from tests.deploy.manifests import OPERATOR_RIGHTS
from tests.support.controlplane import ControlPlane
from tests.support.rbac import NAMESPACE as OPERATOR_NAMESPACE
from tests.support.rbac import install_operator_rbac
from tests.support.rollbacks import GROUP, PLURAL, VERSION, Requests, manifest

Call = Callable[[ApiClient, str], object]
PROVIDER = {"vector": {"environmentId": "01jfgxk4nqrst5vwx9yz0abcdg"}}


def _event(namespace: str) -> dict[str, Any]:
    involved = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RollbackRequest",
        "name": "r",
        "namespace": namespace,
    }
    return {"metadata": {"generateName": "rbac-check."}, "involvedObject": involved, "reason": "Check"}


@pytest.fixture
def request_(k8s_api: ApiClient, namespace: str, crd: str) -> Requests:
    """A namespace holding a RollbackRequest `r` and a Secret `s`, both created by the admin."""
    requests_ = Requests(k8s_api, namespace)
    requests_.secret("s", {"token": "t0ken"})
    requests_.create(manifest("r", PROVIDER, secret="s"))
    return requests_


def _requests(api: ApiClient) -> Any:
    return CustomObjectsApi(api)


def _patch_request(body: dict[str, Any]) -> Call:
    return lambda api, ns: _requests(api).patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "r", body
    )


def _replace_request(*, status: bool) -> Call:
    def replace(api: ApiClient, ns: str) -> object:
        objects = _requests(api)
        current = objects.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "r")
        put = getattr(objects, "replace_namespaced_custom_object" + ("_status" if status else ""))
        return put(GROUP, VERSION, ns, PLURAL, "r", current)

    return replace


def test_it_can_list_and_watch_requests_in_every_namespace_and_get_one(
    operator_api: ApiClient, request_: Requests
) -> None:
    listed = _requests(operator_api).list_cluster_custom_object(GROUP, VERSION, PLURAL)
    watch = _requests(operator_api).list_cluster_custom_object(
        GROUP, VERSION, PLURAL, watch=True, timeout_seconds=1, _preload_content=False
    )
    one = _requests(operator_api).get_namespaced_custom_object(
        GROUP, VERSION, request_.namespace, PLURAL, "r"
    )

    names = {(item["metadata"]["namespace"], item["metadata"]["name"]) for item in listed["items"]}
    assert (request_.namespace, "r") in names
    assert watch.status == 200
    watch.release_conn()
    assert one["spec"]["credentialsSecretRef"] == {"name": "s"}


def test_it_can_patch_the_status_of_a_request(operator_api: ApiClient, request_: Requests) -> None:
    _requests(operator_api).patch_namespaced_custom_object_status(
        GROUP, VERSION, request_.namespace, PLURAL, "r", {"status": {"message": "claimed"}}
    )

    assert request_.status("r")["message"] == "claimed"


def test_a_status_patch_cannot_change_the_spec_labels_or_finalizers(
    operator_api: ApiClient, request_: Requests
) -> None:
    before = request_.get("r")
    smuggled = {
        "metadata": {"labels": {"x": "y"}, "finalizers": ["rollback.dev/finalizer"]},
        "spec": {"reason": "changed"},
        "status": {"message": "ok"},
    }
    _requests(operator_api).patch_namespaced_custom_object_status(
        GROUP, VERSION, request_.namespace, PLURAL, "r", smuggled
    )
    after = request_.get("r")

    assert after["spec"] == before["spec"]
    assert "labels" not in after["metadata"]
    assert "finalizers" not in after["metadata"]
    assert after["status"]["message"] == "ok"


def test_it_can_read_a_secret_by_name(operator_api: ApiClient, request_: Requests) -> None:
    secret = CoreV1Api(operator_api).read_namespaced_secret("s", request_.namespace)

    assert secret.data == {"token": "dDBrZW4="}


def test_it_can_create_an_event(operator_api: ApiClient, request_: Requests) -> None:
    created = CoreV1Api(operator_api).create_namespaced_event(request_.namespace, _event(request_.namespace))

    assert created.reason == "Check"


FORBIDDEN: dict[str, Call] = {
    "list Secrets in a namespace": lambda api, ns: CoreV1Api(api).list_namespaced_secret(ns),
    "list Secrets in all namespaces": lambda api, ns: CoreV1Api(api).list_secret_for_all_namespaces(),
    "list one Secret by a name selector": lambda api, ns: CoreV1Api(api).list_namespaced_secret(
        ns, field_selector="metadata.name=s"
    ),
    "watch Secrets": lambda api, ns: CoreV1Api(api).list_namespaced_secret(
        ns, watch=True, timeout_seconds=1, _preload_content=False
    ),
    "create a Secret": lambda api, ns: CoreV1Api(api).create_namespaced_secret(
        ns, {"metadata": {"name": "x"}}
    ),
    "change a Secret": lambda api, ns: CoreV1Api(api).patch_namespaced_secret("s", ns, {"data": {}}),
    "delete a Secret": lambda api, ns: CoreV1Api(api).delete_namespaced_secret("s", ns),
    "patch a request's spec": _patch_request({"spec": {"reason": "changed"}}),
    "patch a request's annotations": _patch_request({"metadata": {"annotations": {"rollback.dev/x": "y"}}}),
    "add a finalizer to a request": _patch_request({"metadata": {"finalizers": ["rollback.dev/finalizer"]}}),
    "replace a request": _replace_request(status=False),
    "replace a request's status": _replace_request(status=True),
    "create a request": lambda api, ns: _requests(api).create_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, manifest("new", PROVIDER, secret="s")
    ),
    "delete a request": lambda api, ns: _requests(api).delete_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "r"
    ),
    "list Events": lambda api, ns: CoreV1Api(api).list_namespaced_event(ns),
    "delete Events": lambda api, ns: CoreV1Api(api).delete_collection_namespaced_event(ns),
    "read a ConfigMap": lambda api, ns: CoreV1Api(api).read_namespaced_config_map("c", ns),
    "list ConfigMaps": lambda api, ns: CoreV1Api(api).list_namespaced_config_map(ns),
    "list Pods": lambda api, ns: CoreV1Api(api).list_namespaced_pod(ns),
    "create a Pod": lambda api, ns: CoreV1Api(api).create_namespaced_pod(ns, {"metadata": {"name": "p"}}),
    "list Deployments": lambda api, ns: AppsV1Api(api).list_namespaced_deployment(ns),
    "delete its own Deployment": lambda api, ns: AppsV1Api(api).delete_namespaced_deployment(
        "rollback-operator", OPERATOR_NAMESPACE
    ),
    "delete a namespace": lambda api, ns: CoreV1Api(api).delete_namespace(ns),
    "read the CRD": lambda api, ns: ApiextensionsV1Api(api).read_custom_resource_definition(
        f"{PLURAL}.{GROUP}"
    ),
}


@pytest.mark.parametrize("call", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_it_is_forbidden_to(call: Call, operator_api: ApiClient, request_: Requests) -> None:
    with pytest.raises(ApiException) as refused:
        call(operator_api, request_.namespace)

    assert refused.value.status == 403


def test_its_rights_in_a_namespace_are_exactly_the_operators_rules(
    operator_api: ApiClient, request_: Requests
) -> None:
    review = {"spec": {"namespace": request_.namespace}}
    rules = AuthorizationV1Api(operator_api).create_self_subject_rules_review(review).status.resource_rules
    everyone = {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"}
    granted = {
        (group, resource, verb)
        for rule in rules
        for group in rule.api_groups
        for resource in rule.resources
        for verb in rule.verbs
        if resource not in everyone  # granted to every authenticated user (system:basic-user)
    }

    assert granted == OPERATOR_RIGHTS


def test_installing_the_rbac_again_rewrites_the_same_kubeconfig_with_a_working_token(
    cluster: ControlPlane, operator_kubeconfig: Path, request_: Requests
) -> None:
    again = install_operator_rbac(cluster)
    client = kubernetes.config.new_client_from_config(config_file=str(again))
    try:
        listed = _requests(client).list_namespaced_custom_object(GROUP, VERSION, request_.namespace, PLURAL)
    finally:
        client.close()

    assert again == operator_kubeconfig
    assert [item["metadata"]["name"] for item in listed["items"]] == ["r"]

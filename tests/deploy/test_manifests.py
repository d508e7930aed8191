"""deploy/ and the Dockerfile say what docs/install.md promises: read as files, no cluster needed.

The hardening, the probes, the resources, the arguments (parsed by the real CLI), the allow-list
variable, metrics, the RBAC rules and their comments, and the CRD copy kustomize needs.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from rollback_operator.cli import parse
from rollback_operator.config import DEFAULT_ALLOWED_ENDPOINTS, ENV_ALLOWED_ENDPOINTS, Timing
from rollback_operator.config import allowed_endpoints as allowed_by
from tests.deploy.manifests import (
    DEPLOY,
    GENERATED_CRD,
    OPERATOR_RIGHTS,
    SHIPPED_CRD,
    documents,
    only,
    operator_container,
)
from tests.support.controlplane import REPO

DEPLOYMENT = only(DEPLOY / "operator" / "deployment.yaml")
POD = DEPLOYMENT["spec"]["template"]
CONTAINER = operator_container(DEPLOYMENT)
ROLE = DEPLOY / "rbac" / "role.yaml"


def _port(name: str) -> int:
    return int(next(p["containerPort"] for p in CONTAINER["ports"] if p["name"] == name))


def test_the_crd_in_deploy_is_a_byte_for_byte_copy_of_the_generated_crd() -> None:
    assert SHIPPED_CRD.read_bytes() == GENERATED_CRD.read_bytes(), (
        f"deploy/crd/ is stale: cp {GENERATED_CRD.relative_to(REPO)} {SHIPPED_CRD.relative_to(REPO)}"
    )


def test_the_operator_runs_as_a_single_replica_that_is_replaced_not_rolled() -> None:
    assert DEPLOYMENT["spec"]["replicas"] == 1
    assert DEPLOYMENT["spec"]["strategy"] == {"type": "Recreate"}


def test_the_pod_runs_non_root_under_the_runtime_seccomp_profile() -> None:
    pod = POD["spec"]["securityContext"]

    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == pod["runAsGroup"] == 65532
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}


def test_the_container_cannot_escalate_write_its_root_or_use_any_capability() -> None:
    context = CONTAINER["securityContext"]

    assert context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_the_container_requests_and_limits_cpu_and_memory_with_a_256mi_memory_ceiling() -> None:
    resources = CONTAINER["resources"]

    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert resources["limits"]["memory"] == "256Mi"


def test_liveness_is_probed_on_healthz_at_the_health_port_8080() -> None:
    probe = CONTAINER["livenessProbe"]["httpGet"]

    assert probe == {"path": "/healthz", "port": "health"}
    assert _port("health") == 8080


def test_the_grace_period_leaves_room_for_the_shutdown_wait_on_calls_in_flight() -> None:
    shutdown_wait = Timing().claim_grace / 2  # what handlers.cleanup waits for triggers in flight

    assert POD["spec"]["terminationGracePeriodSeconds"] >= 3 * shutdown_wait


def test_the_arguments_are_accepted_by_the_cli_and_match_the_declared_ports() -> None:
    args = parse(["run", *CONTAINER["args"]])

    assert args.all_namespaces is True
    assert args.log_format == "json"
    assert (args.health_port, args.metrics_port) == (_port("health"), _port("metrics"))


def test_the_allow_list_variable_is_declared_empty_so_only_the_default_endpoints_are_allowed() -> None:
    env = {e["name"]: e["value"] for e in CONTAINER["env"]}

    assert env[ENV_ALLOWED_ENDPOINTS] == ""
    assert allowed_by(environ=env) == DEFAULT_ALLOWED_ENDPOINTS


def test_metrics_are_exposed_by_a_service_port_named_metrics_and_annotated_for_prometheus() -> None:
    service = only(DEPLOY / "operator" / "service.yaml")
    (port,) = service["spec"]["ports"]

    assert port == {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    assert _port("metrics") == 9090
    assert service["spec"]["selector"].items() <= POD["metadata"]["labels"].items()
    annotations = POD["metadata"]["annotations"]
    assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"]) == ("true", "9090")


def test_the_network_policy_admits_traffic_to_the_probe_and_metrics_ports_only() -> None:
    policy = only(DEPLOY / "operator" / "network_policy.yaml")["spec"]

    assert policy["podSelector"]["matchLabels"].items() <= POD["metadata"]["labels"].items()
    assert policy["policyTypes"] == ["Ingress"]
    assert [p["port"] for rule in policy["ingress"] for p in rule["ports"]] == ["health", "ready", "metrics"]


def _grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """Every (apiGroup, resource, verb) a list of RBAC rules allows."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_the_cluster_role_grants_exactly_what_the_operator_uses() -> None:
    assert _grants(only(ROLE)["rules"]) == OPERATOR_RIGHTS


def test_every_rule_of_the_cluster_role_is_explained_by_a_comment_right_above_it() -> None:
    lines = ROLE.read_text().splitlines()
    rule_starts = [i for i, line in enumerate(lines) if line.startswith("  - apiGroups:")]

    assert len(rule_starts) == len(only(ROLE)["rules"])
    assert all(lines[i - 1].lstrip().startswith("#") for i in rule_starts)


def test_the_binding_gives_the_role_to_the_operators_service_account_only() -> None:
    binding = only(DEPLOY / "rbac" / "role_binding.yaml")
    account = only(DEPLOY / "rbac" / "service_account.yaml")["metadata"]

    assert binding["roleRef"]["name"] == only(ROLE)["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    ]
    assert POD["spec"]["serviceAccountName"] == account["name"]


def _final_stage(dockerfile: str) -> str:
    return re.split(r"^FROM .*$", dockerfile, flags=re.MULTILINE)[-1]


def test_the_image_runs_the_operators_console_script_as_a_numeric_non_root_user() -> None:
    final = _final_stage((REPO / "Dockerfile").read_text())
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]

    assert re.search(r"^USER 65532:65532$", final, flags=re.MULTILINE)
    assert 'ENTRYPOINT ["rollback-operator", "run"]' in final
    assert "rollback-operator" in scripts


@pytest.mark.parametrize("text", ["ARG ", "COPY", "apt-get"])
def test_the_final_image_stage_takes_no_build_arguments_copies_no_files_and_installs_no_system_packages(
    text: str,
) -> None:
    assert text not in _final_stage((REPO / "Dockerfile").read_text())


def test_every_deploy_object_is_labelled_as_part_of_the_rollback_operator() -> None:
    paths = [p for p in DEPLOY.glob("*/*.yaml") if p.parent.name in {"rbac", "operator"}]
    objects = [doc for path in paths for doc in documents(path) if doc.get("kind") != "Kustomization"]

    assert len(objects) == 7
    assert all(o["metadata"]["labels"]["app.kubernetes.io/part-of"] == "rollback-operator" for o in objects)

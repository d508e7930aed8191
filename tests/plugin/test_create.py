"""``kubectl rollback vector|facets|yandex`` creates the RollbackRequest its flags describe.

No operator watches these namespaces: the objects stay exactly as the plugin created them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.plugin.runner import Plugin
from tests.support.controlplane import ControlPlane
from tests.support.rollbacks import Requests

REASON = "5xx spike after the release"
COMMON = ["--reason", REASON, "--secret", "prod-credentials"]

PROVIDERS: dict[str, tuple[list[str], str, dict[str, Any]]] = {
    "vector": (
        ["vector", "01JFGXK4NQRST5VWX9YZ0ABCDG", "--api-url", "https://api.builtfast.com"],
        "vector-01jfgxk4nqrst5vwx9yz-",
        {"vector": {"environmentId": "01JFGXK4NQRST5VWX9YZ0ABCDG", "apiURL": "https://api.builtfast.com"}},
    ),
    "facets": (
        [
            "facets",
            "--environment",
            "6523f0c2e4b0a1",
            "--resource-type",
            "service",
            "--resource-name",
            "api",
            "--control-plane-url",
            "https://acme.console.facets.cloud",
        ],
        "facets-api-",
        {
            "facets": {
                "controlPlaneURL": "https://acme.console.facets.cloud",
                "environmentId": "6523f0c2e4b0a1",
                "resourceType": "service",
                "resourceName": "api",
            }
        },
    ),
    "yandex": (
        ["yandex", "bba3fva6ka5g0q4l0abc", "--iam-url", "https://iam.api.cloud.yandex.net"],
        "yandex-bba3fva6ka5g0q4l0abc-",
        {
            "yandexServerlessContainer": {
                "containerId": "bba3fva6ka5g0q4l0abc",
                "apiURL": "https://serverless-containers.api.cloud.yandex.net",
                "operationsURL": "https://operation.api.cloud.yandex.net",
                "iamURL": "https://iam.api.cloud.yandex.net",
            }
        },
    ),
}


@pytest.fixture
def unwatched(k8s_api: object, namespace: str, crd: str) -> Requests:
    return Requests(k8s_api, namespace)  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_each_provider_creates_a_request_whose_spec_says_what_the_flags_said(
    provider: str, plugin: Plugin, unwatched: Requests
) -> None:
    args, prefix, block = PROVIDERS[provider]

    result = plugin.run(*args, *COMMON, "--steps-back", "2", "-n", unwatched.namespace)

    assert result.code == 0, result.err
    (name,) = result.lines  # stdout is the name alone, for scripts
    assert name.startswith(prefix)
    assert len(name) == len(prefix) + 5  # the API server's random suffix
    assert f"rollbackrequest.rollback.dev/{name} created in namespace {unwatched.namespace}" in result.err
    obj = unwatched.get(name)
    assert obj["metadata"]["generateName"] == prefix
    assert obj["spec"] == {  # what the flags said, plus the CRD's defaults
        "reason": REASON,
        "provider": block,
        "credentialsSecretRef": {"name": "prod-credentials"},
        "target": {"stepsBack": 2},
        "dryRun": False,
        "timeoutSeconds": 1800,
    }


def test_name_dry_run_version_precondition_and_timeout_reach_the_spec(
    plugin: Plugin, unwatched: Requests
) -> None:
    result = plugin.run(
        "vector",
        "01jfgxk4nqrst5vwx9yz0abcdg",
        *COMMON,
        "--to",
        "01jfgwq8d3e4f5g6h7j8k9m0np",
        "--expected-current",
        "01jfgy2b7c8d9e0f1g2h3j4k5m",
        "--dry-run",
        "--timeout-seconds",
        "900",
        "--name",
        "checkout-regression",
        "-n",
        unwatched.namespace,
    )

    assert (result.code, result.lines) == (0, ["checkout-regression"]), result.err
    spec = unwatched.get("checkout-regression")["spec"]
    assert spec["target"] == {"version": "01jfgwq8d3e4f5g6h7j8k9m0np"}
    assert spec["expectedCurrentVersion"] == "01jfgy2b7c8d9e0f1g2h3j4k5m"
    assert (spec["dryRun"], spec["timeoutSeconds"]) == (True, 900)


def test_expires_in_sets_not_after_that_far_ahead(plugin: Plugin, unwatched: Requests) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    result = plugin.run(
        "vector", "01jfgxk4nqrst5vwx9yz0abcdg", *COMMON, "--steps-back", "1", "--expires-in", "30m",
        "--name", "expiring", "-n", unwatched.namespace,
    )  # fmt: skip

    assert result.code == 0, result.err
    not_after = datetime.fromisoformat(unwatched.get("expiring")["spec"]["notAfter"].replace("Z", "+00:00"))
    assert before + timedelta(minutes=30) <= not_after <= datetime.now(UTC) + timedelta(minutes=30)


def test_require_approval_asks_for_an_approval_in_the_spec(plugin: Plugin, unwatched: Requests) -> None:
    result = plugin.run(
        "yandex", "bba3fva6ka5g0q4l0abc", *COMMON, "--steps-back", "1", "--require-approval",
        "--name", "gated", "-n", unwatched.namespace,
    )  # fmt: skip

    assert result.code == 0, result.err
    assert unwatched.get("gated")["spec"]["approval"] == {"required": True}


def test_a_malformed_expires_in_is_a_usage_error(plugin: Plugin, unwatched: Requests) -> None:
    result = plugin.run(
        "vector", "01jfgxk4nqrst5vwx9yz0abcdg", *COMMON, "--steps-back", "1", "--expires-in", "soon",
        "-n", unwatched.namespace,
    )  # fmt: skip

    assert result.code == 2
    assert "--expires-in" in result.err
    assert "not a duration" in result.err


def test_without_n_the_namespace_comes_from_the_chosen_kubeconfig_context(
    plugin: Plugin, unwatched: Requests, cluster: ControlPlane, tmp_path: Path
) -> None:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    admin = config["contexts"][0]["context"]
    config["contexts"].append({"name": "payments", "context": {**admin, "namespace": unwatched.namespace}})
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))

    result = plugin.run(
        "vector",
        "env1",
        *COMMON,
        "--steps-back",
        "1",
        "--name",
        "from-context",
        "--kubeconfig",
        str(kubeconfig),
        "--context",
        "payments",
        env={"KUBECONFIG": str(tmp_path / "absent")},
    )

    assert result.code == 0, result.err
    assert unwatched.get("from-context")["metadata"]["namespace"] == unwatched.namespace


def test_cluster_flags_work_before_the_sub_command_too(plugin: Plugin, unwatched: Requests) -> None:
    result = plugin.run(
        "-n", unwatched.namespace, "vector", "env1", *COMMON, "--steps-back", "1", "--name", "early"
    )

    assert result.code == 0, result.err
    assert unwatched.get("early")["spec"]["provider"] == {
        "vector": {"environmentId": "env1", "apiURL": "https://api.builtfast.com"}
    }


def test_a_cel_rule_the_api_server_enforces_is_shown_in_its_own_words(
    plugin: Plugin, unwatched: Requests
) -> None:
    # Python's URL parser accepts a space in the host; the API server's CEL isURL() does not.
    result = plugin.run(
        "vector",
        "env1",
        *COMMON,
        "--steps-back",
        "1",
        "--api-url",
        "https://api example.com",
        "-n",
        unwatched.namespace,
    )

    assert result.code == 1
    assert result.err.startswith("Error from server (Invalid): ")
    assert "spec.provider.vector.apiURL" in result.err
    assert "must be an https URL" in result.err


def test_an_existing_name_and_a_missing_namespace_are_refused_by_the_api_server(
    plugin: Plugin, unwatched: Requests
) -> None:
    first = plugin.run(
        "vector", "env1", *COMMON, "--steps-back", "1", "--name", "twice", "-n", unwatched.namespace
    )
    second = plugin.run(
        "vector", "env1", *COMMON, "--steps-back", "1", "--name", "twice", "-n", unwatched.namespace
    )
    nowhere = plugin.run("vector", "env1", *COMMON, "--steps-back", "1", "-n", "no-such-namespace")

    assert first.code == 0
    assert (second.code, second.out) == (1, "")
    assert (
        'Error from server (AlreadyExists): rollbackrequests.rollback.dev "twice" already exists'
        in second.err
    )
    assert nowhere.code == 1
    assert 'Error from server (NotFound): namespaces "no-such-namespace" not found' in nowhere.err

"""The admission cases of the RollbackRequest API: one table, judged by pydantic and by the API server.

``INVALID`` lists manifests that both ``models.RollbackRequestSpec`` and ``kubectl apply`` must
refuse, with the field each must name and a piece of the API server's message; ``VALID`` lists
specs both must accept. ``tests/unit/test_models.py`` and ``tests/api/test_admission.py`` read them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "deploy" / "samples"
SAMPLE_NAMES = ("facets.yaml", "vector.yaml", "yandex.yaml", "dryrun.yaml")
URL_RULE_MESSAGE = "must be an https URL; plain http is allowed only for localhost, 127.0.0.0/8 and [::1]"
USERINFO_MESSAGE = "must not carry a user name or password: credentials come from the Secret"
PORT_MESSAGE = "the port must be between 1 and 65535"
DOTS_MESSAGE = "the path must not have a '.' or '..' segment or a percent-encoded dot (%2e)"

BASE_SPEC: dict[str, Any] = {
    "reason": "5xx spike after the 2026-11-20 release",
    "provider": {
        "facets": {
            "controlPlaneURL": "https://acme.console.facets.cloud",
            "environmentId": "6523f0c2e4b0a1",
            "resourceType": "service",
            "resourceName": "api",
        }
    },
    "credentialsSecretRef": {"name": "facets-credentials"},
}
VECTOR = {"environmentId": "01jfgxk4nqrst5vwx9yz0abcdg"}
YANDEX = {"containerId": "bba3fva6ka5g0q4l0abc"}
REMOVED: Any = object()
"""Passed to ``spec_with`` for a key, removes that key."""


def load_sample(name: str) -> dict[str, Any]:
    """One RollbackRequest manifest from deploy/samples/."""
    document: dict[str, Any] = yaml.safe_load((SAMPLES / name).read_text())
    return document


def manifest(spec: dict[str, Any], *, name: str) -> dict[str, Any]:
    """A RollbackRequest manifest around ``spec`` (no namespace: kubectl's -n decides)."""
    return {
        "apiVersion": "rollback.dev/v1alpha1",
        "kind": "RollbackRequest",
        "metadata": {"name": name},
        "spec": spec,
    }


def spec_with(**changes: Any) -> dict[str, Any]:
    """``BASE_SPEC`` with keys set (or ``REMOVED``); ``a__b=1`` sets ``spec.a.b`` to 1."""
    spec = copy.deepcopy(BASE_SPEC)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = spec
        for key in parents:
            node = node.setdefault(key, {})
        if value is REMOVED:
            del node[leaf]
        else:
            node[leaf] = value
    return spec


@dataclass(frozen=True)
class Invalid:
    """A spec both judges refuse: ``field`` is named by both, ``message`` is part of the API error."""

    id: str
    spec: dict[str, Any]
    field: str
    message: str


@dataclass(frozen=True)
class Valid:
    """A spec both judges accept."""

    id: str
    spec: dict[str, Any]


def _facets_url(url: str) -> dict[str, Any]:
    return spec_with(provider__facets__controlPlaneURL=url)


INVALID = [
    Invalid("reason is required", spec_with(reason=REMOVED), "spec.reason", "Required value"),
    Invalid("reason may not be empty", spec_with(reason=""), "spec.reason", "at least 1 chars long"),
    Invalid(
        "reason is at most 1024 characters",
        spec_with(reason="x" * 1025),
        "spec.reason",
        "may not be more than 1024",
    ),
    Invalid("reason must be a string", spec_with(reason=42), "spec.reason", "must be of type string"),
    Invalid("provider is required", spec_with(provider=REMOVED), "spec.provider", "Required value"),
    Invalid(
        "an empty provider names no provider",
        spec_with(provider={}),
        "spec.provider",
        "must set one of facets, vector or yandexServerlessContainer",
    ),
    Invalid(
        "two providers are refused",
        spec_with(provider__vector=VECTOR),
        "spec.provider",
        "must set only one of facets, vector or yandexServerlessContainer",
    ),
    Invalid(
        "three providers are refused",
        spec_with(provider__vector=VECTOR, provider__yandexServerlessContainer=YANDEX),
        "spec.provider",
        "must set only one of facets, vector or yandexServerlessContainer",
    ),
    Invalid(
        "an unknown provider is refused",
        spec_with(provider={"github": {"repo": "acme/api"}}),
        "spec.provider.github",
        'unknown field "spec.provider.github"',
    ),
    Invalid(
        "provider must be an object", spec_with(provider="facets"), "spec.provider", "must be of type object"
    ),
    Invalid(
        "facets needs controlPlaneURL",
        spec_with(provider__facets__controlPlaneURL=REMOVED),
        "spec.provider.facets.controlPlaneURL",
        "Required value",
    ),
    Invalid(
        "facets needs environmentId",
        spec_with(provider__facets__environmentId=REMOVED),
        "spec.provider.facets.environmentId",
        "Required value",
    ),
    Invalid(
        "facets resourceName may not be empty",
        spec_with(provider__facets__resourceName=""),
        "spec.provider.facets.resourceName",
        "at least 1 chars long",
    ),
    Invalid(
        "facets resourceType is at most 256 characters",
        spec_with(provider__facets__resourceType="s" * 257),
        "spec.provider.facets.resourceType",
        "may not be more than 256",
    ),
    Invalid(
        "facets knows no clusterId field (it is environmentId)",
        spec_with(provider__facets__clusterId="6523f0c2e4b0a1"),
        "spec.provider.facets.clusterId",
        'unknown field "spec.provider.facets.clusterId"',
    ),
    Invalid(
        "plain http to a public host is refused",
        _facets_url("http://acme.console.facets.cloud"),
        "spec.provider.facets.controlPlaneURL",
        URL_RULE_MESSAGE,
    ),
    Invalid(
        "a URL needs a scheme",
        _facets_url("acme.console.facets.cloud"),
        "spec.provider.facets.controlPlaneURL",
        URL_RULE_MESSAGE,
    ),
    Invalid(
        "ftp is not https",
        _facets_url("ftp://acme.console.facets.cloud"),
        "spec.provider.facets.controlPlaneURL",
        URL_RULE_MESSAGE,
    ),
    Invalid(
        "a host named like a loopback address is not one",
        _facets_url("http://127.0.0.1.nip.io"),
        "spec.provider.facets.controlPlaneURL",
        URL_RULE_MESSAGE,
    ),
    Invalid(
        "http to a private address is refused",
        _facets_url("http://10.0.0.7:8080"),
        "spec.provider.facets.controlPlaneURL",
        URL_RULE_MESSAGE,
    ),
    Invalid(
        "a URL may not carry a user name and password",
        _facets_url("https://me:s3cret@acme.console.facets.cloud"),
        "spec.provider.facets.controlPlaneURL",
        USERINFO_MESSAGE,
    ),
    Invalid(
        "a loopback URL may not carry a user name either",
        spec_with(provider={"vector": {**VECTOR, "apiURL": "http://me@localhost:9000"}}),
        "spec.provider.vector.apiURL",
        USERINFO_MESSAGE,
    ),
    Invalid(
        "a dot segment could escape a path-scoped allow-list entry",
        spec_with(provider={"vector": {**VECTOR, "apiURL": "http://localhost:9000/allowed/../secret"}}),
        "spec.provider.vector.apiURL",
        DOTS_MESSAGE,
    ),
    Invalid(
        "a trailing dot segment is refused too",
        _facets_url("https://acme.console.facets.cloud/a/."),
        "spec.provider.facets.controlPlaneURL",
        DOTS_MESSAGE,
    ),
    Invalid(
        "a percent-encoded dot is refused",
        _facets_url("https://acme.console.facets.cloud/allowed/%2E%2e/secret"),
        "spec.provider.facets.controlPlaneURL",
        DOTS_MESSAGE,
    ),
    Invalid(
        "a port above 65535 is refused",
        spec_with(provider={"vector": {**VECTOR, "apiURL": "http://localhost:99999"}}),
        "spec.provider.vector.apiURL",
        PORT_MESSAGE,
    ),
    Invalid(
        "port 0 is refused",
        _facets_url("https://acme.console.facets.cloud:0"),
        "spec.provider.facets.controlPlaneURL",
        PORT_MESSAGE,
    ),
    Invalid(
        "a URL is at most 2048 characters",
        _facets_url("https://acme.console.facets.cloud/" + "p" * 2048),
        "spec.provider.facets.controlPlaneURL",
        "may not be more than 2048",
    ),
    Invalid(
        "vector needs environmentId",
        spec_with(provider={"vector": {"apiURL": "https://api.builtfast.com"}}),
        "spec.provider.vector.environmentId",
        "Required value",
    ),
    Invalid(
        "vector apiURL must be https",
        spec_with(provider={"vector": {**VECTOR, "apiURL": "http://api.builtfast.com"}}),
        "spec.provider.vector.apiURL",
        URL_RULE_MESSAGE,
    ),
    Invalid(
        "yandex needs containerId",
        spec_with(provider={"yandexServerlessContainer": {}}),
        "spec.provider.yandexServerlessContainer.containerId",
        "Required value",
    ),
    Invalid(
        "yandex iamURL must be https",
        spec_with(
            provider={"yandexServerlessContainer": {**YANDEX, "iamURL": "http://iam.api.cloud.yandex.net"}}
        ),
        "spec.provider.yandexServerlessContainer.iamURL",
        URL_RULE_MESSAGE,
    ),
    Invalid(
        "yandex operationsURL needs a host",
        spec_with(provider={"yandexServerlessContainer": {**YANDEX, "operationsURL": "https://"}}),
        "spec.provider.yandexServerlessContainer.operationsURL",
        URL_RULE_MESSAGE,
    ),
    Invalid(
        "credentialsSecretRef is required",
        spec_with(credentialsSecretRef=REMOVED),
        "spec.credentialsSecretRef",
        "Required value",
    ),
    Invalid(
        "the Secret name is required",
        spec_with(credentialsSecretRef={}),
        "spec.credentialsSecretRef.name",
        "Required value",
    ),
    Invalid(
        "the Secret name must be a Kubernetes name",
        spec_with(credentialsSecretRef__name="Facets_Credentials"),
        "spec.credentialsSecretRef.name",
        "must be a Kubernetes object name",
    ),
    Invalid(
        "the Secret name may not start with a dash",
        spec_with(credentialsSecretRef__name="-facets-credentials"),
        "spec.credentialsSecretRef.name",
        "must be a Kubernetes object name",
    ),
    Invalid(
        "the Secret name is at most 253 characters",
        spec_with(credentialsSecretRef__name="a" * 254),
        "spec.credentialsSecretRef.name",
        "may not be more than 253",
    ),
    Invalid(
        "target may not set both version and stepsBack",
        spec_with(target={"version": "v-41", "stepsBack": 2}),
        "spec.target",
        "spec.target may set version or stepsBack, not both",
    ),
    Invalid(
        "stepsBack 0 is refused",
        spec_with(target={"stepsBack": 0}),
        "spec.target.stepsBack",
        "greater than or equal to 1",
    ),
    Invalid(
        "stepsBack 51 is refused",
        spec_with(target={"stepsBack": 51}),
        "spec.target.stepsBack",
        "less than or equal to 50",
    ),
    Invalid(
        "stepsBack must be an integer, not a string",
        spec_with(target={"stepsBack": "2"}),
        "spec.target.stepsBack",
        "must be of type integer",
    ),
    Invalid(
        "target version may not be empty",
        spec_with(target={"version": ""}),
        "spec.target.version",
        "at least 1 chars long",
    ),
    Invalid(
        "timeoutSeconds below 10 is refused",
        spec_with(timeoutSeconds=9),
        "spec.timeoutSeconds",
        "greater than or equal to 10",
    ),
    Invalid(
        "timeoutSeconds above a day is refused",
        spec_with(timeoutSeconds=86401),
        "spec.timeoutSeconds",
        "less than or equal to 86400",
    ),
    Invalid(
        "timeoutSeconds must be an integer",
        spec_with(timeoutSeconds="1800"),
        "spec.timeoutSeconds",
        "must be of type integer",
    ),
    Invalid("dryRun must be a boolean", spec_with(dryRun="yes"), "spec.dryRun", "must be of type boolean"),
    Invalid(
        "expectedCurrentVersion may not be empty",
        spec_with(expectedCurrentVersion=""),
        "spec.expectedCurrentVersion",
        "at least 1 chars long",
    ),
    Invalid(
        "unknown spec fields are refused", spec_with(force=True), "spec.force", 'unknown field "spec.force"'
    ),
]

VALID = [
    *(Valid(f"sample {name}", load_sample(name)["spec"]) for name in SAMPLE_NAMES),
    Valid("the smallest spec: reason, provider, Secret", spec_with()),
    Valid("http to 127.0.0.1 with a port", _facets_url("http://127.0.0.1:8080")),
    Valid("http to another 127/8 address", _facets_url("http://127.1.2.3/cc-ui")),
    Valid("dots inside path segments", _facets_url("https://acme.console.facets.cloud/v1.2/..x/.well-known")),
    Valid(
        "the highest port, and an '@' in the path", _facets_url("https://acme.console.facets.cloud:65535/@cc")
    ),
    Valid("http to localhost", spec_with(provider={"vector": {**VECTOR, "apiURL": "http://localhost:9000"}})),
    Valid(
        "http to [::1]",
        spec_with(provider={"yandexServerlessContainer": {**YANDEX, "iamURL": "http://[::1]:8443/iam"}}),
    ),
    Valid("an empty target (one step back)", spec_with(target={})),
    Valid("a dotted Secret name", spec_with(credentialsSecretRef__name="facets.credentials-2")),
    Valid("the extreme bounds", spec_with(target={"stepsBack": 50}, timeoutSeconds=10, reason="r")),
]

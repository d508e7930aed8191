"""Seeding the three sandboxes with rollback targets, and describing them to tests.

``World`` collects targets (a Facets resource, a Vector environment, a Yandex container, each with
a history of versions) and seeds every sandbox once with ``apply()``. Each target comes back as a
``Scenario``: the spec's provider block, the Secret a request needs, the live version, the earlier
versions (newest first) and how to count the rollbacks it received. Used by the end-to-end tests,
the resilience suite, the benchmarks and the demo.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rollback_sandbox.serve import Sandboxes
from rollback_sandbox.yandex_iam import make_service_account_key

_counter = itertools.count(1)
_ULID = "0123456789abcdefghjkmnpqrstvwxyz"

FACETS_USER, FACETS_TOKEN = "ops@acme.example", "fpt_sandbox_token_0001"
VECTOR_TOKEN = "vp_live_sandbox_token_0001"
YANDEX_IAM_TOKEN = "t1.sandbox-iam-token-0001"


def _ulid(n: int) -> str:
    """A lowercase 26-character id, unique per ``n``."""
    digits = []
    for _ in range(26):
        n, rest = divmod(n, 32)
        digits.append(_ULID[rest])
    return "01" + "".join(reversed(digits))[2:]


def _stamp(hours_ago: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)


@dataclass
class Scenario:
    """One rollback target in a sandbox."""

    sandbox: str
    """facets, vector or yandex (the Sandboxes name)."""
    provider: dict[str, Any]
    """``spec.provider`` for a RollbackRequest."""
    secret: dict[str, str]
    live: str
    earlier: list[str]
    """Candidate versions, newest first."""
    rollback_key: str

    def rollbacks(self, sandboxes: Sandboxes) -> int:
        """How many rollbacks this target received."""
        return sandboxes.rollbacks(self.sandbox).get(self.rollback_key, 0)


@dataclass
class World:
    """Targets to seed into one ``Sandboxes``; call ``apply()`` after adding them."""

    sandboxes: Sandboxes
    vector_step_seconds: float = 0.0
    yandex_operation_seconds: float = 0.0
    yandex_service_account: bool = False
    _facets: list[dict[str, Any]] = field(default_factory=list)
    _vector: list[dict[str, Any]] = field(default_factory=list)
    _yandex: list[dict[str, Any]] = field(default_factory=list)
    _yandex_key: dict[str, Any] | None = None

    def facets(self, *, versions: int = 4, fail: str | None = None) -> Scenario:
        """A Facets resource with ``versions`` versions; the newest is live. ``fail``: error|reject."""
        n = next(_counter)
        ids = [f"v{n:04d}{i:02d}" for i in range(versions, 0, -1)]  # newest first
        resource = {
            "clusterId": f"env{n:04d}",
            "resourceType": "service",
            "resourceName": f"api-{n}",
            "versions": [
                {"id": v, "tag": f"1.{i}", "artifactUri": f"registry/api:1.{i}"}
                for v, i in zip(ids, range(versions, 0, -1), strict=True)
            ],
        }
        if fail:
            for version in resource["versions"][1:]:
                version["failRestore"] = fail
        self._facets.append(resource)
        block = {
            "facets": {
                "controlPlaneURL": self.sandboxes.url("facets"),
                "environmentId": resource["clusterId"],
                "resourceType": "service",
                "resourceName": resource["resourceName"],
            }
        }
        key = f"{resource['clusterId']}/service/{resource['resourceName']}"
        return Scenario(
            "facets", block, {"username": FACETS_USER, "token": FACETS_TOKEN}, ids[0], ids[1:], key
        )

    def vector(self, *, deployments: int = 4, fail: bool = False) -> Scenario:
        """A Vector environment with ``deployments`` successful deployments and one failed in between."""
        n = next(_counter)
        env = _ulid(n * 1000)
        ids = [_ulid(n * 1000 + i) for i in range(1, deployments + 2)]  # oldest first
        history = [
            {
                "id": d,
                "status": "deployed",
                "created_at": _stamp(len(ids) - i).isoformat(),
                "rollback_fails": fail,
            }
            for i, d in enumerate(ids)
        ]
        history[-2]["status"] = "failed"  # a failed deployment is never a candidate
        self._vector.append(
            {"id": env, "name": f"production-{n}", "status": "active", "deployments": history}
        )
        good = [d["id"] for d in reversed(history) if d["status"] == "deployed"]
        block = {"vector": {"environmentId": env, "apiURL": self.sandboxes.url("vector")}}
        return Scenario("vector", block, {"token": VECTOR_TOKEN}, good[0], good[1:], env)

    def yandex(self, *, revisions: int = 4, fail: bool = False) -> Scenario:
        """A Yandex container with ``revisions`` revisions; the newest is ACTIVE."""
        n = next(_counter)
        container = f"bbacontainer{n:08d}"
        ids = [f"bbarev{n:06d}{i:02d}" for i in range(revisions, 0, -1)]  # newest first
        revs = [
            {
                "id": r,
                "image": f"cr.yandex/crp/api:{i}",
                "status": "OBSOLETE",
                "failRollback": fail,
                "createdAt": _stamp(j + 1).isoformat().replace("+00:00", ".123456789Z"),
            }
            for j, (r, i) in enumerate(zip(ids, range(revisions, 0, -1), strict=True))
        ]
        revs[0]["status"] = "ACTIVE"
        self._yandex.append({"id": container, "name": f"api-{n}", "revisions": list(reversed(revs))})
        url = self.sandboxes.url("yandex")
        block = {
            "yandexServerlessContainer": {
                "containerId": container,
                "apiURL": url,
                "operationsURL": url,
                "iamURL": url,
            }
        }
        return Scenario("yandex", block, self._yandex_secret(), ids[0], ids[1:], container)

    def _yandex_secret(self) -> dict[str, str]:
        if not self.yandex_service_account:
            return {"iamToken": YANDEX_IAM_TOKEN}
        if self._yandex_key is None:
            self._yandex_key = make_service_account_key(service_account_id="ajesandboxaccount001")
        return {"serviceAccountKey": json.dumps(self._yandex_key["authorizedKey"])}

    def apply(self) -> World:
        """Seed every sandbox with the targets added so far (replacing earlier seeds)."""
        boxes = self.sandboxes
        boxes.read(
            "facets",
            lambda s: s.seed(
                {"users": [{"username": FACETS_USER, "token": FACETS_TOKEN}], "resources": self._facets}
            ),
        )
        boxes.read(
            "vector",
            lambda s: s.seed(
                {
                    "tokens": {VECTOR_TOKEN: "ops@acme.example"},
                    "settings": {"step_seconds": self.vector_step_seconds},
                    "environments": self._vector,
                }
            ),
        )
        yandex: dict[str, Any] = {
            "operationSeconds": self.yandex_operation_seconds,
            "iamTokens": {YANDEX_IAM_TOKEN: "ajesandboxaccount001"},
            "containers": self._yandex,
        }
        if self._yandex_key is not None:
            yandex["serviceAccountKeys"] = [self._yandex_key]
        boxes.read("yandex", lambda s: s.seed(yandex))
        return self

    def scenario(self, provider: str, **kwargs: Any) -> Scenario:
        """Add a target of the named sandbox kind (facets, vector, yandex)."""
        builder = {"facets": self.facets, "vector": self.vector, "yandex": self.yandex}[provider]
        return builder(**kwargs)  # type: ignore[operator]

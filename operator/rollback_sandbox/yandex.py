"""A local Yandex Cloud: IAM token exchange, Serverless Containers revisions, rollback operations.

One aiohttp application serves the three Yandex hosts' routes (their paths do not collide), so a
spec may point ``apiURL``, ``operationsURL`` and ``iamURL`` at the same sandbox:

- ``POST /iam/v1/tokens``: verifies the PS256 JWT (signature against the seeded public key,
  ``kid``/``iss``/``aud``, ``exp - iat <= 3600``, not expired) and issues a ``t1.`` token;
- ``GET /containers/v1/revisions`` (exactly one of ``containerId``/``folderId``, ``pageSize``,
  ``pageToken``, ``filter=status="..."``), ``GET /containers/v1/revisions/{id}``,
  ``GET /containers/v1/containers/{id}``;
- ``POST /containers/v1/containers/{id}:rollback``: deduplicated by ``Idempotency-Key``;
- ``GET /operations/{id}``.

Like the real API: int64 fields as strings, nanosecond ``Z`` timestamps, ``@type`` in Any fields,
an explicit ``"done": false``, errors as google.rpc Status with a RequestInfo detail and the
HTTP status of Yandex's table, and a Bearer check (401, code 16) on every non-IAM route.

An operation finishes ``operationSeconds`` after it started, computed when observed. Then the
chosen revision becomes ``ACTIVE`` and the previous one ``OBSOLETE``; a revision seeded with
``failRollback`` instead gets an ``error`` halfway (while ``done`` is still false, as Yandex
records errors before reverting) and ends ``done`` with it. ``rollbacks[<containerId>]`` counts
every operation the sandbox started. Seed format: ``YandexState.seed``. Used by the tests, the
demo and ``rollback-operator sandbox``. The state lives in ``yandex_state.py``, the routes in
``yandex_routes.py``; both are re-exported here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from rollback_sandbox.common import build_app
from rollback_sandbox.yandex_iam import make_service_account_key
from rollback_sandbox.yandex_routes import add_routes
from rollback_sandbox.yandex_state import YandexState

__all__ = ["DEMO_IAM_TOKEN", "YandexState", "add_routes", "create_app", "demo_seed"]


def create_app(state: YandexState) -> web.Application:
    """The sandbox application: Yandex routes, the fault middleware and the control API."""
    return build_app(state, add_routes)


# ------------------------------------------------------------------------------- seed helpers


DEMO_IAM_TOKEN = "t1.sandbox-demo-token.not-a-real-yandex-token"  # noqa: S105 - a public demo value


def demo_seed() -> dict[str, Any]:
    """A container ``api`` with five revisions (the newest live), a static token and a key."""
    images = ["1.3.0", "1.3.1", "1.4.0", "1.4.1", "1.5.0"]
    revisions = [
        {
            "id": f"bbarevdemo00000000{index}",
            "image": f"cr.yandex/crpdemo000000000001/api:{tag}",
            "createdAt": f"2026-11-{16 + index}T10:00:00.{123456789 + index}Z",
            "status": "ACTIVE" if index == len(images) - 1 else "OBSOLETE",
            "description": f"release {tag}",
            "failRollback": "image pull failed: manifest unknown" if tag == "1.3.1" else False,
        }
        for index, tag in enumerate(images)
    ]
    container = {
        "id": "bbademoapi000000001",
        "folderId": "b1gdemofolder000001",
        "name": "api",
        "revisions": revisions,
    }
    return {
        "operationSeconds": 3,
        "iamTokens": {DEMO_IAM_TOKEN: "ajedemouser00000001"},
        "serviceAccountKeys": [make_service_account_key(service_account_id="ajedemosa0000000001")],
        "containers": [container],
    }

"""A local Vector Pro API: environments, deployments and rollbacks over real HTTP.

The sandbox application (``create_app``) and a demo seed (``demo_seed``), used by the adapter's
contract tests, the demo and ``rollback-operator sandbox``. The data, its seed format and how
deployments advance with time are in ``vector_state.py``; the routes, envelope, paging, auth and
rate limit in ``vector_routes.py``. Both are re-exported here, so callers import from this module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from rollback_sandbox.common import build_app
from rollback_sandbox.vector_routes import (
    API,
    BAD_TARGET,
    Handler,
    Route,
    add_routes,
    envelope,
    invalid,
)
from rollback_sandbox.vector_state import (
    BUSY,
    SUCCESS,
    Deployment,
    Environment,
    Settings,
    VectorState,
    iso,
    new_ulid,
)

__all__ = [
    "API",
    "BAD_TARGET",
    "BUSY",
    "SUCCESS",
    "Deployment",
    "Environment",
    "Handler",
    "Route",
    "Settings",
    "VectorState",
    "add_routes",
    "create_app",
    "demo_seed",
    "envelope",
    "invalid",
    "iso",
    "new_ulid",
]


def create_app(state: VectorState) -> web.Application:
    """The sandbox application: faults, the control API and the Vector routes."""
    return build_app(state, add_routes)


def demo_seed(now: datetime | None = None) -> dict[str, Any]:
    """A production and a staging environment with a few weeks of history up to ``now``, and a token."""
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)

    def deployment(ulid: str, status: str, days: float, actor: str = "ci@example.com", **extra: Any) -> Any:
        return {
            "id": ulid,
            "status": status,
            "created_at": iso(now - timedelta(days=days)),
            "actor": actor,
            **extra,
        }

    production = [  # oldest first
        deployment("01kqhc8am04tff59tdwh9edd1r", "deployed", 21, "anna@example.com"),
        deployment("01kqkyn1m01head8x4a1jh69re", "deployed", 14),
        deployment("01kqph1rm0h4qx4fr84g98pbsk", "failed", 9, stderr="PHP Fatal error: Uncaught Error"),
        deployment(
            "01kqs3efm0jmrnv7e9z0c1ht0h",
            "deployed",
            8,
            rollback_fails=True,
            rollback_stderr="Snapshot restore failed: the artifact expired from storage.",
        ),
        deployment("01kqvnv6m0g7kyhrjxjg7dj13n", "deployed", 2, "anna@example.com"),
        deployment("01kqy87xm02r00k6agv0vfcxec", "deployed", 0.5),
    ]
    staging = [
        deployment("01kr0tmmm027h6p3amkdqg6stt", "deployed", 3),
        deployment("01kr3d1bm0hm8hee7qv4ysr5s4", "deployed", 1),
    ]
    site = "01kr5ze2m0tep0y8expspatjh6"
    return {
        "tokens": {"vp_live_demo_7Qm2c9ZkR4tWx8Lp": "ops@example.com"},
        "settings": {"step_seconds": 3.0},
        "environments": [
            {
                "id": "01jfgxk4nqrst5vwx9yz0abcdg",
                "name": "production",
                "is_production": True,
                "site_id": site,
                "subdomain": "quiet-harbor",
                "deployments": production,
            },
            {
                "id": "01kr8htsm0ya61zcbw4e8c34pf",
                "name": "staging",
                "site_id": site,
                "subdomain": "quiet-harbor-staging",
                "deployments": staging,
            },
        ],
    }

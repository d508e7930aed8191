"""The Vector test scenario: the seed (one environment per situation), ids, and small helpers.

Shared by the fixtures in conftest.py and the test modules of this directory.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from rollback_operator.providers.base import Resolution
from rollback_operator.providers.http import RetryPolicy
from rollback_sandbox.common import Faults
from rollback_sandbox.vector import VectorState

TOKEN = "vp_live_test_Zq81mW4rT6xK"
ACTOR = "ops@example.com"
START = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.005, max_retry_after=2.0)
STEP = 10.0
"""Seconds per rollback step in the seed; tests move the clock instead of waiting."""


def dep(env_tag: str, n: int) -> str:
    """A 26-character lowercase id, e.g. dep("p", 5) for production's fifth deployment."""
    return f"01j{env_tag}{n:022d}"


def env_id(tag: str) -> str:
    return f"01je{tag}".ljust(26, "0")


PROD, STAGING, SUSPENDED, BUSY, NEVER, EMPTY, ODD = (env_id(t) for t in "pstbnem")


def history(tag: str, statuses: list[str], **per_index: dict[str, Any]) -> list[dict[str, Any]]:
    """Deployments oldest first, one hour apart, ending an hour before START."""
    return [
        {
            "id": dep(tag, n),
            "status": status,
            "created_at": (START - timedelta(hours=len(statuses) - n + 1)).isoformat(),
            "actor": "ci@example.com",
            **per_index.get(f"d{n}", {}),
        }
        for n, status in enumerate(statuses, start=1)
    ]


def seed() -> dict[str, Any]:
    """Production: p1 ok, p2 ok (its rollback fails), p3 failed, p4 ok, p5 ok (live), p6 failed."""
    failing = {"rollback_fails": True, "rollback_stderr": "Restoring files\nSnapshot restore failed: expired"}
    return {
        "tokens": {TOKEN: ACTOR},
        "settings": {"step_seconds": STEP},
        "environments": [
            {
                "id": PROD,
                "name": "production",
                "is_production": True,
                "subdomain": "quiet-harbor",
                "deployments": history(
                    "p", ["deployed", "deployed", "failed", "deployed", "deployed", "failed"], d2=failing
                ),
            },
            {"id": STAGING, "name": "staging", "deployments": history("s", ["deployed", "deployed"])},
            {
                "id": SUSPENDED,
                "name": "old",
                "status": "suspended",
                "deployments": history("t", ["deployed", "deployed"]),
            },
            {"id": BUSY, "name": "busy", "deployments": history("b", ["deployed", "deployed", "deploying"])},
            {"id": NEVER, "name": "never", "deployments": history("n", ["failed", "failed"])},
            {"id": EMPTY, "name": "empty", "deployments": []},
            {"id": ODD, "name": "odd", "deployments": history("m", ["deployed", "cancelled"])},
        ],
    }


class Clock:
    """The sandbox's notion of now; tests move it forward."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class HealingTransport(httpx.AsyncHTTPTransport):
    """Clears the sandbox's faults after the first request, so a retry meets a healthy API."""

    def __init__(self, state: VectorState) -> None:
        super().__init__()
        self.state = state

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        finally:
            self.state.faults = Faults()


def resolution(target: str, *, current: str = dep("p", 5), watermark: str | None = dep("p", 6)) -> Resolution:
    """A resolution as the reconciler rebuilds it from status (no candidates)."""
    return Resolution(current=current, target=target, explanation="test", watermark=watermark)


KEY = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"
"""An idempotency key as the reconciler derives it (unused by Vector)."""


async def deploy_elsewhere(base_url: str, environment: str) -> str:
    """Someone else's forward deploy through the API; returns the new deployment's id."""
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        response = await client.post(f"/api/v1/vector/environments/{environment}/deployments")
    response.raise_for_status()
    return str(response.json()["data"]["id"])

"""The Vector sandbox's data: settings, environments, deployments, and how they render as JSON.

``VectorState`` is read and changed by the routes in ``vector_routes.py`` and seeded by tests and
the demo through ``vector.py``, which re-exports it. Seed format (``VectorState.seed``,
``POST /_sandbox/seed``); it replaces tokens and environments::

    {"tokens": {"<token>": "<actor e-mail>"},
     "settings": {"step_seconds": 2.0,        # per step: pending → deploying → deployed
                  "success_status": 201,      # rollback answer: 201 (OpenAPI) or 202 (prose docs)
                  "status_words": "deploying",  # or "running": pending → running → completed
                  "rollback_body": "openapi",  # or "prose": environment_id, target_deployment_id
                  "legacy_routes": true, "rate_limit": 120, "enforce_rate_limit": false},
     "environments": [{"id": "<ulid>", "name": "production", "status": "active",
                       "is_production": true, "site_id": "<ulid>", "subdomain": "blue-fox",
                       "deployments": [   # oldest first; only id and status are required
                         {"id": "<ulid>", "status": "deployed", "created_at": "<ISO-8601>",
                          "actor": "dev@example.com", "stdout": "...", "stderr": null,
                          "rollback_fails": false, "rollback_stderr": "..."}]}]}

Seeded deployments keep their status. Deployments created through the API advance with time,
computed whenever they are read: ``step_seconds`` in ``pending``, as long in ``deploying``, then
``deployed``, or ``failed`` when the rollback's target is seeded with ``rollback_fails`` (its
``rollback_stderr`` becomes the record's stderr). ``state.rollbacks[<environment id>]`` counts the
rollbacks actually performed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from rollback_sandbox.common import SandboxState

SUCCESS = frozenset({"deployed", "completed"})
BUSY = frozenset({"pending", "deploying", "running"})
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_SEEDABLE = frozenset({"actor", "stdout", "stderr", "rollback_fails", "rollback_stderr"})


def new_ulid(when: datetime) -> str:
    """A lowercase 26-character ULID: 48 bits of milliseconds, then 80 random bits."""
    value = (int(when.timestamp() * 1000) << 80) | random.getrandbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def iso(when: datetime, *, zulu: bool = False) -> str:
    """UTC, whole seconds, ``+00:00`` as in the OpenAPI spec (``Z`` as in the prose docs)."""
    text = when.astimezone(UTC).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z") if zulu else text


@dataclass
class Settings:
    """How this sandbox resolves the points the Vector docs leave open."""

    step_seconds: float = 2.0
    """Seconds a new deployment spends in ``pending``, then in ``deploying``/``running``."""
    success_status: int = 201
    """The rollback's success code: 201 per the OpenAPI spec, 202 per the prose docs."""
    status_words: str = "deploying"
    """``deploying`` (→ ``deployed``, as deployments do) or ``running`` (→ ``completed``)."""
    rollback_body: str = "openapi"
    """The rollback answer's ``data``: the OpenAPI Deployment, or the prose docs' ``prose`` shape."""
    legacy_routes: bool = True
    """Also answer the nested ``sites/{site}/environments/{env}/...`` routes."""
    rate_limit: int = 120
    """Requests per minute reported in ``X-RateLimit-*``; answered 429 beyond it when enforced."""
    enforce_rate_limit: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        """Build from a seed's ``settings``; unknown keys and unsupported values are errors."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        settings = cls(**data)
        if not 200 <= settings.success_status < 300:
            raise ValueError("success_status must be a 2xx code")
        if settings.status_words not in ("deploying", "running"):
            raise ValueError("status_words must be 'deploying' or 'running'")
        if settings.rollback_body not in ("openapi", "prose"):
            raise ValueError("rollback_body must be 'openapi' or 'prose'")
        return settings

    @property
    def words(self) -> tuple[str, str]:
        """The in-progress and success status words."""
        return ("running", "completed") if self.status_words == "running" else ("deploying", "deployed")


@dataclass
class Environment:
    """A Vector environment; only ``active`` ones accept deployments and rollbacks."""

    id: str
    name: str
    status: str = "active"
    is_production: bool = False
    site_id: str = "01jsite0000000000000000000"
    subdomain: str | None = None


@dataclass
class Deployment:
    """A deployment record: seeded history, a forward deploy, or a rollback (``target`` set)."""

    id: str
    environment_id: str
    status: str
    created_at: datetime
    actor: str = "deploy@example.com"
    stdout: str | None = None
    stderr: str | None = None
    rollback_fails: bool = False
    rollback_stderr: str | None = None
    target: Deployment | None = None
    """For rollback records: the deployment rolled back to."""
    words: tuple[str, str] | None = None
    """For records created through the API: they advance with time using these status words."""


class VectorState(SandboxState):
    """Tokens, environments, deployments and settings of the Vector sandbox."""

    def __init__(self, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__()
        self.clock = clock
        self.settings = Settings()
        self.tokens: dict[str, str] = {}
        self.environments: dict[str, Environment] = {}
        self.deployments: dict[str, Deployment] = {}
        self.window = (0, 0)
        """(minute, requests in it) for the rate limit."""

    def reset(self) -> None:
        clock = self.clock
        super().reset()
        self.clock = clock

    def seed(self, data: dict[str, Any]) -> None:
        """Load the document described in the module docstring."""
        self.settings = Settings.from_json(dict(data.get("settings", {})))
        self.tokens = {str(token): str(actor) for token, actor in data.get("tokens", {}).items()}
        self.environments, self.deployments = {}, {}
        for env in data.get("environments", []):
            history = env.get("deployments", [])
            self.environments[env["id"]] = Environment(**{k: v for k, v in env.items() if k != "deployments"})
            for index, item in enumerate(history):
                self._seed_deployment(env["id"], item, hours_ago=len(history) - index)

    def _seed_deployment(self, env_id: str, item: dict[str, Any], *, hours_ago: int) -> None:
        created = item.get("created_at")
        when = datetime.fromisoformat(created) if created else self.clock() - timedelta(hours=hours_ago)
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
        extra = {k: v for k, v in item.items() if k not in ("id", "status", "created_at")}
        if set(extra) - _SEEDABLE:
            raise ValueError(f"unknown deployment fields: {sorted(set(extra) - _SEEDABLE)}")
        self.deployments[item["id"]] = Deployment(
            item["id"], env_id, item["status"], when.astimezone(UTC), **extra
        )

    def find_environment(self, key: str) -> Environment | None:
        """By id or by platform subdomain, as Vector's environment routes accept both."""
        if key in self.environments:
            return self.environments[key]
        return next((e for e in self.environments.values() if e.subdomain == key), None)

    def history(self, env_id: str) -> list[Deployment]:
        """The environment's deployments, newest first (dict order breaks same-instant ties)."""
        mine = [d for d in self.deployments.values() if d.environment_id == env_id]
        order = {d.id: index for index, d in enumerate(mine)}
        return sorted(mine, key=lambda d: (d.created_at, order[d.id]), reverse=True)

    def status_of(self, deployment: Deployment) -> str:
        """The status now; records created through the API advance with time."""
        if deployment.words is None:
            return deployment.status
        elapsed = (self.clock() - deployment.created_at).total_seconds()
        step = self.settings.step_seconds
        if elapsed < step:
            return "pending"
        if elapsed < 2 * step:
            return deployment.words[0]
        failing = deployment.target is not None and deployment.target.rollback_fails
        return "failed" if failing else deployment.words[1]

    def busy(self, env_id: str) -> bool:
        """Whether a deployment or rollback of the environment is still in progress."""
        return any(self.status_of(d) in BUSY for d in self.deployments.values() if d.environment_id == env_id)

    def start(self, env: Environment, actor: str, target: Deployment | None) -> Deployment:
        """Create a pending deployment; a rollback when ``target`` is set (and then counted)."""
        now = self.clock()
        record = Deployment(new_ulid(now), env.id, "pending", now, actor, target=target)
        record.words = self.settings.words
        self.deployments[record.id] = record
        if target is not None:
            self.rollbacks[env.id] += 1
        return record

    def render(self, deployment: Deployment, *, status: str | None = None) -> dict[str, Any]:
        """The OpenAPI Deployment object."""
        env = self.environments[deployment.environment_id]
        status = status or self.status_of(deployment)
        stdout, stderr = self._logs(deployment, status)
        return {
            "id": deployment.id,
            "vector_environment_id": env.id,
            "status": status,
            "status_label": status.replace("_", " ").title(),
            "stdout": stdout,
            "stderr": stderr,
            "actor": deployment.actor,
            "environment": {"id": env.id, "name": env.name, "is_production": env.is_production},
            "created_at": iso(deployment.created_at),
            "updated_at": iso(self._updated(deployment, status)),
        }

    def render_prose(self, deployment: Deployment) -> dict[str, Any]:
        """The rollback answer as the prose docs show it."""
        target = deployment.target.id if deployment.target else None
        return {
            "id": deployment.id,
            "environment_id": deployment.environment_id,
            "status": "pending",
            "target_deployment_id": target,
            "stdout": None,
            "stderr": None,
            "created_at": iso(deployment.created_at, zulu=True),
            "updated_at": iso(deployment.created_at, zulu=True),
        }

    def _logs(self, deployment: Deployment, status: str) -> tuple[str | None, str | None]:
        if deployment.words is None or status == "pending":
            return deployment.stdout, deployment.stderr
        what = f"Rolling back to deployment {deployment.target.id}" if deployment.target else "Deploying"
        if status == "failed" and deployment.target is not None:
            stderr = (
                deployment.target.rollback_stderr or "Rollback failed: the snapshot could not be restored."
            )
            return f"{what}...\n", stderr
        return f"{what}...\n" + ("Done.\n" if status in SUCCESS else ""), None

    def _updated(self, deployment: Deployment, status: str) -> datetime:
        if deployment.words is None or status == "pending":
            return deployment.created_at
        steps = 1 if status in BUSY else 2
        return deployment.created_at + timedelta(seconds=steps * self.settings.step_seconds)

    def count_request(self) -> tuple[int, bool]:
        """Count one API request; (remaining, allowed) for the current minute."""
        minute = int(self.clock().timestamp() // 60)
        used = self.window[1] + 1 if self.window[0] == minute else 1
        self.window = (minute, used)
        limit = self.settings.rate_limit
        return max(0, limit - used), used <= limit or not self.settings.enforce_rate_limit

    def snapshot(self) -> dict[str, Any]:
        envs = {
            env.id: {
                "name": env.name,
                "status": env.status,
                "deployments": [self.render(d) for d in self.history(env.id)],
            }
            for env in self.environments.values()
        }
        return {**super().snapshot(), "settings": asdict(self.settings), "environments": envs}

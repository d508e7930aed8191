"""A local Vector Pro API: environments, deployments and rollbacks over real HTTP.

Serves ``/api/v1/vector/``: ``GET environments/{env}/deployments``, ``POST environments/{env}/rollback``,
``POST environments/{env}/deployments`` (a forward deploy, so tests can show someone else acting)
and ``GET deployments/{id}``, plus, unless ``legacy_routes`` is off, the pre-2026-02 nested aliases
under ``sites/{site}/environments/{env}/``. Bodies use Vector's envelope ``{data, message,
http_status, errors?}``, Laravel ``links``/``meta`` pagination, Bearer auth (401 otherwise) and
``X-RateLimit-*`` headers. ``{env}`` is an environment id or its subdomain. Used by the adapter's
contract tests, the demo and ``rollback-operator sandbox`` (via ``create_app`` and ``demo_seed``).

Seed format (``VectorState.seed``, ``POST /_sandbox/seed``); it replaces tokens and environments::

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

import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from rollback_operator.sandbox.common import SandboxState, build_app

API = "/api/v1/vector"
SUCCESS = frozenset({"deployed", "completed"})
BUSY = frozenset({"pending", "deploying", "running"})
BAD_TARGET = "The specified deployment does not exist for this environment or has no Ymir deployment ID."
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


# ------------------------------------------------------------------------------------------ API

Handler = Callable[[web.Request, str], Awaitable[web.Response]]
Route = Callable[[web.Request], Awaitable[web.Response]]


def envelope(status: int, message: str, data: Any = None, **extra: Any) -> web.Response:
    """Vector's envelope; errors carry ``data: {}``."""
    body = {"data": {} if data is None else data, **extra, "message": message, "http_status": status}
    return web.json_response(body, status=status)


def invalid(field: str, problem: str, *, message: str = "Validation failed") -> web.Response:
    """A 422 with one ``errors`` entry (state errors repeat the problem as the message)."""
    return envelope(422, message, errors={field: [problem]})


def _integer(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _paging(query: Any) -> tuple[int, int] | web.Response:
    """``page`` and ``per_page`` (default 15, at most 100), or the 422 Vector answers."""
    page, per_page = _integer(query.get("page", "1")), _integer(query.get("per_page", "15"))
    errors: dict[str, list[str]] = {}
    if per_page is None or per_page < 1:
        errors["per_page"] = ["The per page field must be an integer of at least 1."]
    elif per_page > 100:
        errors["per_page"] = ["Maximum items per page is 100."]
    if page is None or page < 1:
        errors["page"] = ["The page field must be an integer of at least 1."]
    if errors or page is None or per_page is None:
        return envelope(422, "Validation failed", errors=errors)
    return page, per_page


def _page_links(request: web.Request, page: int, last: int) -> dict[str, str | None]:
    def link(number: int) -> str:
        return str(request.url.with_query({"page": number}))

    return {
        "first": link(1),
        "last": link(last),
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < last else None,
    }


async def _body(request: web.Request) -> dict[str, Any]:
    # Laravel reads an empty or unparsable JSON body as no input at all.
    try:
        body = json.loads(await request.read() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


class _Api:
    """The route handlers; each reads and changes ``state`` without awaiting in between."""

    def __init__(self, state: VectorState) -> None:
        self.state = state

    def guard(self, handler: Handler) -> Route:
        """Bearer auth (401), the rate limit (429) and the ``X-RateLimit-*`` headers."""

        async def guarded(request: web.Request) -> web.Response:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            actor = self.state.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            remaining, allowed = self.state.count_request()
            if actor is None:
                response = envelope(401, "Unauthenticated")
            elif not allowed:
                response = envelope(429, "Too Many Attempts.")
                response.headers["Retry-After"] = str(60 - int(self.state.clock().timestamp()) % 60)
            else:
                response = await handler(request, actor)
            response.headers["X-RateLimit-Limit"] = str(self.state.settings.rate_limit)
            response.headers["X-RateLimit-Remaining"] = str(remaining)
            return response

        return guarded

    def legacy(self, route: Route) -> Route:
        """The nested pre-2026-02 routes answer only while ``legacy_routes`` is on."""

        async def nested(request: web.Request) -> web.Response:
            if not self.state.settings.legacy_routes:
                return await self.not_found(request)
            return await route(request)

        return nested

    async def not_found(self, request: web.Request) -> web.Response:
        return envelope(404, f"The route {request.path.lstrip('/')} could not be found.")

    def environment(self, request: web.Request) -> Environment | None:
        env = self.state.find_environment(request.match_info["env"])
        site = request.match_info.get("site")
        return None if env is None or (site is not None and site != env.site_id) else env

    async def list_deployments(self, request: web.Request, actor: str) -> web.Response:
        env = self.environment(request)
        if env is None:
            return envelope(404, "Environment not found")
        paging = _paging(request.query)
        if isinstance(paging, web.Response):
            return paging
        page, per_page = paging
        items = self.state.history(env.id)
        last, start = max(1, -(-len(items) // per_page)), (page - 1) * per_page
        chunk = items[start : start + per_page]
        meta = {
            "current_page": page,
            "from": start + 1 if chunk else None,
            "last_page": last,
            "per_page": per_page,
            "to": start + len(chunk) if chunk else None,
            "total": len(items),
        }
        data = [self.state.render(d) for d in chunk]
        links = _page_links(request, page, last)
        return envelope(200, "Deployments retrieved successfully", data, links=links, meta=meta)

    async def get_deployment(self, request: web.Request, actor: str) -> web.Response:
        deployment = self.state.deployments.get(request.match_info["deployment"])
        if "env" in request.match_info:  # nested route: the deployment must be the environment's
            env = self.environment(request)
            deployment = deployment if env and deployment and deployment.environment_id == env.id else None
        if deployment is None:
            return envelope(404, "Deployment not found")
        return envelope(200, "Deployment retrieved successfully", self.state.render(deployment))

    async def rollback(self, request: web.Request, actor: str) -> web.Response:
        env = self.environment(request)
        if env is None:
            return envelope(404, "Environment not found")
        target = self.target(env, await _body(request))
        if isinstance(target, web.Response):
            return target
        refused = self.refusal(env)
        if refused is not None:
            return refused
        record = self.state.start(env, actor, target)
        settings = self.state.settings
        prose = settings.rollback_body == "prose"
        data = self.state.render_prose(record) if prose else self.state.render(record, status="pending")
        message = (
            "Rollback initiated" if settings.success_status == 201 else "Rollback initiated successfully"
        )
        return envelope(settings.success_status, message, data)

    async def deploy(self, request: web.Request, actor: str) -> web.Response:
        env = self.environment(request)
        if env is None:
            return envelope(404, "Environment not found")
        refused = self.refusal(env)
        if refused is not None:
            return refused
        record = self.state.start(env, actor, None)
        code = self.state.settings.success_status
        return envelope(code, "Deployment initiated", self.state.render(record, status="pending"))

    def target(self, env: Environment, body: dict[str, Any]) -> Deployment | web.Response:
        """The validated target; without one, the previous successful deployment."""
        value = body.get("target_deployment_id")
        successes = [d for d in self.state.history(env.id) if self.state.status_of(d) in SUCCESS]
        if value is None:
            if len(successes) < 2:
                return invalid("target_deployment_id", "There is no previous successful deployment.")
            return successes[1]
        if not isinstance(value, str):
            return invalid("target_deployment_id", "The target deployment id field must be a string.")
        found = next((d for d in successes if d.id == value), None)
        return found if found is not None else invalid("target_deployment_id", BAD_TARGET)

    def refusal(self, env: Environment) -> web.Response | None:
        """The state checks: an active environment with nothing in progress."""
        if env.status != "active":
            problem = f"Environment must be active to deploy or roll back. Current state: '{env.status}'."
            return invalid("status", problem, message=problem)
        if self.state.busy(env.id):
            problem = "A deployment or rollback is already in progress for this environment."
            return invalid("deployment", problem, message=problem)
        return None


def add_routes(app: web.Application, state: VectorState) -> None:
    """Register the flat routes, their nested aliases and a JSON 404 for everything else."""
    api = _Api(state)
    per_environment: list[tuple[str, str, Handler]] = [
        ("GET", "environments/{env}/deployments", api.list_deployments),
        ("POST", "environments/{env}/deployments", api.deploy),
        ("POST", "environments/{env}/rollback", api.rollback),
    ]
    for method, path, handler in per_environment:
        app.router.add_route(method, f"{API}/{path}", api.guard(handler))
        app.router.add_route(method, f"{API}/sites/{{site}}/{path}", api.legacy(api.guard(handler)))
    app.router.add_get(f"{API}/deployments/{{deployment}}", api.guard(api.get_deployment))
    nested = f"{API}/sites/{{site}}/environments/{{env}}/deployments/{{deployment}}"
    app.router.add_get(nested, api.legacy(api.guard(api.get_deployment)))
    app.router.add_route("*", "/{tail:.*}", api.not_found)


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

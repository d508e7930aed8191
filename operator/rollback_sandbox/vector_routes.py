"""The Vector sandbox's HTTP API: the routes of ``/api/v1/vector/`` over a ``VectorState``.

Serves ``GET environments/{env}/deployments``, ``POST environments/{env}/rollback``,
``POST environments/{env}/deployments`` (a forward deploy, so tests can show someone else acting)
and ``GET deployments/{id}``, plus, unless ``legacy_routes`` is off, the pre-2026-02 nested aliases
under ``sites/{site}/environments/{env}/``. Bodies use Vector's envelope ``{data, message,
http_status, errors?}``, Laravel ``links``/``meta`` pagination, Bearer auth (401 otherwise) and
``X-RateLimit-*`` headers. ``{env}`` is an environment id or its subdomain. ``add_routes`` is
used by ``vector.py`` (which re-exports it) to build the sandbox application.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from rollback_sandbox.vector_state import SUCCESS, Deployment, Environment, VectorState

API = "/api/v1/vector"
BAD_TARGET = "The specified deployment does not exist for this environment or has no Ymir deployment ID."

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

"""The Facets sandbox's HTTP API: the artifact-versioning routes over a ``FacetsState``.

Serves, behind HTTP Basic (401 ``text/plain`` "Unauthorized"):

- ``GET  /cc-ui/v1/artifacts/cluster/{c}/resourceType/{t}/resourceName/{n}``: the current Artifact;
- ``GET  /cc-ui/v1/clusters/{c}/resourceType/{t}/resourceName/{n}/resource-history``;
- ``GET  /cc-ui/v1/versions/{versioningKey}?page&perPage``: a bare array, newest first
  (``perPage`` defaults to 10, as in the live spec), and ``.../paginated`` (a Spring ``Page``);
- ``GET  /cc-ui/v1/versions/id/{id}``; ``POST /cc-ui/v1/versions/{id}/restore``.

Unknown resources, keys and ids answer 404 ``ErrorDetails`` (``{"code", "message"}``, code a
string). Restore is synchronous and answers ``{}``; a version seeded with ``failRestore`` answers
500 or 400 and nothing changes. ``add_routes`` is used by ``facets.py`` (which re-exports it) to
build the sandbox application.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from rollback_sandbox.facets_state import FacetsState, Resource

API = "/cc-ui/v1"
RESOURCE = "resourceType/{type}/resourceName/{name}"
DEFAULT_PER_PAGE = 10


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _not_found(what: str) -> web.Response:
    return _error(404, "NOT_FOUND", f"{what} not found")


def _user(request: web.Request, state: FacetsState) -> str | None:
    """The authenticated user's e-mail, or None."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username if username in state.users and state.users[username] == token else None


Handler = Callable[[web.Request, str], Awaitable[web.Response]]


def _authed(state: FacetsState, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def checked(request: web.Request) -> web.Response:
        user = _user(request, state)
        if user is None:
            return web.Response(
                status=401, text="Unauthorized", headers={"WWW-Authenticate": 'Basic realm="Realm"'}
            )
        return await handler(request, user)

    return checked


def _paging(request: web.Request) -> tuple[int, int]:
    """``page`` and ``perPage``; a bad value raises ``ValueError``."""
    page = int(request.query.get("page", "0"))
    per_page = int(request.query.get("perPage", str(DEFAULT_PER_PAGE)))
    if page < 0 or per_page < 1:
        raise ValueError("page must be >= 0 and perPage >= 1")
    return page, per_page


def _spring_page(items: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    chunk = items[page * size : (page + 1) * size]
    pages = math.ceil(len(items) / size)
    sort = {"sorted": False, "unsorted": True, "empty": True}
    pageable = {"pageNumber": page, "pageSize": size, "offset": page * size, "paged": True, "unpaged": False}
    return {
        "content": chunk,
        "pageable": {**pageable, "sort": sort},
        "totalElements": len(items),
        "totalPages": pages,
        "last": page >= pages - 1,
        "size": size,
        "number": page,
        "sort": sort,
        "numberOfElements": len(chunk),
        "first": page == 0,
        "empty": not chunk,
    }


def _history(state: FacetsState, resource: Resource) -> dict[str, Any]:
    artifact: dict[str, Any] = {"versions": state.listed(resource)[:DEFAULT_PER_PAGE]}
    if state.reports_live_version:
        artifact["liveVersionId"] = resource.live
    empty: dict[str, Any] = {"versions": []}
    return {
        "resourceName": resource.name,
        "resourceType": resource.type,
        "alpha": False,
        "overridden": False,
        "resourceStatus": "RUNNING",
        "disabled": False,
        "clusterId": resource.cluster,
        "clusterName": resource.cluster_name,
        "blueprintVersion": empty,
        "overrideVersion": empty,
        "artifactVersion": artifact,
    }


def add_routes(app: web.Application, state: FacetsState) -> None:
    """Register the Facets API routes."""

    def resource_of(request: web.Request) -> Resource | None:
        info = request.match_info
        return state.resources.get((info["cluster"], info["type"], info["name"]))

    async def artifact(request: web.Request, _: str) -> web.Response:
        resource = resource_of(request)
        return web.json_response(resource.current()) if resource else _not_found("Artifact")

    async def history(request: web.Request, _: str) -> web.Response:
        resource = resource_of(request)
        return web.json_response(_history(state, resource)) if resource else _not_found("Resource")

    async def versions(request: web.Request, _: str) -> web.Response:
        resource = state.by_key(request.match_info["key"])
        if resource is None:
            return _not_found(f"Versioning key {request.match_info['key']}")
        try:
            page, size = _paging(request)
        except ValueError as exc:
            return _error(400, "BAD_REQUEST", str(exc))
        items = state.listed(resource)
        if request.path.endswith("/paginated"):
            return web.json_response(_spring_page(items, page, size))
        return web.json_response(items[page * size : (page + 1) * size])

    async def version_by_id(request: web.Request, _: str) -> web.Response:
        found = state.find_version(request.match_info["id"])
        return web.json_response(found[1]) if found else _not_found(f"Version {request.match_info['id']}")

    async def restore(request: web.Request, user: str) -> web.Response:
        version_id = request.match_info["id"]
        found = state.find_version(version_id)
        if found is None:
            return _not_found(f"Version {version_id}")
        if user in state.read_only:
            return web.Response(status=403, text="Forbidden")
        failure = state.fail_restore.get(version_id)
        if failure == "error":
            return _error(500, "INTERNAL_SERVER_ERROR", f"Failed to restore version {version_id}")
        if failure == "reject":
            return _error(400, "BAD_REQUEST", f"Version {version_id} cannot be restored")
        state.restore(found[0], version_id, user)
        return web.json_response({})

    app.router.add_get(f"{API}/artifacts/cluster/{{cluster}}/{RESOURCE}", _authed(state, artifact))
    app.router.add_get(f"{API}/clusters/{{cluster}}/{RESOURCE}/resource-history", _authed(state, history))
    app.router.add_get(f"{API}/versions/id/{{id}}", _authed(state, version_by_id))
    app.router.add_get(f"{API}/versions/{{key}}/paginated", _authed(state, versions))
    app.router.add_get(f"{API}/versions/{{key}}", _authed(state, versions))
    app.router.add_post(f"{API}/versions/{{id}}/restore", _authed(state, restore))

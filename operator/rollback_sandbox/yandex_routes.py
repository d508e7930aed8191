"""The Yandex sandbox's HTTP API: IAM, Serverless Containers and Operation routes over a ``YandexState``.

Every route settles time-based progress first, checks the Bearer token (except the IAM token
exchange) and renders ``ApiError`` as a google.rpc Status. ``add_routes`` is used by ``yandex.py``
to build the sandbox application.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from rollback_sandbox.yandex_iam import ApiError
from rollback_sandbox.yandex_state import YandexState

Handler = Callable[[web.Request, str], Awaitable[dict[str, Any]]]
"""An API handler: the request and the authenticated subject ("" on the IAM route)."""


def _endpoint(
    state: YandexState, handler: Handler, *, auth: bool = True
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Wrap a handler: settle time-based progress, check the Bearer token, render errors."""

    async def wrapped(request: web.Request) -> web.Response:
        try:
            state.settle()
            subject = state.iam.authenticate(request.headers.get("Authorization", "")) if auth else ""
            return web.json_response(await handler(request, subject))
        except ApiError as exc:
            return exc.response()

    return wrapped


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(3, "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(3, "Request body must be a JSON object")
    return body


def add_routes(app: web.Application, state: YandexState) -> None:
    """Register the IAM, Serverless Containers and Operation routes on ``app``."""

    async def create_token(request: web.Request, subject: str) -> dict[str, Any]:
        signed = (await _json_body(request)).get("jwt")
        if not isinstance(signed, str) or not signed or len(signed) > 8000:
            raise ApiError(3, "jwt is required (at most 8000 characters)")
        return state.iam.issue_token(state.iam.verify_jwt(signed))

    async def list_revisions(request: web.Request, subject: str) -> dict[str, Any]:
        return state.list_revisions(dict(request.query))

    async def get_revision(request: web.Request, subject: str) -> dict[str, Any]:
        return _found(state.revisions, request.match_info["revisionId"], "Revision")

    async def get_container(request: web.Request, subject: str) -> dict[str, Any]:
        return _found(state.containers, request.match_info["containerId"], "Container")

    async def rollback(request: web.Request, subject: str) -> dict[str, Any]:
        container_id, key = request.match_info["containerId"], request.headers.get("Idempotency-Key", "")
        revision_id = (await _json_body(request)).get("revisionId")
        # No await from here on: the key check and the new operation are atomic on the loop.
        if key in state.idempotency:
            return state.operation_json(state.operations[state.idempotency[key]])
        if not isinstance(revision_id, str) or not revision_id:
            raise ApiError(3, "revision_id is required")
        op = state.start_rollback(container_id, revision_id, subject)
        if key:
            state.idempotency[key] = op.id
        return state.operation_json(op)

    async def get_operation(request: web.Request, subject: str) -> dict[str, Any]:
        op = state.operations.get(request.match_info["operationId"])
        if op is None:
            raise ApiError(5, f"Operation {request.match_info['operationId']} not found")
        return state.operation_json(op)

    app.router.add_post("/iam/v1/tokens", _endpoint(state, create_token, auth=False))
    app.router.add_get("/containers/v1/revisions", _endpoint(state, list_revisions))
    app.router.add_get("/containers/v1/revisions/{revisionId}", _endpoint(state, get_revision))
    app.router.add_get("/containers/v1/containers/{containerId:[^/:]+}", _endpoint(state, get_container))
    app.router.add_post("/containers/v1/containers/{containerId:[^/:]+}:rollback", _endpoint(state, rollback))
    app.router.add_get("/operations/{operationId}", _endpoint(state, get_operation))


def _found(items: dict[str, dict[str, Any]], item_id: str, kind: str) -> dict[str, Any]:
    if item_id not in items:
        raise ApiError(5, f"{kind} {item_id} not found")
    return items[item_id]

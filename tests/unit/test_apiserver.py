"""The operator's own API server connection against a raw HTTP server: errors, and a rotated token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from rollback_operator.apiserver import ApiServer, Endpoint
from rollback_operator.errors import Conflict, Gone, KubernetesUnavailable

Serve = Callable[[web.RouteTableDef], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(routes: web.RouteTableDef) -> str:
        app = web.Application()
        app.add_routes(routes)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def _status(code: int, **details: str) -> web.Response:
    body = {"kind": "Status", "code": code, **({"details": details} if details else {})}
    return web.json_response(body, status=code)


async def test_a_rejected_token_is_read_again_once_and_the_call_repeated(serve: Serve) -> None:
    routes = web.RouteTableDef()
    seen: list[str] = []

    @routes.get("/api/v1/namespaces/ns/secrets/s")
    async def secret(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != "Bearer new":
            return _status(401)
        return web.json_response({"data": {}})

    server = await serve(routes)
    tokens = iter(["old", "new"])
    logins: list[str] = []

    def login() -> Endpoint:
        logins.append(token := next(tokens))
        return Endpoint(server=server, headers={"Authorization": f"Bearer {token}"})

    api = ApiServer(login, user_agent="rollback-operator/test")
    try:
        answer = await api.call("GET", "/api/v1/namespaces/ns/secrets/s", what="read Secret ns/s")
    finally:
        await api.close()

    assert answer == {"data": {}}
    assert seen == ["Bearer old", "Bearer new"]
    assert logins == ["old", "new"]


async def test_answers_become_the_operators_own_errors(serve: Serve) -> None:
    routes = web.RouteTableDef()

    @routes.get("/gone")
    async def gone(request: web.Request) -> web.Response:
        return _status(404, name="r")

    @routes.get("/unserved")
    async def unserved(request: web.Request) -> web.Response:
        return web.Response(status=404, text="404 page not found")

    @routes.post("/taken")
    async def taken(request: web.Request) -> web.Response:
        return _status(409)

    @routes.get("/busy")
    async def busy(request: web.Request) -> web.Response:
        return _status(429)

    @routes.get("/ok")
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps({"ok": True}), content_type="application/json")

    server = await serve(routes)
    api = ApiServer(lambda: Endpoint(server=server), user_agent="rollback-operator/test")
    try:
        with pytest.raises(Gone):
            await api.call("GET", "/gone", what="get r")
        with pytest.raises(KubernetesUnavailable, match="not served"):
            await api.call("GET", "/unserved", what="get r")
        with pytest.raises(Conflict):
            await api.call("POST", "/taken", what="create r", body={})
        with pytest.raises(KubernetesUnavailable, match="HTTP 429"):
            await api.call("GET", "/busy", what="get r")
        assert await api.call("GET", "/ok", what="get r", answer=False) is None
        assert await api.call("GET", "/ok", what="get r") == {"ok": True}
    finally:
        await api.close()


async def test_an_unreachable_server_is_unavailable_not_a_crash() -> None:
    api = ApiServer(lambda: Endpoint(server="http://127.0.0.1:9"), user_agent="rollback-operator/test")
    try:
        with pytest.raises(KubernetesUnavailable, match="get r"):
            await api.call("GET", "/x", what="get r")
    finally:
        await api.close()

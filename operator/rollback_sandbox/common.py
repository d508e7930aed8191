"""What the three provider sandboxes share: fault injection, the control API, and serving.

A sandbox is a real aiohttp server on loopback that behaves like one provider's API. Each
provider module (``facets.py``, ``vector.py``, ``yandex.py``) defines a state class derived from
``SandboxState`` and a function that adds its API routes to an application; this module wraps
them with:

- a fault middleware: a share of requests gets a 5xx, a 429 with ``Retry-After``, added latency,
  a response slower than the client's timeout (after the request was processed), a dropped
  connection (after processing, so the caller cannot know), a malformed body, a body that never
  ends (one byte every ``drip_seconds``) or one of ``oversize_bytes`` (streamed, never built whole);
- the control API under ``/_sandbox/`` (never subject to faults): ``GET state``, ``POST faults``,
  ``POST reset``, ``GET rollbacks`` and provider-specific ``POST seed``;
- ``SandboxServer``: start/stop on a free loopback port, from async code or from a thread.

Used by the tests, the demo, the benchmarks and ``rollback-operator sandbox``.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from aiohttp import web

CONTROL_PREFIX = "/_sandbox/"


@dataclass
class Faults:
    """Shares of requests (0..1) that misbehave, and how. All zero means a healthy API."""

    error_rate: float = 0.0
    """Answer 5xx before doing anything."""
    error_status: int = 503
    throttle_rate: float = 0.0
    """Answer 429 with ``Retry-After`` before doing anything."""
    retry_after: float = 1.0
    latency: float = 0.0
    """Seconds added to every answer."""
    slow_rate: float = 0.0
    """Process the request, then wait ``slow_seconds`` before answering."""
    slow_seconds: float = 15.0
    drop_rate: float = 0.0
    """Process the request, then close the connection without answering."""
    malformed_rate: float = 0.0
    """Process the request, then answer 200 with a truncated body."""
    endless_rate: float = 0.0
    """Process the request, then answer 200 with a body that never ends (a byte every ``drip_seconds``)."""
    drip_seconds: float = 1.0
    oversize_rate: float = 0.0
    """Process the request, then answer 200 with ``oversize_bytes`` of body (chunked, no length)."""
    oversize_bytes: int = 100 * 1024 * 1024
    methods: tuple[str, ...] = ("GET", "POST")
    """Only requests with these methods are subject to faults."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        """Build from a JSON object; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        if "methods" in data:
            data = {**data, "methods": tuple(data["methods"])}
        return cls(**data)


class SandboxState:
    """Base of a provider sandbox's state: credentials, faults and rollback counters."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.rollbacks: Counter[str] = Counter()
        """How many rollbacks each target received (the exactly-once evidence)."""
        self.requests: Counter[str] = Counter()
        """How many API requests each route received, keyed "METHOD /route/pattern"."""
        self.lock = asyncio.Lock()

    def reset(self) -> None:
        """Forget all seeded data, counters and faults."""
        self.__init__()  # type: ignore[misc]

    def seed(self, data: dict[str, Any]) -> None:
        """Load resources and histories from a JSON document (provider-specific)."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able view of the state for ``GET /_sandbox/state``."""
        return {"rollbacks": dict(self.rollbacks), "requests": dict(self.requests)}


def _roll(rate: float) -> bool:
    return rate > 0 and random.random() < rate


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fault_middleware(state: SandboxState) -> Any:
    """The middleware that applies ``state.faults`` to API (non-control) requests."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        route = request.match_info.route.resource
        state.requests[f"{request.method} {route.canonical if route else request.path}"] += 1
        faults = state.faults
        if request.method not in faults.methods:
            return await handler(request)
        if faults.latency:
            await asyncio.sleep(faults.latency)
        if _roll(faults.error_rate):
            return web.json_response({"message": "injected fault"}, status=faults.error_status)
        if _roll(faults.throttle_rate):
            return web.json_response(
                {"message": "injected throttling"},
                status=429,
                headers={"Retry-After": f"{faults.retry_after:g}"},
            )
        response = await handler(request)
        if _roll(faults.slow_rate):
            await asyncio.sleep(faults.slow_seconds)
        if _roll(faults.drop_rate):
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError  # aiohttp treats this as a vanished client: no answer
        if _roll(faults.malformed_rate):
            return web.Response(status=200, text='{"data": {"id": ', content_type="application/json")
        if _roll(faults.endless_rate):
            return await _stream(request, _drip(faults.drip_seconds))
        if _roll(faults.oversize_rate):
            return await _stream(request, _blocks(faults.oversize_bytes))
        return response

    return middleware


async def _drip(seconds: float) -> AsyncIterator[bytes]:
    yield b'{"data": '
    while True:
        await asyncio.sleep(seconds)
        yield b" "


async def _blocks(size: int, block: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, size, block):
        yield b" " * min(block, size - start)


async def _stream(request: web.Request, body: AsyncIterator[bytes]) -> web.StreamResponse:
    """A 200 JSON answer written chunk by chunk, until ``body`` ends or the client goes away."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        async for chunk in body:
            await response.write(chunk)
        await response.write_eof()
    except ConnectionResetError:  # the client gave up reading: what these faults are for
        pass
    return response


def control_routes(state: SandboxState) -> web.RouteTableDef:
    """The ``/_sandbox/`` routes every sandbox serves."""
    routes = web.RouteTableDef()

    @routes.get(CONTROL_PREFIX + "state")
    async def get_state(_: web.Request) -> web.Response:
        return web.json_response(state.snapshot())

    @routes.get(CONTROL_PREFIX + "rollbacks")
    async def get_rollbacks(_: web.Request) -> web.Response:
        return web.json_response(dict(state.rollbacks))

    @routes.post(CONTROL_PREFIX + "faults")
    async def set_faults(request: web.Request) -> web.Response:
        try:
            state.faults = Faults.from_json(await request.json())
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(state.faults))

    @routes.post(CONTROL_PREFIX + "reset")
    async def reset(_: web.Request) -> web.Response:
        state.reset()
        return web.json_response({})

    @routes.post(CONTROL_PREFIX + "seed")
    async def seed(request: web.Request) -> web.Response:
        try:
            state.seed(await request.json())
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            return web.json_response({"error": f"bad seed: {exc}"}, status=400)
        return web.json_response(state.snapshot())

    return routes


def served_over(scheme: str) -> Any:
    """A middleware for a sandbox behind a TLS front (which forwards bytes, not headers): the URLs
    the routes build from a request (Vector's page links) carry ``scheme``, as the client used."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(request.clone(scheme=scheme))

    return middleware


def build_app(state: SandboxState, add_api_routes: Callable[[web.Application, Any], None]) -> web.Application:
    """An application with the fault middleware, the control API and the provider's routes."""
    app = web.Application(middlewares=[fault_middleware(state)])
    app.add_routes(control_routes(state))
    add_api_routes(app, state)
    return app


async def _cancel_leftovers() -> None:
    """Cancel and await every other task of the running loop."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class SandboxServer:
    """Serves one application on loopback; usable from async code or from another thread."""

    def __init__(self, app: web.Application, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:41234."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start serving in the running event loop; picks a free port when ``port`` is 0."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only through the server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> None:
        """Serve from a daemon thread with its own event loop (for sync tests and tools)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self.start())
            except BaseException as exc:  # handed to the starting thread below
                failure.append(exc)
                self._loop.close()
                return
            finally:
                started.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.stop())
            self._loop.run_until_complete(_cancel_leftovers())  # e.g. handlers inside a slow fault
            self._loop.close()

        self._thread = threading.Thread(target=run, name=f"sandbox-{id(self)}", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("sandbox did not start within 10 s")
        if failure:
            raise RuntimeError("sandbox failed to start") from failure[0]

    def stop_thread(self) -> None:
        """Stop a server started with ``start_in_thread``."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop thread and return its result (thread-safe state access)."""
        if self._loop is None:
            return fn()

        async def wrapper() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(10)

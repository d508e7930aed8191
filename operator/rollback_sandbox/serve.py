"""All three provider sandboxes in one process: ``rollback-operator sandbox``, tests, demo, benchmarks.

``Sandboxes`` starts the Facets, Vector and Yandex sandboxes on loopback ports (each on its own
server, seeded with its ``demo_seed`` unless told otherwise), exposes their URLs and states, and
reads state safely from another thread. ``serve`` runs them in the foreground and prints the
endpoints, the sample credentials and a matching ``--allowed-endpoint`` flag for the operator.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from rollback_sandbox import facets, vector, yandex
from rollback_sandbox.common import SandboxServer, SandboxState, served_over


@dataclass(frozen=True)
class Kind:
    """How to build one provider's sandbox."""

    state: Callable[[], SandboxState]
    app: Callable[[Any], web.Application]
    demo_seed: Callable[[], dict[str, Any]]


KINDS: dict[str, Kind] = {
    "facets": Kind(facets.FacetsState, facets.create_app, facets.demo_seed),
    "vector": Kind(vector.VectorState, vector.create_app, vector.demo_seed),
    "yandex": Kind(yandex.YandexState, yandex.create_app, yandex.demo_seed),
}


class Sandboxes:
    """The three sandboxes, each on its own loopback port."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        seed: bool = True,
        scheme: str = "http",
    ):
        """``scheme``: what clients use, https behind a TLS front (the sandboxes serve plain http)."""
        self.states: dict[str, SandboxState] = {name: kind.state() for name, kind in KINDS.items()}
        if seed:
            for name, kind in KINDS.items():
                self.states[name].seed(kind.demo_seed())
        self.servers = {
            name: SandboxServer(KINDS[name].app(state), host=host, port=(ports or {}).get(name, 0))
            for name, state in self.states.items()
        }
        if scheme != "http":
            for server in self.servers.values():
                server.app.middlewares.insert(0, served_over(scheme))

    def url(self, name: str) -> str:
        """The base URL of one sandbox, e.g. http://127.0.0.1:41234."""
        return self.servers[name].url

    def allowed_endpoints(self) -> list[str]:
        """Prefixes for the operator's ``--allowed-endpoint`` that cover all three sandboxes."""
        return [server.url for server in self.servers.values()]

    async def start(self) -> None:
        """Serve in the running loop."""
        for server in self.servers.values():
            await server.start()

    async def stop(self) -> None:
        """Stop serving."""
        for server in self.servers.values():
            await server.stop()

    def start_in_thread(self) -> Sandboxes:
        """Serve from background threads (for sync tests, the demo and benchmarks)."""
        for server in self.servers.values():
            server.start_in_thread()
        return self

    def stop_thread(self) -> None:
        """Stop servers started with ``start_in_thread``."""
        for server in self.servers.values():
            server.stop_thread()

    def read(self, name: str, fn: Callable[[Any], Any]) -> Any:
        """Evaluate ``fn(state)`` on the sandbox's own loop thread and return the result."""
        state = self.states[name]
        return self.servers[name].call(lambda: fn(state))

    def rollbacks(self, name: str) -> dict[str, int]:
        """How many rollbacks each target of one sandbox received."""
        return dict(self.read(name, lambda state: dict(state.rollbacks)))


def _banner(sandboxes: Sandboxes) -> str:
    lines = ["Provider sandboxes are running:"]
    for name in KINDS:
        lines.append(f"  {name:7} {sandboxes.url(name)}")
    flags = " ".join(f"--allowed-endpoint {url}" for url in sandboxes.allowed_endpoints())
    lines += [
        "",
        "Run the operator with:",
        f"  rollback-operator run {flags}",
        "",
        "Seeded data and sample credentials (GET <url>/_sandbox/state for the live state):",
    ]
    for name, kind in KINDS.items():
        seed = kind.demo_seed()
        lines.append(f"  {name}: " + json.dumps(seed, default=str)[:600])
    return "\n".join(lines)


def serve(*, host: str, ports: Mapping[str, int], scheme: str = "http") -> int:
    """Run the three sandboxes in the foreground until SIGINT/SIGTERM."""

    async def main() -> None:
        sandboxes = Sandboxes(host=host, ports=ports, scheme=scheme)
        await sandboxes.start()
        print(_banner(sandboxes), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await sandboxes.stop()

    asyncio.run(main())
    return 0

"""Readiness: whether every resource type the operator works with is served, at ``/readyz``.

Liveness (kopf's ``/healthz``) says the process works; readiness says it can do its job. A deleted
CRD (an uninstall half done, a careless ``kubectl delete crd``) makes the operator not ready
(503, naming the missing types) without stopping it: kopf's CRD scanning stops the watch of a
deleted type and restarts it when the CRD returns, every Kubernetes call about a type that is not
served is retried as ``KubernetesUnavailable`` (``kube.py``), and ``on_back`` lets the runtime
forget what it knew of requests that went away with their CRD. Started by ``handlers.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from rollback_operator.approval import APPROVAL_PLURAL
from rollback_operator.errors import RollbackError
from rollback_operator.models import PLURAL
from rollback_operator.record import RECORD_PLURAL

log = logging.getLogger(__name__)
WANTED = frozenset({PLURAL, RECORD_PLURAL, APPROVAL_PLURAL})
"""The resource types (plurals of rollback.dev/v1alpha1) the operator needs served."""


class Discovery(Protocol):
    def served(self) -> Awaitable[set[str]]:
        """The plurals rollback.dev/v1alpha1 serves now."""
        ...


class Readiness:
    """Checks discovery every ``interval`` seconds; calls ``on_back`` when the requests' type returns."""

    def __init__(
        self, discovery: Discovery, *, interval: float, on_back: Callable[[], Awaitable[None]]
    ) -> None:
        self.discovery, self.interval, self.on_back = discovery, interval, on_back
        self.missing: set[str] = set()
        self.problem: str | None = "not checked yet"

    @property
    def ready(self) -> bool:
        return self.problem is None and not self.missing

    async def check(self) -> None:
        """Look once; log and act on every change."""
        try:
            served = await self.discovery.served()
        except RollbackError as exc:
            self.problem = exc.message
            return
        missing = set(WANTED - served)
        if missing != self.missing:
            if missing:
                log.warning(
                    "not ready: %s not served (CRD deleted?); waiting for it", ", ".join(sorted(missing))
                )
            else:
                log.info("ready again: every rollback.dev resource type is served")
        if PLURAL in self.missing and PLURAL not in missing:
            await self.on_back()
        self.missing, self.problem = missing, None

    async def keep_checking(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval)

    async def respond(self, request: web.Request) -> web.Response:
        if self.ready:
            return web.json_response({"ready": True})
        body = {"ready": False, "missing": sorted(self.missing), "problem": self.problem}
        return web.json_response(body, status=503)

    async def serve(self, host: str, port: int) -> web.AppRunner:
        """Serve ``/readyz`` until the returned runner is cleaned up."""
        app = web.Application()
        app.add_routes([web.get("/readyz", self.respond)])
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        return runner

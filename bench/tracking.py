"""Watching a namespace from the driver: when did each RollbackRequest finish, and how.

``Tracker`` follows one namespace in a background task and records, for each request, the
wall-clock time its watch event first showed it finished (``Ready=True`` or a terminal phase) and
its phase then. Phases wait on it instead of polling. Used by ``bench.phases``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from bench.kubeapi import Kube

TERMINAL = frozenset({"Succeeded", "Failed", "Unknown"})


def finished(obj: dict[str, Any]) -> str | None:
    """The phase of a finished request (Ready=True counts as Succeeded), else None."""
    status = obj.get("status") or {}
    phase = status.get("phase")
    if phase in TERMINAL:
        return str(phase)
    ready: dict[str, Any] = next((c for c in status.get("conditions", []) if c.get("type") == "Ready"), {})
    return "Succeeded" if ready.get("status") == "True" else None


@dataclass
class Tracker:
    """Finish times and phases of one namespace's requests, fed by a watch."""

    kube: Kube
    namespace: str
    only: str | None = None
    """Follow just this request (cheap in a namespace with many others)."""
    done: dict[str, tuple[float, str]] = field(default_factory=dict)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Tracker:
        self._task = asyncio.create_task(self._follow())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _follow(self) -> None:
        async for kind, obj in self.kube.follow(self.namespace, only=self.only):
            name = obj["metadata"]["name"]
            phase = finished(obj)
            if kind != "DELETED" and phase and name not in self.done:
                self.done[name] = (time.time(), phase)
                async with self._changed:
                    self._changed.notify_all()

    async def wait(self, names: set[str] | list[str], *, within: float) -> dict[str, tuple[float, str]]:
        """Until every one of ``names`` finished; ``TimeoutError`` naming how many did not."""
        wanted = set(names)

        async def all_done() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: wanted <= self.done.keys())

        try:
            await asyncio.wait_for(all_done(), within)
        except TimeoutError:
            missing = len(wanted - self.done.keys())
            raise TimeoutError(f"{missing} of {len(wanted)} requests not finished in {within}s") from None
        return {name: self.done[name] for name in wanted}

"""Following one RollbackRequest until it ends: a line per change, then the exit code of its outcome.

Reads the object's changes from ``Cluster.watch`` (a reconnecting watch, never a polling loop) and
prints a progress line whenever the phase, the message or the operation's state changes. Ctrl-C
stops the watching only: nothing is deleted or changed, and the request carries on in the
cluster. Used by ``cli.py`` for ``--wait`` and ``status -w``.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TextIO

from rollback_operator.plugin.errors import EXIT_FAILED, EXIT_OK, PluginError
from rollback_operator.plugin.show import is_terminal, phase_of, progress_key, progress_line
from rollback_operator.status_models import Phase

if TYPE_CHECKING:  # cluster.py imports kubernetes_asyncio, which cli.py loads only when needed
    from rollback_operator.plugin.cluster import Cluster

WATCH_SECONDS = 60
"""How long one watch request lasts before the server ends it and the plugin re-opens it."""


def outcome(obj: dict[str, Any]) -> int:
    """The exit code for a finished request: 0 when it succeeded, 1 when it failed or is unknown."""
    return EXIT_OK if phase_of(obj) == Phase.SUCCEEDED else EXIT_FAILED


async def follow(
    cluster: Cluster, obj: dict[str, Any], *, out: TextIO | None = None, watch_seconds: int = WATCH_SECONDS
) -> int:
    """Print progress (to ``out``, default stdout) from ``obj`` on until the request is finished.

    Returns the exit code of the outcome.
    """
    name = obj["metadata"]["name"]
    changes = cluster.watch(name, resource_version=obj["metadata"]["resourceVersion"], seconds=watch_seconds)
    shown: tuple[str, ...] | None = None
    try:
        async with aclosing(changes):
            while True:
                if progress_key(obj) != shown:
                    shown = progress_key(obj)
                    print(progress_line(obj), file=out or sys.stdout, flush=True)
                if is_terminal(obj):
                    return outcome(obj)
                latest = await anext(changes)
                if latest is None:
                    raise PluginError(f"{name} was deleted while being watched")
                obj = latest
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels us, then raises KeyboardInterrupt
        hint = f"kubectl rollback status {name} -n {cluster.namespace} -w"
        print(
            f"stopped watching; {name} carries on in the cluster (follow it again: {hint})", file=sys.stderr
        )
        raise

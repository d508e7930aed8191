"""The kopf edge: startup settings, one index, one event handler, cleanup. The only kopf importer.

Why no create/resume handlers: kopf records a handler's success only after it returns (at-least-once)
and stores its own state in the object, costing writes and, for daemons and timers, a finalizer.
Here kopf only watches: ``rollback_queue`` indexes unfinished requests by provider target (kopf
fills every index from the initial listing before any other handler runs, so the queue order holds
across restarts), and ``on_event`` hands every unfinished request to the supervisor, which runs
``Reconciler.run`` once per request. Finished requests cost nothing: no task, no write, no call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import kopf

from rollback_operator.config import Settings
from rollback_operator.kube import KubeAPI
from rollback_operator.models import GROUP, PLURAL, TERMINAL_PHASES, VERSION
from rollback_operator.providers import Registry
from rollback_operator.reconciler import Reconciler
from rollback_operator.scheduling import Index, Supervisor, TargetGate, queue_entry

COMPONENT = "rollback-operator"


@dataclass
class Runtime:
    """The long-lived collaborators, built at startup and kept in kopf's memo."""

    kube: KubeAPI
    registry: Registry
    gate: TargetGate
    supervisor: Supervisor
    reconciler: Reconciler

    def observe(self, event_type: str | None, body: dict[str, Any], index: Index) -> None:
        """React to one watch event: wake waiters on its target, start or stop its task."""
        self.gate.index = index
        key = self.reconciler.target_key(body)
        if key is not None:
            self.gate.notify(key)
        meta = body["metadata"]
        if event_type == "DELETED":
            self.supervisor.cancel(meta["uid"])
        elif (body.get("status") or {}).get("phase") not in TERMINAL_PHASES:
            self.supervisor.ensure(meta["uid"], meta["namespace"], meta["name"])


def _tune(settings: kopf.OperatorSettings) -> None:
    """kopf settings chosen on purpose (see the module docstring of ``cli.py`` for the flags)."""
    settings.peering.standalone = True  # correctness comes from the status claim, not from peering
    settings.persistence.finalizer = f"{GROUP}/finalizer"  # own names, never used: no change handlers
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    settings.posting.level = logging.WARNING
    settings.scanning.disabled = True  # no CRD/namespace scanning: fewer RBAC rights needed
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 60
    settings.networking.connect_timeout = 10


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod, the ServiceAccount; elsewhere the current kubeconfig (deterministic, client-free)."""
    info: kopf.ConnectionInfo | None = kopf.login_with_service_account(
        **kwargs
    ) or kopf.login_with_kubeconfig(**kwargs)
    return info


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Tune kopf and build the runtime from the CLI's ``Settings`` (in ``memo.settings``)."""
    _tune(settings)
    config: Settings = memo.settings
    kube = await KubeAPI.connect(component=COMPONENT, instance=config.identity)
    registry = Registry.build()
    gate = TargetGate(recheck=config.timing.queue_recheck)
    runtime: Runtime | None = None

    async def run(namespace: str, name: str) -> None:
        assert runtime is not None
        await runtime.reconciler.run(namespace, name)

    supervisor = Supervisor(run, retry_delay=config.timing.retry_max)
    reconciler = Reconciler(
        kube=kube, registry=registry, settings=config, gate=gate, shield=supervisor.shielded
    )
    runtime = Runtime(kube, registry, gate, supervisor, reconciler)
    memo.runtime = runtime


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    """Let triggers in flight record their handles, then close the clients."""
    runtime: Runtime = memo.runtime
    await runtime.supervisor.shutdown(grace=memo.settings.timing.claim_grace / 2)
    await runtime.registry.aclose()
    await runtime.kube.close()


@kopf.index(GROUP, VERSION, PLURAL)
def rollback_queue(body: kopf.Body, memo: kopf.Memo, **_: Any) -> Any:
    """Unfinished requests by provider target, for the per-target queue.

    Returns ``{}`` (not None) for finished requests: kopf keeps an object's previous index value
    when the function returns None, and replaces it only with a mapping.
    """
    raw = dict(body)
    if (raw.get("status") or {}).get("phase") in TERMINAL_PHASES:
        return {}
    return queue_entry(raw, memo.runtime.reconciler.target_key(raw)) or {}


@kopf.on.event(GROUP, VERSION, PLURAL)
async def on_event(*, event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """Every watch event of every RollbackRequest (kopf passes the index as ``rollback_queue``)."""
    memo.runtime.observe(event.get("type"), dict(body), kwargs["rollback_queue"])

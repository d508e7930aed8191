"""The kopf edge: login, startup settings, one event handler, cleanup. The only kopf importer.

Why no create/resume handlers: kopf records a handler's success only after it returns (at-least-once)
and stores its own state in the object, costing writes and, for daemons and timers, a finalizer.
Here kopf only watches, and only unfinished requests: a server-side field selector on the
selectable ``.status.phase`` keeps finished ones out of the watch, so at any scale they cost no
memory, no CPU, no write and no provider call, and a request that finishes leaves the watch as a
DELETED event carrying its terminal state. ``on_event`` keeps the per-target queue current and hands
every unfinished request to the supervisor, which runs ``Reconciler.run`` once per request.

Why no ``@kopf.index``: kopf holds every object's handlers until all indexes are populated, and each
indexed object wakes every waiting one, which is quadratic in the number of objects. The queue is
instead primed from one listing at startup, before kopf's watch begins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import kopf
from kopf._core.reactor import observation

from rollback_operator.apiserver import Endpoint
from rollback_operator.approval import APPROVAL_PLURAL
from rollback_operator.config import Settings
from rollback_operator.errors import Gone, KubernetesUnavailable
from rollback_operator.kube import KubeAPI
from rollback_operator.models import GROUP, PLURAL, VERSION
from rollback_operator.providers import Registry
from rollback_operator.readiness import Readiness
from rollback_operator.reconcile import Reconciler
from rollback_operator.recordnames import RecordNames
from rollback_operator.retention import keep
from rollback_operator.scheduling import QueueIndex, Supervisor, TargetGate
from rollback_operator.status_models import TERMINAL_PHASES, UNFINISHED_SELECTOR

COMPONENT = "rollback-operator"


@dataclass
class Runtime:
    """The long-lived collaborators, built at startup and kept in kopf's memo."""

    kube: KubeAPI
    registry: Registry
    queue: QueueIndex
    gate: TargetGate
    supervisor: Supervisor
    reconciler: Reconciler
    namespaces: Sequence[str] = ()
    """The namespaces watched (none: all)."""

    def observe(self, event_type: str | None, body: dict[str, Any]) -> None:
        """React to one watch event: update the queue, wake its waiters, start or stop its task."""
        meta = body["metadata"]
        key = self.reconciler.target_key(body)
        if event_type == "DELETED":  # deleted, or finished and so out of the watch's field selector
            self.queue.discard(meta["uid"])
            self.reconciler.forget(meta["uid"])
            self.supervisor.cancel_if_gone(meta["uid"], lambda: self._gone(meta["namespace"], meta["name"]))
        else:
            self.queue.update(body, key)
            if (body.get("status") or {}).get("phase") not in TERMINAL_PHASES:
                self.supervisor.ensure(meta["uid"], meta["namespace"], meta["name"], body)
        if key is not None:
            self.gate.notify(key)

    async def _gone(self, namespace: str, name: str) -> bool:
        """True when the request no longer exists (a finished one is still there: keep its task)."""
        try:
            await self.kube.get(namespace, name)
        except Gone:
            return True
        except KubernetesUnavailable:
            return False
        return False

    async def reprime(self) -> None:
        """The requests' CRD is back: what the queue held went with the old one; list afresh."""
        self.queue.clear()
        await self.prime(self.namespaces)

    async def prime(self, namespaces: Sequence[str]) -> None:
        """Load every unfinished request into the queue before the watch delivers any of them."""
        # Retried like every Kubernetes call: e.g. 429 "storage is (re)initializing" after a CRD update.
        listed = await self.reconciler.calls.kube_retrying(lambda: self.kube.list_unfinished(namespaces))
        for body in listed:
            self.queue.update(body, self.reconciler.target_key(body))


class NoProgress(kopf.ProgressStorage):
    """A progress storage that keeps nothing: no handler here has progress to keep, and the
    annotation storage still inspects every event's body."""

    def fetch(self, *, key: Any, body: kopf.Body) -> None:
        return None

    def store(self, *, key: Any, record: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        return None

    def purge(self, *, key: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        return None

    def touch(self, *, body: kopf.Body, patch: kopf.Patch, value: str | None) -> None:
        return None

    def clear(self, *, essence: kopf.BodyEssence) -> kopf.BodyEssence:
        return essence


class NoDiffBase(kopf.DiffBaseStorage):
    """A diff-base storage that keeps nothing: without change handlers nothing reads a diff-base,
    and building one deep-copies every event's body (measured at ~4% of the CPU per rollback)."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def _tune(settings: kopf.OperatorSettings) -> None:
    """kopf settings chosen on purpose."""
    settings.peering.standalone = True  # correctness comes from the status claim, not from peering
    settings.persistence.finalizer = f"{GROUP}/finalizer"  # own names, never used: no change handlers
    settings.persistence.progress_storage = NoProgress()
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.watching.field_selectors[GROUP, PLURAL] = UNFINISHED_SELECTOR
    # Every Event comes from the operator's own writer (escaped, redacted, one per transition); kopf's
    # poster would send log lines as Events unescaped, if a default changed or a handler logged.
    settings.posting.enabled = False
    settings.scanning.disabled = (
        False  # watch CRDs: a deleted CRD stops its watch, a restored one restarts it
    )
    # When a CRD is deleted, the API server ends the type's watch and kopf's CRD watch reports the
    # deletion, in either order. kopf reconnects an ended watch after this pause; reconnecting before
    # it has seen the deletion gets 404, which kopf treats as fatal (the whole operator exits). With
    # kopf's 0.1 s, 4 of 8 runs of tests/operator/test_crd_churn.py lost that race; with 1 s, 0 of 5.
    # The cost: an ordinary reconnect (every server_timeout) waits a second.
    settings.watching.reconnect_backoff = 1.0
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 60
    settings.networking.connect_timeout = 10


def credentials(settings: kopf.OperatorSettings) -> kopf.ConnectionInfo | None:
    """In a pod, the ServiceAccount; elsewhere the current kubeconfig (deterministic, client-free)."""
    found: kopf.ConnectionInfo | None = kopf.login_with_service_account(
        settings=settings
    ) or kopf.login_with_kubeconfig(settings=settings)
    return found


@kopf.on.login()
def login(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo | None:
    """kopf's watches and the operator's own calls (``endpoint``) log in the same way."""
    return credentials(settings)


def endpoint(settings: kopf.OperatorSettings) -> Endpoint:
    """Where the operator's own calls go, with which credentials (read afresh after a 401)."""
    info = credentials(settings)
    if info is None:
        raise kopf.PermanentError("no credentials: neither a ServiceAccount token nor a kubeconfig")
    return Endpoint(
        server=info.server.rstrip("/"),
        ssl=info.as_ssl_context(),
        headers=info.as_http_headers(),
        proxy=info.proxy_url,
    )


async def rescan(settings: kopf.OperatorSettings, insights: Any) -> None:
    """Make kopf look at the rollback.dev group again, as it does on every CRD event.

    kopf re-scans a group's resources only when a CRD of the group changes. The last event of a
    re-created CRD can come before the API server's discovery serves the type, and then kopf never
    watches it again (new requests would go unnoticed until a restart). Readiness sees the type
    served again and calls this. Uses kopf's own observation step (kopf 1.45 internals).
    """
    if insights is None:
        return
    event = cast(kopf.RawEvent, {"type": "MODIFIED", "object": {"spec": {"group": GROUP}}})
    await observation.process_discovered_resource_event(
        raw_event=event, settings=settings, registry=kopf.get_default_registry(), insights=insights
    )


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Tune kopf, build the runtime from the CLI's ``Settings`` and prime the queue."""
    _tune(settings)
    config: Settings = memo.settings
    kube = KubeAPI.connect(lambda: endpoint(settings), component=COMPONENT, instance=config.identity)
    registry = Registry.build(settings=config)
    queue = QueueIndex()
    gate = TargetGate(index=queue, recheck=config.timing.queue_recheck)
    runtime: Runtime | None = None

    async def run(namespace: str, name: str, body: dict[str, Any] | None) -> None:
        assert runtime is not None
        await runtime.reconciler.run(namespace, name, body)

    supervisor = Supervisor(run, retry_delay=config.timing.retry_max)
    names = RecordNames(kube, retry_max=config.timing.retry_max)
    reconciler = Reconciler(
        kube=kube, registry=registry, settings=config, gate=gate, shield=supervisor.shielded, names=names
    )
    runtime = Runtime(kube, registry, queue, gate, supervisor, reconciler, list(memo.namespaces))
    await runtime.prime(memo.namespaces)
    memo.runtime = runtime
    memo.record_names = asyncio.create_task(names.keep(), name="record names")
    memo.retention = asyncio.create_task(
        keep(kube, retention=config.record_retention, clock=reconciler.clock), name="record retention"
    )

    async def back() -> None:
        await rescan(settings, memo.insights)
        await runtime.reprime()

    memo.readiness = Readiness(kube, interval=config.timing.queue_recheck, on_back=back)
    await memo.readiness.check()
    memo.checking = asyncio.create_task(memo.readiness.keep_checking(), name="readiness")
    memo.ready_server = (
        await memo.readiness.serve(config.ready_address, config.ready_port) if config.ready_port else None
    )


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    """Let triggers in flight record their handles, then close the clients."""
    runtime: Runtime = memo.runtime
    memo.retention.cancel()
    memo.record_names.cancel()
    memo.checking.cancel()
    if memo.ready_server is not None:
        await memo.ready_server.cleanup()
    await runtime.supervisor.shutdown(grace=memo.settings.timing.claim_grace / 2)
    await runtime.registry.aclose()
    await runtime.kube.close()


@kopf.on.event(GROUP, VERSION, PLURAL)
async def on_event(*, event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Every watch event of every unfinished RollbackRequest (and its last, as it finishes)."""
    memo.runtime.observe(event.get("type"), dict(body))


@kopf.on.event(GROUP, VERSION, APPROVAL_PLURAL)
async def on_approval(*, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """A RollbackApproval appeared or changed: wake the request waiting for it."""
    request = (body.get("spec") or {}).get("requestName")
    if isinstance(request, str):
        memo.runtime.reconciler.approvals.notify(body["metadata"]["namespace"], request)

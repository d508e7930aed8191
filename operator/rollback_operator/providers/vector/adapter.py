"""The Vector Pro (BuiltFast) adapter: roll an environment back to an earlier successful deployment.

Built once by the provider registry and called by the reconciler. It speaks the flat routes of the
Vector Pro API under ``{apiURL}/api/v1/vector/`` with a Bearer token:

- resolve: ``GET environments/{env}/deployments`` (newest first, paged with an explicit
  ``per_page``). The live version is the newest successful deployment (``deployed`` or
  ``completed``); the candidates are the older successful ones. The watermark is the newest
  deployment of any status.
- trigger: ``POST environments/{env}/rollback`` with an explicit ``target_deployment_id``. Vector
  records the rollback as a new deployment, whose id is the handle. Vector has no idempotency key,
  so the call is never re-sent once it may have arrived.
- recover: a deployment newer than the watermark means the rollback arrived; it is adopted.
- poll: ``GET deployments/{id}``.

Routes, the token check, the auth header, the answer models and the error text live in
``wire.py``; paging goes through ``wire.collect_pages``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from rollback_operator.errors import (
    MalformedResponse,
    OutcomeUnknown,
    ProviderRejected,
    TargetNotFound,
)
from rollback_operator.models import ProviderName, Target, VectorProvider
from rollback_operator.providers.base import (
    Credentials,
    Handle,
    HTTPAdapter,
    Progress,
    Recovery,
    RecoveryState,
    Resolution,
)
from rollback_operator.providers.http import endpoint_key
from rollback_operator.providers.selection import choose
from rollback_operator.providers.vector.wire import (
    API_PREFIX,
    FAILURE,
    IN_PROGRESS,
    SUCCESS,
    Deployment,
    Page,
    bearer,
    describe,
    read_deployment,
    read_page,
    token_credentials,
    url,
)
from rollback_operator.providers.wire import Collected, collect_pages
from rollback_operator.status_models import OperationState

if TYPE_CHECKING:
    from rollback_operator.providers.base import Provider

__all__ = ["API_PREFIX", "FAILURE", "IN_PROGRESS", "SUCCESS", "VectorAdapter", "describe"]

log = logging.getLogger(__name__)


def _enough(target: Target) -> Callable[[list[Deployment]], bool]:
    """When paging may stop: the wanted version or enough successful deployments were found."""
    if target.version is not None:
        wanted = target.version
        return lambda found: any(deployment.id == wanted for deployment in found if deployment.successful)
    needed = (target.steps_back or 1) + 1  # the live deployment plus N earlier ones
    return lambda found: sum(deployment.successful for deployment in found) >= needed


def _progress(deployment: Deployment) -> Progress:
    """What the rollback deployment's status means; an unknown status keeps waiting."""
    label = deployment.status_label or deployment.status
    if deployment.status in SUCCESS:
        return Progress(OperationState.SUCCEEDED, label)
    if deployment.status in FAILURE:
        return Progress(OperationState.FAILED, deployment.failure_text())
    if deployment.status in IN_PROGRESS:
        return Progress(OperationState.RUNNING, label)
    log.warning("vector deployment %s has an unknown status %r", deployment.id, deployment.status)
    return Progress(
        OperationState.RUNNING,
        f"unknown Vector deployment status {deployment.status!r} ({label}); "
        "still waiting for deployed, completed or failed",
    )


class VectorAdapter(HTTPAdapter):
    """The Provider contract for Vector Pro environments (see the module docstring)."""

    name: ClassVar[ProviderName] = ProviderName.VECTOR
    default_page_size: ClassVar[int] = 50  # deployments per list request; Vector allows at most 100
    default_max_pages: ClassVar[int] = 20
    credential_keys: ClassVar[tuple[str, ...]] = ("token",)

    def target_key(self, spec: VectorProvider) -> str:
        """One rollback at a time per environment of one API."""
        return f"vector:{endpoint_key(spec.api_url)}/{spec.environment_id}"

    def endpoints(self, spec: VectorProvider) -> list[str]:
        """Only the API base URL; pagination links are never followed, so no other host is reached."""
        return [spec.api_url]

    def credentials(self, secret_data: Mapping[str, str]) -> Credentials:
        """The ``token`` key, stripped of the newline that ``echo`` tends to leave in Secrets."""
        return token_credentials(secret_data)

    async def resolve(self, spec: VectorProvider, creds: Credentials, target: Target) -> Resolution:
        """Page through the deployments until the live one and the wanted candidates are known."""
        history = await self._history(spec, creds, enough=_enough(target))
        scanned = len(history.entries)
        successes = [deployment for deployment in history.entries if deployment.successful]
        if not successes:
            raise TargetNotFound(
                f"vector: environment {spec.environment_id} has no successful (deployed or completed) "
                f"deployment among its {scanned} newest deployments, so there is nothing to roll back from"
            )
        live, *earlier = successes
        try:
            return choose(
                current=live.id,
                candidates=[deployment.version() for deployment in earlier],
                target=target,
                watermark=history.entries[0].id,  # the newest deployment of any status
            )
        except TargetNotFound as exc:
            if history.truncated:
                searched = f"searched only the newest {scanned} deployments"
                raise TargetNotFound(f"{exc.message} ({searched})") from exc
            raise

    async def trigger(
        self, spec: VectorProvider, creds: Credentials, resolution: Resolution, idempotency_key: str
    ) -> Handle:
        """Ask for exactly one rollback to ``resolution.target``; the new deployment is the handle.

        Vector takes no idempotency key, so ``idempotency_key`` is unused: the reconciler's claim
        and ``recover`` keep the call exactly-once.
        """
        response = await self._call(
            "POST",
            url(spec.api_url, "environments", spec.environment_id, "rollback"),
            creds,
            operation="rollback",
            idempotent=False,
            json_body={"target_deployment_id": resolution.target},
        )
        try:
            created = read_deployment(response, what="vector rollback")
        except MalformedResponse as exc:
            # Vector accepted the rollback (2xx) but the handle cannot be read: only recovery,
            # which finds the new deployment, may decide what happened; a retry would roll back twice.
            raise OutcomeUnknown(
                f"vector rollback: HTTP {response.status_code} accepted the rollback, but the answer "
                f"could not be read ({exc.message})"
            ) from exc
        where = created.environment_ref or spec.environment_id
        return Handle(
            created.id,
            message=f"rollback of {where} to {resolution.target} started as deployment {created.id} "
            f"({created.status_label or created.status})",
        )

    async def recover(
        self, spec: VectorProvider, creds: Credentials, resolution: Resolution, idempotency_key: str
    ) -> Recovery:
        """Did an unrecorded rollback reach Vector? Look for deployments newer than the watermark.

        A deployment newer than the watermark is adopted even though Vector cannot say who started
        it (responses do not echo the target). Adopting is the choice that keeps the promise: if
        it is ours, triggering again would roll back twice; if someone else deployed or rolled
        back since we resolved, our resolution is stale and rolling back over their change would
        be wrong too. The oldest newer deployment is taken because our request went out right
        after resolving, and Vector refuses a second rollback while one is in progress. The
        Handle's message names the adopted deployment so a human can check it.
        """
        if resolution.watermark is None:
            return self._cannot_tell(spec, resolution, "was not recorded")
        listing = await self._list(spec, creds, page=1)
        newer = await self._newer_than(spec, creds, listing.data, watermark=resolution.watermark)
        if newer is None:
            return self._cannot_tell(spec, resolution, "no longer exists")
        if not newer:
            return Recovery(
                RecoveryState.NOT_TRIGGERED,
                message=f"no deployment newer than {resolution.watermark}: the rollback never reached Vector",
            )
        adopted = newer[-1]
        message = (
            f"adopted deployment {adopted.id} ({adopted.label}), the oldest of {len(newer)} deployments "
            f"newer than {resolution.watermark}; Vector does not record which request started it"
        )
        return Recovery(RecoveryState.TRIGGERED, Handle(adopted.id, message=message), message)

    async def poll(self, spec: VectorProvider, creds: Credentials, handle: Handle) -> Progress:
        """Map the rollback deployment's status to Running, Succeeded or Failed."""
        return _progress(await self._deployment(spec, creds, handle.id))

    # ------------------------------------------------------------------------------------ helpers

    async def _history(
        self, spec: VectorProvider, creds: Credentials, *, enough: Callable[[list[Deployment]], bool]
    ) -> Collected[Deployment]:
        async def fetch(page: int) -> tuple[list[Deployment], bool]:
            listing = await self._list(spec, creds, page=page)
            return listing.data, listing.has_more(page=page, per_page=self.page_size)

        return await collect_pages(fetch, pages=range(1, self.max_pages + 1), enough=enough)

    async def _newer_than(
        self, spec: VectorProvider, creds: Credentials, newest: list[Deployment], *, watermark: str
    ) -> list[Deployment] | None:
        """The deployments of ``newest`` (newest first) created after the watermark; None if unknowable."""
        ids = [deployment.id for deployment in newest]
        if watermark in ids:
            return newest[: ids.index(watermark)]
        try:
            mark = await self._deployment(spec, creds, watermark)
        except ProviderRejected as exc:
            if exc.status_code == 404:
                return None
            raise
        if mark.created_at is None or any(d.created_at is None for d in newest):
            return None
        # The watermark is not on the first page, so everything there sorts before it; ">=" keeps
        # deployments made in the same second (timestamps have one-second resolution).
        return [d for d in newest if d.created_at is not None and d.created_at >= mark.created_at]

    @staticmethod
    def _cannot_tell(spec: VectorProvider, resolution: Resolution, why: str) -> Recovery:
        message = (
            f"the newest deployment seen before the trigger {why}, so it cannot be told whether the "
            f"rollback reached Vector; check the deployments of environment {spec.environment_id} for "
            f"a rollback to {resolution.target} started after the claim, and create a new "
            "RollbackRequest if there is none"
        )
        return Recovery(RecoveryState.UNKNOWN, message=message)

    async def _list(self, spec: VectorProvider, creds: Credentials, *, page: int) -> Page:
        where = url(spec.api_url, "environments", spec.environment_id, "deployments")
        params = {"page": page, "per_page": self.page_size}
        return read_page(await self._call("GET", where, creds, operation="list_deployments", params=params))

    async def _deployment(self, spec: VectorProvider, creds: Credentials, deployment_id: str) -> Deployment:
        where = url(spec.api_url, "deployments", deployment_id)
        response = await self._call("GET", where, creds, operation="get_deployment")
        return read_deployment(response, what="vector get_deployment")

    async def _call(
        self,
        method: str,
        where: str,
        creds: Credentials,
        *,
        operation: str,
        idempotent: bool = True,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
    ) -> httpx.Response:
        return await self.http.request(
            method,
            where,
            operation=operation,
            idempotent=idempotent,
            describe=describe,
            secrets=creds.secrets(),
            headers=bearer(creds),
            params=params,
            json_body=json_body,
        )


if TYPE_CHECKING:
    _conforms: type[Provider[VectorProvider]] = VectorAdapter

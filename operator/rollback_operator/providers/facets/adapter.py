"""The Facets.cloud adapter: roll a resource back to an earlier artifact version.

The provider registry builds one ``FacetsAdapter``; the reconciler calls it. Every call speaks
HTTP Basic (account e-mail + personal access token) to the customer's control plane:

1. ``GET  /cc-ui/v1/artifacts/cluster/{env}/resourceType/{type}/resourceName/{name}``: the
   current artifact; its ``versioningKey`` names the artifact's history.
2. ``GET  /cc-ui/v1/clusters/{env}/resourceType/{type}/resourceName/{name}/resource-history``:
   ``artifactVersion.liveVersionId`` is the live version.
3. ``GET  /cc-ui/v1/versions/{versioningKey}?page=N&perPage=M``: versions, newest first, paged
   until enough candidates are found (a short page is the last one).
4. ``POST /cc-ui/v1/versions/{versionId}/restore``: the rollback. Synchronous and not
   idempotent; the handle is the restored version id.

Decisions on what the documentation leaves open: the live version comes from the resource
history, so the listing may or may not contain it; when the history reports no live version,
the newest listed version is taken as live and the resolution line says so. A 2xx restore whose
body is not a JSON object (or empty) raises ``OutcomeUnknown``: ``recover`` then reads the live
version instead of trusting a body that a proxy may have produced.

Routes, HTTP Basic, the answer models and the error text live in ``wire.py``; paging goes
through ``wire.collect_pages``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import httpx

from rollback_operator.credentials import require_text
from rollback_operator.errors import CredentialsInvalid, CredentialsMissing, TargetNotFound
from rollback_operator.models import FacetsProvider, ProviderName, Target
from rollback_operator.providers.base import (
    Credentials,
    Handle,
    HTTPAdapter,
    Progress,
    Recovery,
    RecoveryState,
    Resolution,
    Version,
)
from rollback_operator.providers.facets.wire import (
    Artifact,
    artifact_url,
    basic,
    check_restore_answer,
    describe,
    history_url,
    read_artifact,
    read_live_version,
    read_versions,
    restore_url,
    versions_url,
)
from rollback_operator.providers.http import endpoint_key
from rollback_operator.providers.selection import choose
from rollback_operator.providers.wire import collect_pages
from rollback_operator.status_models import OperationState

__all__ = ["FacetsAdapter", "describe"]

log = logging.getLogger(__name__)


def _enough(target: Target, live: str | None) -> Callable[[Sequence[Version]], bool]:
    """When paging may stop: the target is seen, or enough candidates for ``stepsBack``."""
    if target.version is not None:
        wanted = target.version
        return lambda seen: any(v.id == wanted for v in seen)
    # Without a reported live version the newest listed one plays that part, so one more.
    needed = (target.steps_back or 1) + (live is None)
    return lambda seen: sum(v.id != live for v in seen) >= needed


def _newest_as_live(listed: Sequence[Version], target: Target) -> Resolution:
    """Resolve when the resource history names no live version: the newest listed plays it."""
    log.warning("facets resource history reports no live version; assuming the newest listed")
    resolution = choose(current=listed[0].id, candidates=listed[1:], target=target)
    note = "; live version assumed to be the newest listed (resource history reports none)"
    return dataclasses.replace(resolution, explanation=resolution.explanation + note)


# --------------------------------------------------------------------------------- adapter


class FacetsAdapter(HTTPAdapter):
    """The Provider implementation for ``spec.provider.facets``."""

    name: ClassVar[ProviderName] = ProviderName.FACETS
    default_page_size: ClassVar[int] = 25
    default_max_pages: ClassVar[int] = 20
    credential_keys: ClassVar[tuple[str, ...]] = ("username", "token")

    def target_key(self, spec: FacetsProvider) -> str:
        """One lock per control plane, environment, resource type and name."""
        host = endpoint_key(spec.control_plane_url)
        return f"facets:{host}/{spec.environment_id}/{spec.resource_type}/{spec.resource_name}"

    def endpoints(self, spec: FacetsProvider) -> list[str]:
        """Only the control plane itself."""
        return [spec.control_plane_url]

    def credentials(self, secret_data: Mapping[str, str]) -> Credentials:
        """The e-mail and personal token; an empty value counts as missing."""
        require_text(secret_data, self.credential_keys)
        missing = [key for key in self.credential_keys if not secret_data.get(key)]
        if missing:
            raise CredentialsMissing(f"the Secret lacks the key(s) {', '.join(missing)} for facets")
        if ":" in secret_data["username"]:
            raise CredentialsInvalid("the facets username (an e-mail) must not contain ':' (HTTP Basic)")
        return Credentials({key: secret_data[key] for key in self.credential_keys})

    async def resolve(self, spec: FacetsProvider, creds: Credentials, target: Target) -> Resolution:
        """Live version from the resource history, candidates from the artifact's versions."""
        artifact = await self._artifact(spec, creds)
        live = await self._live_version(spec, creds)
        if live is not None and target.version == live:
            return choose(current=live, candidates=(), target=target)
        listed = await self._versions(spec, creds, artifact.versioning_key, _enough(target, live))
        if live is not None:
            return choose(current=live, candidates=[v for v in listed if v.id != live], target=target)
        if not listed:
            raise TargetNotFound(f"the artifact history {artifact.versioning_key} lists no versions")
        return _newest_as_live(listed, target)

    async def trigger(
        self, spec: FacetsProvider, creds: Credentials, resolution: Resolution, idempotency_key: str
    ) -> Handle:
        """One restore request; Facets has no idempotency key, so it is never re-sent blindly."""
        url = restore_url(spec, resolution.target)
        response = await self._call("POST", url, creds, operation="restore", idempotent=False)
        check_restore_answer(response)
        return Handle(id=resolution.target, message=f"restored version {resolution.target}")

    async def poll(self, spec: FacetsProvider, creds: Credentials, handle: Handle) -> Progress:
        """The restore is synchronous: its 2xx was the success. The live version confirms it, or
        the message says what the resource history reports instead."""
        live = await self._live_version(spec, creds)
        if live is None:
            return Progress(
                OperationState.SUCCEEDED,
                f"restore of {handle.id} succeeded; the resource history does not report the live version",
            )
        if live == handle.id:
            return Progress(OperationState.SUCCEEDED, f"version {handle.id} is live")
        return Progress(
            OperationState.SUCCEEDED,
            f"restore of {handle.id} succeeded, but the resource history reports {live} as live "
            "(changed since, or applied only with the next release)",
        )

    async def recover(
        self, spec: FacetsProvider, creds: Credentials, resolution: Resolution, idempotency_key: str
    ) -> Recovery:
        """Whether a restore happened, judged by which version is live now."""
        live = await self._live_version(spec, creds)
        if live == resolution.target:
            return Recovery(
                RecoveryState.TRIGGERED, Handle(id=resolution.target, message="the target is live")
            )
        if live is not None and live == resolution.current:
            return Recovery(RecoveryState.NOT_TRIGGERED)
        return Recovery(
            RecoveryState.UNKNOWN,
            message=(
                f"the live version is {live or 'not reported'}; the request expected "
                f"{resolution.current} before and {resolution.target} after the restore. Check the "
                f"release history of {spec.resource_type}/{spec.resource_name} in the Facets UI."
            ),
        )

    # ------------------------------------------------------------------------------ reads

    async def _artifact(self, spec: FacetsProvider, creds: Credentials) -> Artifact:
        return read_artifact(await self._call("GET", artifact_url(spec), creds, operation="get_artifact"))

    async def _live_version(self, spec: FacetsProvider, creds: Credentials) -> str | None:
        response = await self._call("GET", history_url(spec), creds, operation="get_resource_history")
        return read_live_version(response)

    async def _versions(
        self,
        spec: FacetsProvider,
        creds: Credentials,
        key: str,
        enough: Callable[[Sequence[Version]], bool],
    ) -> list[Version]:
        """Versions newest first, page by page (from 0) until ``enough`` or a short page."""
        url = versions_url(spec, key)

        async def fetch(page: int) -> tuple[list[Version], bool]:
            params = {"page": page, "perPage": self.page_size}
            response = await self._call("GET", url, creds, operation="list_versions", params=params)
            batch = read_versions(response)
            return batch, len(batch) >= self.page_size

        collected = await collect_pages(fetch, pages=range(self.max_pages), enough=enough)
        return collected.entries

    async def _call(
        self,
        method: str,
        url: str,
        creds: Credentials,
        *,
        operation: str,
        idempotent: bool = True,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        auth = basic(creds)
        return await self.http.request(
            method,
            url,
            operation=operation,
            idempotent=idempotent,
            describe=describe,
            secrets=[*creds.secrets(), auth.removeprefix("Basic ")],
            headers={"Authorization": auth},
            params=params,
        )

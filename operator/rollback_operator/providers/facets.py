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
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from rollback_operator.errors import (
    CredentialsInvalid,
    CredentialsMissing,
    MalformedResponse,
    OutcomeUnknown,
    TargetNotFound,
)
from rollback_operator.models import FacetsProvider, OperationState, Target
from rollback_operator.providers.base import (
    Credentials,
    Handle,
    Progress,
    Recovery,
    RecoveryState,
    Resolution,
    Version,
)
from rollback_operator.providers.http import DEFAULT_TIMEOUT, ProviderHTTP, RetryPolicy, decode_json
from rollback_operator.providers.selection import choose

log = logging.getLogger(__name__)
T = TypeVar("T")


# ------------------------------------------------------------------------------ wire models


class _Wire(BaseModel):
    """Tolerant base: camelCase JSON, unknown fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class _Artifact(_Wire):
    versioning_key: str = Field(min_length=1)


class _Snapshot(_Wire):
    """The artifact as it was at one version (``entity`` of a version)."""

    tag: str | None = None
    artifact_uri: str | None = None
    build_id: str | None = None


class _Version(_Wire):
    id: str = Field(min_length=1)
    entity: _Snapshot | None = None
    archive_date: str | float | None = None
    """ISO 8601 per the spec; Jackson may send epoch milliseconds instead."""


class _HistoryMetadata(_Wire):
    live_version_id: str | None = None


class _ResourceHistory(_Wire):
    artifact_version: _HistoryMetadata | None = None


_ARTIFACT = TypeAdapter(_Artifact)
_VERSIONS = TypeAdapter(list[_Version])
_HISTORY = TypeAdapter(_ResourceHistory)


def _parse(adapter: TypeAdapter[T], response: httpx.Response, *, what: str, expected: str) -> T:
    """Validate a JSON body; a body that does not fit raises ``MalformedResponse``."""
    data = decode_json(response, what=what)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:3]
        )
        raise MalformedResponse(f"{what}: expected {expected} ({problems})") from exc


# --------------------------------------------------------------------------------- helpers


def describe(response: httpx.Response) -> str:
    """The provider's words from an error answer: ErrorDetails JSON, a plain string or text."""
    text = response.text.strip()
    if not text:
        return response.reason_phrase
    if "html" in response.headers.get("content-type", ""):
        title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        return f"an HTML page ({title.group(1).strip()[:120]})" if title else "an HTML page"
    try:
        body = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(body, str):
        return body[:300]
    return (_error_details(body) if isinstance(body, dict) else "") or text[:300]


def _error_details(body: Mapping[str, Any]) -> str:
    """``{"code", "message"}`` (ErrorDetails) or Spring's default ``{"error", ...}``."""
    message = body.get("message") or body.get("error")
    if not isinstance(message, str) or not message:
        return ""
    code = body.get("code")
    return f"{message} (code {code})" if code not in (None, "") else message


def _q(segment: str) -> str:
    """One path segment, percent-encoded (version keys and names are opaque)."""
    return quote(segment, safe="")


def _api(spec: FacetsProvider) -> str:
    return spec.control_plane_url.rstrip("/") + "/cc-ui/v1"


def _resource(spec: FacetsProvider) -> str:
    return f"resourceType/{_q(spec.resource_type)}/resourceName/{_q(spec.resource_name)}"


def _basic(creds: Credentials) -> str:
    pair = f"{creds.values['username']}:{creds.values['token']}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _to_version(item: _Version) -> Version:
    snapshot = item.entity or _Snapshot()
    name = snapshot.tag or snapshot.artifact_uri or snapshot.build_id or ""
    created = _timestamp(item.archive_date)
    archived = f"archived {created:%Y-%m-%d %H:%M}" if created else ""
    return Version(id=item.id, created_at=created, label=", ".join(p for p in (name, archived) if p))


def _timestamp(value: str | float | None) -> datetime | None:
    """An ISO timestamp or epoch milliseconds, else None: not worth failing a rollback for."""
    try:
        if isinstance(value, str):
            return datetime.fromisoformat(value)
        return datetime.fromtimestamp(value / 1000, UTC) if value else None
    except (ValueError, OverflowError, OSError):
        return None


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


def _check_restore_answer(response: httpx.Response) -> None:
    """A 2xx restore answers a JSON object or nothing; anything else may be a proxy's page."""
    if not response.content.strip():
        return
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise OutcomeUnknown(
            f"facets restore: HTTP {response.status_code} with a body that is not a JSON object; "
            "the restore may or may not have happened"
        )


# --------------------------------------------------------------------------------- adapter


class FacetsAdapter:
    """The Provider implementation for ``spec.provider.facets``."""

    name: ClassVar[str] = "facets"
    credential_keys: ClassVar[tuple[str, ...]] = ("username", "token")

    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        page_size: int = 25,
        max_pages: int = 20,
    ) -> None:
        self._http = ProviderHTTP(provider=self.name, transport=transport, timeout=timeout, retry=retry)
        self._page_size = page_size
        self._max_pages = max_pages

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    def target_key(self, spec: FacetsProvider) -> str:
        """One lock per control plane, environment, resource type and name."""
        host = urlsplit(spec.control_plane_url).netloc.rpartition("@")[2].lower()
        return f"facets:{host}/{spec.environment_id}/{spec.resource_type}/{spec.resource_name}"

    def endpoints(self, spec: FacetsProvider) -> list[str]:
        """Only the control plane itself."""
        return [spec.control_plane_url]

    def credentials(self, secret_data: Mapping[str, str]) -> Credentials:
        """The e-mail and personal token; an empty value counts as missing."""
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
        url = f"{_api(spec)}/versions/{_q(resolution.target)}/restore"
        response = await self._call("POST", url, creds, operation="restore", idempotent=False)
        _check_restore_answer(response)
        return Handle(id=resolution.target, message=f"restored version {resolution.target}")

    async def poll(self, spec: FacetsProvider, creds: Credentials, handle: Handle) -> Progress:
        """The restore is synchronous; confirm that the restored version is the live one."""
        live = await self._live_version(spec, creds)
        if live is None:
            return Progress(
                OperationState.SUCCEEDED,
                f"restore of {handle.id} succeeded; the resource history does not report the live version",
            )
        if live == handle.id:
            return Progress(OperationState.SUCCEEDED, f"version {handle.id} is live")
        return Progress(
            OperationState.FAILED,
            f"the live version is {live}, not the restored {handle.id} (someone else may have changed it)",
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

    async def _artifact(self, spec: FacetsProvider, creds: Credentials) -> _Artifact:
        url = f"{_api(spec)}/artifacts/cluster/{_q(spec.environment_id)}/{_resource(spec)}"
        response = await self._call("GET", url, creds, operation="get_artifact")
        return _parse(_ARTIFACT, response, what="facets artifact", expected="an Artifact with versioningKey")

    async def _live_version(self, spec: FacetsProvider, creds: Credentials) -> str | None:
        url = f"{_api(spec)}/clusters/{_q(spec.environment_id)}/{_resource(spec)}/resource-history"
        response = await self._call("GET", url, creds, operation="get_resource_history")
        history = _parse(_HISTORY, response, what="facets resource history", expected="a ResourceHistory")
        metadata = history.artifact_version
        return metadata.live_version_id if metadata and metadata.live_version_id else None

    async def _versions(
        self,
        spec: FacetsProvider,
        creds: Credentials,
        key: str,
        enough: Callable[[Sequence[Version]], bool],
    ) -> list[Version]:
        """Versions newest first, page by page until ``enough`` or a short page."""
        url = f"{_api(spec)}/versions/{_q(key)}"
        seen: dict[str, Version] = {}  # a version registered meanwhile shifts pages: dedupe
        for page in range(self._max_pages):
            params = {"page": page, "perPage": self._page_size}
            response = await self._call("GET", url, creds, operation="list_versions", params=params)
            batch = _parse(_VERSIONS, response, what="facets versions", expected="a list of versions")
            for item in batch:
                seen.setdefault(item.id, _to_version(item))
            if len(batch) < self._page_size or enough(list(seen.values())):
                break
        return list(seen.values())

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
        auth = _basic(creds)
        return await self._http.request(
            method,
            url,
            operation=operation,
            idempotent=idempotent,
            describe=describe,
            secrets=[*creds.secrets(), auth.removeprefix("Basic ")],
            headers={"Authorization": auth},
            params=params,
        )

"""The Facets.cloud wire format: routes, HTTP Basic, tolerant models of the JSON, error text.

Used by the Facets adapter (``adapter.py``); the package re-exports ``describe``. The models read
camelCase and ignore unknown fields; a body that does not fit raises ``MalformedResponse`` saying
what was expected. Version timestamps may be ISO 8601 (the spec) or epoch milliseconds (Jackson's
default); one that is neither is dropped rather than failing a rollback. A 2xx restore whose body
is neither empty nor a JSON object raises ``OutcomeUnknown``, since a proxy may have produced it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

from rollback_operator.errors import OutcomeUnknown
from rollback_operator.models import FacetsProvider
from rollback_operator.providers.base import Credentials, Version
from rollback_operator.providers.http import decode_json
from rollback_operator.providers.wire import parse

T = TypeVar("T")


# ------------------------------------------------------------------------------------ routes


def _q(segment: str) -> str:
    """One path segment, percent-encoded (version keys and names are opaque)."""
    return quote(segment, safe="")


def _api(spec: FacetsProvider) -> str:
    return spec.control_plane_url.rstrip("/") + "/cc-ui/v1"


def _resource(spec: FacetsProvider) -> str:
    return f"resourceType/{_q(spec.resource_type)}/resourceName/{_q(spec.resource_name)}"


def artifact_url(spec: FacetsProvider) -> str:
    """The resource's current artifact."""
    return f"{_api(spec)}/artifacts/cluster/{_q(spec.environment_id)}/{_resource(spec)}"


def history_url(spec: FacetsProvider) -> str:
    """The resource history, which names the live version."""
    return f"{_api(spec)}/clusters/{_q(spec.environment_id)}/{_resource(spec)}/resource-history"


def versions_url(spec: FacetsProvider, versioning_key: str) -> str:
    """The artifact's versions, newest first (paged)."""
    return f"{_api(spec)}/versions/{_q(versioning_key)}"


def restore_url(spec: FacetsProvider, version_id: str) -> str:
    """The restore (rollback) of one version."""
    return f"{_api(spec)}/versions/{_q(version_id)}/restore"


def basic(creds: Credentials) -> str:
    """The HTTP Basic Authorization value for the e-mail and personal token."""
    pair = f"{creds.values['username']}:{creds.values['token']}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


# ------------------------------------------------------------------------------- wire models


class _Wire(BaseModel):
    """Tolerant base: camelCase JSON, unknown fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Artifact(_Wire):
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


_ARTIFACT = TypeAdapter(Artifact)
_VERSIONS = TypeAdapter(list[_Version])
_HISTORY = TypeAdapter(_ResourceHistory)


# ----------------------------------------------------------------------------------- reading


def _parse(adapter: TypeAdapter[T], response: httpx.Response, *, what: str, expected: str) -> T:
    """Validate a JSON body; a body that does not fit raises ``MalformedResponse``."""
    return parse(adapter, decode_json(response, what=what), what=what, expected=expected)


def read_artifact(response: httpx.Response) -> Artifact:
    """The current artifact, which must carry its ``versioningKey``."""
    return _parse(_ARTIFACT, response, what="facets artifact", expected="an Artifact with versioningKey")


def read_live_version(response: httpx.Response) -> str | None:
    """The resource history's ``artifactVersion.liveVersionId``, if it reports one."""
    history = _parse(_HISTORY, response, what="facets resource history", expected="a ResourceHistory")
    metadata = history.artifact_version
    return metadata.live_version_id if metadata and metadata.live_version_id else None


def read_versions(response: httpx.Response) -> list[Version]:
    """One page of the artifact's versions, newest first."""
    batch = _parse(_VERSIONS, response, what="facets versions", expected="a list of versions")
    return [_to_version(item) for item in batch]


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


def check_restore_answer(response: httpx.Response) -> None:
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

"""The Vector Pro wire format: routes, the token and its header, tolerant models of the JSON, error text.

Used by the Vector adapter (``adapter.py``); the package re-exports ``describe``, ``API_PREFIX``
and the status sets. Shapes follow the published OpenAPI spec; the prose docs' variants
(``environment_id``, 202 instead of 201, ``running``/``completed`` statuses, ``Z`` timestamps) are
read as well. A body that does not fit raises ``MalformedResponse`` saying what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from rollback_operator.credentials import require_text
from rollback_operator.errors import CredentialsInvalid, CredentialsMissing
from rollback_operator.providers.base import Credentials, Version
from rollback_operator.providers.http import decode_json, describe_plain, header_safe
from rollback_operator.providers.wire import parse

WireT = TypeVar("WireT", bound=BaseModel)

API_PREFIX = "/api/v1/vector"

SUCCESS = frozenset({"deployed", "completed"})
FAILURE = frozenset({"failed"})
# The spec's deployments go pending → deploying → deployed; its rollback text says running → completed.
IN_PROGRESS = frozenset({"pending", "deploying", "running"})


def url(api_url: str, *parts: str) -> str:
    """``{api_url}/api/v1/vector/{parts...}``."""
    # Ids are quoted so that a value with "/" or "?" cannot reach another route.
    return api_url.rstrip("/") + API_PREFIX + "".join("/" + quote(part, safe="") for part in parts)


def token_credentials(secret_data: Mapping[str, str]) -> Credentials:
    """The Secret's ``token``, stripped; ``CredentialsMissing``/``CredentialsInvalid`` otherwise."""
    require_text(secret_data, ("token",))
    raw = secret_data.get("token")
    if raw is None:
        raise CredentialsMissing("vector: the Secret has no 'token' key (a Vector Pro API token)")
    token = raw.strip()
    if not header_safe(token):
        raise CredentialsInvalid(
            "vector: the Secret's 'token' value is empty or contains spaces or non-ASCII "
            "characters; expected a Vector Pro API token"
        )
    return Credentials({"token": token})


def bearer(creds: Credentials) -> dict[str, str]:
    """The Authorization header for the token."""
    return {"Authorization": f"Bearer {creds.values['token']}"}


class _Wire(BaseModel):
    """Tolerant reading: unknown fields are ignored, optional ones default."""

    model_config = ConfigDict(extra="ignore")


class Deployment(_Wire):
    """One deployment record (rollbacks are deployments too)."""

    id: str = Field(min_length=1)
    status: str
    status_label: str | None = None
    stderr: str | None = None
    actor: str | None = None
    created_at: datetime | None = None
    vector_environment_id: str | None = None
    environment_id: str | None = None
    """The prose docs' name for ``vector_environment_id``."""

    @field_validator("created_at")
    @classmethod
    def _assume_utc(cls, value: datetime | None) -> datetime | None:
        # Naive and aware times cannot be compared; Vector's times are UTC.
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @property
    def successful(self) -> bool:
        return self.status in SUCCESS

    @property
    def environment_ref(self) -> str | None:
        return self.vector_environment_id or self.environment_id

    @property
    def label(self) -> str:
        """E.g. "deployed 2026-05-01 10:00 UTC by dev@example.com"."""
        parts = [self.status]
        if self.created_at is not None:
            parts.append(self.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))
        if self.actor:
            parts.append(f"by {self.actor}")
        return " ".join(parts)

    def version(self) -> Version:
        return Version(self.id, created_at=self.created_at, label=self.label)

    def failure_text(self) -> str:
        """The last lines of stderr (where the cause usually is), else the status label."""
        lines = [line.strip() for line in (self.stderr or "").splitlines() if line.strip()]
        if not lines:
            return self.status_label or self.status
        return " | ".join(lines[-3:])[-300:]


class _Links(_Wire):
    next: str | None = None


class _Meta(_Wire):
    current_page: int | None = None
    last_page: int | None = None


class Page(_Wire):
    """A page of ``GET environments/{env}/deployments`` with Laravel's ``links`` and ``meta``."""

    data: list[Deployment]
    links: _Links = Field(default_factory=_Links)
    meta: _Meta = Field(default_factory=_Meta)

    @field_validator("links", "meta", mode="before")
    @classmethod
    def _empty_is_object(cls, value: Any) -> Any:
        # PHP encodes an empty map as [] and the spec's examples show {}; both mean "nothing".
        return {} if value in ([], None) else value

    def has_more(self, *, page: int, per_page: int) -> bool:
        """Whether a next page exists: meta.last_page, else links.next, else a full page."""
        if not self.data:
            return False
        if self.meta.last_page is not None:
            return page < self.meta.last_page
        if "next" in self.links.model_fields_set:
            return self.links.next is not None
        return len(self.data) >= per_page


class _One(_Wire):
    """``GET deployments/{id}`` and the rollback answer."""

    data: Deployment


def describe(response: httpx.Response) -> str:
    """Vector's error text: the ``errors`` map ("field: message"), else ``message``, else the body."""
    try:
        body: Any = response.json()
    except ValueError:
        return describe_plain(response)
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            return "; ".join(f"{name}: {_text(problems)}" for name, problems in errors.items())
        message = body.get("message")
        if isinstance(message, str) and message.strip():
            return message.strip()
    return describe_plain(response)


def _text(problems: Any) -> str:
    if isinstance(problems, list):
        return " ".join(str(problem) for problem in problems)
    return str(problems)


def _parse(model: type[WireT], response: httpx.Response, *, what: str, expected: str) -> WireT:
    """Read a JSON body into a wire model, or raise ``MalformedResponse`` saying what was expected."""
    return parse(model, decode_json(response, what=what), what=what, expected=expected)


def read_page(response: httpx.Response) -> Page:
    """A page of the deployments list."""
    expected = '{"data": [deployment, ...]} with each deployment\'s id and status'
    return _parse(Page, response, what="vector list_deployments", expected=expected)


def read_deployment(response: httpx.Response, *, what: str) -> Deployment:
    """The deployment of ``GET deployments/{id}`` or of the rollback answer."""
    return _parse(_One, response, what=what, expected='{"data": {"id": ..., "status": ...}}').data

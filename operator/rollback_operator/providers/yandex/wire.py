"""The Yandex Cloud wire format: tolerant models of the REST answers, google.rpc error text.

Used by the adapter (``adapter.py``) and the IAM token exchange (``auth.py``). The models read
camelCase, ignore unknown fields and default missing ones; a body that does not fit raises
``MalformedResponse`` naming the fields (``providers/wire.py``), never their values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from rollback_operator.providers.base import Version
from rollback_operator.providers.http import decode_json, describe_plain
from rollback_operator.providers.wire import parse

# ------------------------------------------------------------------------------ wire basics

CODE_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}  # fmt: skip


class Wire(BaseModel):
    """Base of Yandex wire models: camelCase, unknown fields ignored, missing fields defaulted."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


WireT = TypeVar("WireT", bound=Wire)


def read(model: type[WireT], response: httpx.Response, *, what: str) -> WireT:
    """The JSON body of ``response`` as ``model``, or ``MalformedResponse`` naming the fields that
    did not fit: locations and reasons only, never input values (a token response that does not
    fit must not leak the token it carries)."""
    return parse(model, decode_json(response, what=what), what=what)


def status_text(code: object, message: str, details: object = None) -> str:
    """A google.rpc Status as "<CODE_NAME>: <message> (requestId ...)"."""
    name = CODE_NAMES.get(code, f"CODE_{code}") if isinstance(code, int) else ""
    text = f"{name}: {message}" if name else message
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, Mapping) and isinstance(detail.get("requestId"), str):
            return f"{text} (requestId {detail['requestId']})"
    return text


def describe(response: httpx.Response) -> str:
    """The provider's words from a google.rpc Status error body (else the start of the body)."""
    try:
        body = response.json()
    except ValueError:
        return describe_plain(response)
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return describe_plain(response)
    return status_text(body.get("code"), body["message"], body.get("details"))


# ------------------------------------------------------------------------------ wire models


class Image(Wire):
    image_url: str = ""


class Revision(Wire):
    id: str
    created_at: datetime | None = None  # pydantic keeps microseconds of Yandex's nanoseconds
    status: str = "STATUS_UNSPECIFIED"
    description: str = ""
    image: Image = Field(default_factory=Image)


class RevisionPage(Wire):
    revisions: list[Revision] = Field(default_factory=list)
    next_page_token: str = ""


class RpcStatus(Wire):
    code: int = 0
    message: str = ""
    details: list[Any] = Field(default_factory=list)


class Operation(Wire):
    id: str
    description: str = ""
    done: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    error: RpcStatus | None = None
    response: dict[str, Any] | None = None


class Container(Wire):
    id: str
    name: str = ""


# ------------------------------------------------------------------------ reading helpers


def newest_first(revisions: Sequence[Revision]) -> list[Revision]:
    """Sorted by ``createdAt`` descending (Yandex documents no order); undated ones last."""
    return sorted(revisions, key=lambda r: (r.created_at is not None, r.created_at or 0, r.id), reverse=True)


def _label(revision: Revision) -> str:
    image = revision.image.image_url.rsplit("/", 1)[-1] or "no image"
    created = f", created {revision.created_at:%Y-%m-%d %H:%M} UTC" if revision.created_at else ""
    return f"{image}, {revision.status}{created}"


def to_version(revision: Revision) -> Version:
    return Version(revision.id, revision.created_at, _label(revision))

"""The Yandex Cloud Serverless Containers adapter: revisions, the rollback call, its operation.

Built once by the provider registry; the reconciler calls it through the ``Provider`` protocol.

- ``resolve`` pages through ``GET /containers/v1/revisions?containerId=``. The live revision is
  the ``ACTIVE`` one; candidates are the others, newest ``createdAt`` first, without ``CREATING``
  (and ``STATUS_UNSPECIFIED``) ones. Unknown statuses stay candidates, shown in the label.
- ``trigger`` sends ``POST /containers/v1/containers/{id}:rollback`` with an ``Idempotency-Key``.
  Yandex answers a repeated key with the operation it already started, so this POST is the one
  provider call in the project that is safe to re-send: ``http.py`` retries it like a read, and
  when even the retries fail (``ProviderUnavailable``), calling ``trigger`` or ``recover`` again
  with the same key is safe. Only an unreadable answer is ``OutcomeUnknown``.
- ``recover`` therefore simply re-sends the same request. Either the rollback starts now, or the
  provider returns the earlier operation; both are ``TRIGGERED``. Only when the provider has no
  operation for the key and the target is already live (``FAILED_PRECONDITION``) can nobody tell
  who made it live: that is ``UNKNOWN``, with a message saying what to check.
- ``poll`` reads ``GET {operationsURL}/operations/{id}``; ``done`` decides, ``error`` or
  ``response`` says how it ended.

Authentication (``yandex_auth.py``): ``serviceAccountKey`` wins over ``iamToken`` when a Secret
holds both, because it can be refreshed. A cached service-account token that the API refuses with
``UNAUTHENTICATED`` (revoked early) is dropped and the call is tried once more with a fresh one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import Field

from rollback_operator.errors import (
    CredentialsInvalid,
    CredentialsMissing,
    MalformedResponse,
    OutcomeUnknown,
    ProviderRejected,
    TargetNotFound,
)
from rollback_operator.models import OperationState, Target, YandexServerlessContainerProvider
from rollback_operator.providers.base import (
    Credentials,
    Handle,
    Progress,
    Recovery,
    RecoveryState,
    Resolution,
    Version,
)
from rollback_operator.providers.http import (
    DEFAULT_TIMEOUT,
    ProviderHTTP,
    RetryPolicy,
    decode_json,
    header_safe,
)
from rollback_operator.providers.selection import choose
from rollback_operator.providers.yandex_auth import (
    IamTokenSource,
    ServiceAccountKey,
    Wire,
    WireT,
    describe,
    parse_service_account_key,
    parse_wire,
    status_text,
)

Spec = YandexServerlessContainerProvider
LIVE = "ACTIVE"
NEVER_CANDIDATES = frozenset({"ACTIVE", "CREATING", "STATUS_UNSPECIFIED"})

# ------------------------------------------------------------------------------ wire models


class _Image(Wire):
    image_url: str = ""


class _Revision(Wire):
    id: str
    created_at: datetime | None = None  # pydantic keeps microseconds of Yandex's nanoseconds
    status: str = "STATUS_UNSPECIFIED"
    description: str = ""
    image: _Image = Field(default_factory=_Image)


class _RevisionPage(Wire):
    revisions: list[_Revision] = Field(default_factory=list)
    next_page_token: str = ""


class _Status(Wire):
    code: int = 0
    message: str = ""
    details: list[Any] = Field(default_factory=list)


class _Operation(Wire):
    id: str
    description: str = ""
    done: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    error: _Status | None = None
    response: dict[str, Any] | None = None


class _Container(Wire):
    id: str
    name: str = ""


# ------------------------------------------------------------------------ pure helpers


def _newest_first(revisions: Sequence[_Revision]) -> list[_Revision]:
    """Sorted by ``createdAt`` descending (Yandex documents no order); undated ones last."""
    return sorted(revisions, key=lambda r: (r.created_at is not None, r.created_at or 0, r.id), reverse=True)


def _label(revision: _Revision) -> str:
    image = revision.image.image_url.rsplit("/", 1)[-1] or "no image"
    created = f", created {revision.created_at:%Y-%m-%d %H:%M} UTC" if revision.created_at else ""
    return f"{image}, {revision.status}{created}"


def _version(revision: _Revision) -> Version:
    return Version(revision.id, revision.created_at, _label(revision))


def _progress(operation: _Operation) -> Progress:
    """Running until ``done``; an ``error`` seen earlier means the service is reverting."""
    error = operation.error
    if not operation.done:
        if error is not None:
            return Progress(OperationState.RUNNING, f"failing: {status_text(error.code, error.message)}")
        return Progress(OperationState.RUNNING, operation.description or "rollback in progress")
    if error is not None:
        return Progress(OperationState.FAILED, status_text(error.code, error.message, error.details))
    revision = operation.metadata.get("revisionId", "the target revision")
    return Progress(OperationState.SUCCEEDED, f"container now serves revision {revision}")


def _is_failed_precondition(exc: ProviderRejected) -> bool:
    """Recognised by ``describe``'s "<CODE_NAME>: " prefix (the error types carry no gRPC code)."""
    return exc.status_code == 400 and "FAILED_PRECONDITION:" in exc.message


@dataclass(frozen=True)
class _Call:
    """One request to send, as ``ProviderHTTP.request`` takes it."""

    method: str
    url: str
    operation: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str | int] | None = None
    json_body: Any = None


@dataclass(frozen=True)
class _Auth:
    """The bearer token for one call, and what must be redacted from anything echoed."""

    token: str = field(repr=False)
    reused: bool
    key: ServiceAccountKey | None = None
    secrets: list[str] = field(default_factory=list, repr=False)


# ------------------------------------------------------------------------------- the adapter


class YandexAdapter:
    """Rolls a Serverless Container back to an earlier revision (see the module docstring)."""

    name: ClassVar[str] = "yandexServerlessContainer"
    credential_keys: ClassVar[tuple[str, ...]] = ("iamToken", "serviceAccountKey")

    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        page_size: int = 100,
        max_pages: int = 50,
    ) -> None:
        self._http = ProviderHTTP(provider=self.name, transport=transport, timeout=timeout, retry=retry)
        self._tokens = IamTokenSource(http=self._http, clock=clock)
        self._page_size = page_size
        self._max_pages = max_pages

    def target_key(self, spec: Spec) -> str:
        return f"yandex:{spec.container_id}"

    def endpoints(self, spec: Spec) -> list[str]:
        return [spec.api_url, spec.operations_url, spec.iam_url]

    def credentials(self, secret_data: Mapping[str, str]) -> Credentials:
        key_text = secret_data.get("serviceAccountKey", "")
        if key_text.strip():
            parse_service_account_key(key_text)  # fail now, naming what is wrong
            return Credentials({"serviceAccountKey": key_text})
        token = secret_data.get("iamToken", "").strip()  # a trailing newline would break the header
        if token and not header_safe(token):
            raise CredentialsInvalid(
                "the Secret's 'iamToken' value contains spaces or non-ASCII characters; "
                "expected an IAM token (yc iam create-token)"
            )
        if token:
            return Credentials({"iamToken": token})
        raise CredentialsMissing("the Secret needs the key iamToken or serviceAccountKey (either one)")

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------------ provider calls

    async def resolve(self, spec: Spec, creds: Credentials, target: Target) -> Resolution:
        revisions = _newest_first(await self._list_revisions(spec, creds))
        live = next((r for r in revisions if r.status == LIVE), None)
        if live is None:
            container = await self._get_container(spec, creds)  # a wrong id ends here as NOT_FOUND
            raise TargetNotFound(
                f"container {container.id} ({container.name or 'unnamed'}) has no ACTIVE revision "
                f"among {len(revisions)} revisions, so there is nothing to roll back from"
            )
        candidates = [_version(r) for r in revisions if r.id != live.id and r.status not in NEVER_CANDIDATES]
        return choose(current=live.id, candidates=candidates, target=target, watermark=revisions[0].id)

    async def trigger(
        self, spec: Spec, creds: Credentials, resolution: Resolution, idempotency_key: str
    ) -> Handle:
        try:
            operation = await self._rollback(spec, creds, resolution.target, idempotency_key)
        except MalformedResponse as exc:
            raise OutcomeUnknown(
                f"{exc.message}; the rollback may have started (recovery re-sends the same Idempotency-Key)"
            ) from exc
        return Handle(operation.id, _progress(operation).message)

    async def recover(
        self, spec: Spec, creds: Credentials, resolution: Resolution, idempotency_key: str
    ) -> Recovery:
        try:
            operation = await self._rollback(spec, creds, resolution.target, idempotency_key)
        except ProviderRejected as exc:
            if not _is_failed_precondition(exc):
                raise
            return await self._explain_rejection(spec, creds, resolution, idempotency_key, exc)
        message = f"re-sent with Idempotency-Key {idempotency_key}: operation {operation.id}"
        return Recovery(RecoveryState.TRIGGERED, Handle(operation.id, _progress(operation).message), message)

    async def poll(self, spec: Spec, creds: Credentials, handle: Handle) -> Progress:
        url = f"{spec.operations_url.rstrip('/')}/operations/{quote(handle.id, safe='')}"
        response = await self._send(_Call("GET", url, "get_operation"), spec=spec, creds=creds)
        return _progress(self._read(_Operation, response, what="get operation"))

    # ------------------------------------------------------------------------------- helpers

    async def _explain_rejection(
        self, spec: Spec, creds: Credentials, resolution: Resolution, key: str, exc: ProviderRejected
    ) -> Recovery:
        """The re-send found no earlier operation; if the target is live anyway, nobody can say why."""
        revisions = await self._list_revisions(spec, creds)
        if not any(r.id == resolution.target and r.status == LIVE for r in revisions):
            raise exc
        return Recovery(
            RecoveryState.UNKNOWN,
            message=(
                f"revision {resolution.target} is already ACTIVE on container {spec.container_id}, but "
                f"Yandex has no operation for Idempotency-Key {key} (it refused the re-send: {exc.message}). "
                "This request's rollback may have happened before the key expired, or someone else made "
                "the revision live. Check the container's operations (yc serverless container "
                "list-operations) and its revisions before acting."
            ),
        )

    async def _list_revisions(self, spec: Spec, creds: Credentials) -> list[_Revision]:
        url = f"{spec.api_url.rstrip('/')}/containers/v1/revisions"
        revisions: list[_Revision] = []
        params: dict[str, str | int] = {"containerId": spec.container_id, "pageSize": self._page_size}
        for _ in range(self._max_pages):
            call = _Call("GET", url, "list_revisions", params=dict(params))
            response = await self._send(call, spec=spec, creds=creds)
            page = self._read(_RevisionPage, response, what="list revisions")
            revisions.extend(page.revisions)
            if not page.next_page_token:
                return revisions
            params["pageToken"] = page.next_page_token
        raise ProviderRejected(
            f"list revisions: container {spec.container_id} still had more revisions after "
            f"{self._max_pages} pages of {self._page_size}; refusing to choose from a partial history"
        )

    async def _get_container(self, spec: Spec, creds: Credentials) -> _Container:
        url = f"{spec.api_url.rstrip('/')}/containers/v1/containers/{quote(spec.container_id, safe='')}"
        response = await self._send(_Call("GET", url, "get_container"), spec=spec, creds=creds)
        return self._read(_Container, response, what="get container")

    async def _rollback(self, spec: Spec, creds: Credentials, revision: str, key: str) -> _Operation:
        container = quote(spec.container_id, safe="")
        call = _Call(
            "POST",
            f"{spec.api_url.rstrip('/')}/containers/v1/containers/{container}:rollback",
            "rollback",
            headers={"Idempotency-Key": key},
            json_body={"revisionId": revision},
        )
        response = await self._send(call, spec=spec, creds=creds)
        return self._read(_Operation, response, what="rollback")

    @staticmethod
    def _read(model: type[WireT], response: httpx.Response, *, what: str) -> WireT:
        return parse_wire(model, decode_json(response, what=what), what=what)

    async def _authorize(self, spec: Spec, creds: Credentials) -> _Auth:
        key_text = creds.values.get("serviceAccountKey")
        if key_text is None:
            if not creds.values.get("iamToken"):
                raise CredentialsMissing("no iamToken or serviceAccountKey in the credentials")
            return _Auth(creds.values["iamToken"], False, secrets=creds.secrets())
        key = parse_service_account_key(key_text)
        issued = await self._tokens.token(iam_url=spec.iam_url, key=key)
        return _Auth(issued.token, issued.reused, key, [*creds.secrets(), key.private_key_pem, issued.token])

    async def _send(self, call: _Call, *, spec: Spec, creds: Credentials) -> httpx.Response:
        """One authorized request; every call here is a read or deduplicated by Idempotency-Key."""
        auth = await self._authorize(spec, creds)
        try:
            return await self._request(auth, call)
        except CredentialsInvalid as exc:
            if auth.key is None or not auth.reused or "UNAUTHENTICATED:" not in exc.message:
                raise
        # A cached token can be revoked before it expires: forget it, try once with a fresh one.
        self._tokens.forget(iam_url=spec.iam_url, key=auth.key, token=auth.token)
        return await self._request(await self._authorize(spec, creds), call)

    async def _request(self, auth: _Auth, call: _Call) -> httpx.Response:
        return await self._http.request(
            call.method,
            call.url,
            operation=call.operation,
            idempotent=True,
            describe=describe,
            secrets=auth.secrets,
            headers={"Authorization": f"Bearer {auth.token}", **call.headers},
            params=call.params,
            json_body=call.json_body,
            acts=call.method == "POST",  # the rollback; every other call here is a read
        )

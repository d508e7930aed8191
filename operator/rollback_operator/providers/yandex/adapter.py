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

Authentication (``auth.py``): ``serviceAccountKey`` wins over ``iamToken`` when a Secret
holds both, because it can be refreshed. A cached service-account token that the API refuses with
``UNAUTHENTICATED`` (revoked early) is dropped and the call is tried once more with a fresh one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from rollback_operator.credentials import require_text
from rollback_operator.errors import (
    CredentialsInvalid,
    CredentialsMissing,
    MalformedResponse,
    OutcomeUnknown,
    ProviderRejected,
    TargetNotFound,
)
from rollback_operator.models import ProviderName, Target, YandexServerlessContainerProvider
from rollback_operator.providers.base import (
    Credentials,
    Handle,
    HTTPAdapter,
    Progress,
    Recovery,
    RecoveryState,
    Resolution,
)
from rollback_operator.providers.http import header_safe
from rollback_operator.providers.selection import choose
from rollback_operator.providers.yandex.auth import (
    IamTokenSource,
    ServiceAccountKey,
    parse_service_account_key,
)
from rollback_operator.providers.yandex.wire import (
    Container,
    Operation,
    Revision,
    RevisionPage,
    describe,
    newest_first,
    read,
    status_text,
    to_version,
)
from rollback_operator.status_models import OperationState

Spec = YandexServerlessContainerProvider
LIVE = "ACTIVE"
NEVER_CANDIDATES = frozenset({"ACTIVE", "CREATING", "STATUS_UNSPECIFIED"})

# ------------------------------------------------------------------------ pure helpers


def _progress(operation: Operation) -> Progress:
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


class YandexAdapter(HTTPAdapter):
    """Rolls a Serverless Container back to an earlier revision (see the module docstring)."""

    name: ClassVar[ProviderName] = ProviderName.YANDEX
    default_page_size: ClassVar[int] = 100
    default_max_pages: ClassVar[int] = 50
    credential_keys: ClassVar[tuple[str, ...]] = ("iamToken", "serviceAccountKey")

    def __init__(self, *, clock: Callable[[], float] = time.time, **options: Any) -> None:
        """``options`` as ``HTTPAdapter`` takes them; ``clock`` decides when cached IAM tokens expire."""
        super().__init__(**options)
        self._tokens = IamTokenSource(http=self.http, clock=clock)

    def target_key(self, spec: Spec) -> str:
        return f"yandex:{spec.container_id}"

    def endpoints(self, spec: Spec) -> list[str]:
        return [spec.api_url, spec.operations_url, spec.iam_url]

    def credentials(self, secret_data: Mapping[str, str]) -> Credentials:
        require_text(secret_data, self.credential_keys)
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

    # ------------------------------------------------------------------------ provider calls

    async def resolve(self, spec: Spec, creds: Credentials, target: Target) -> Resolution:
        revisions = newest_first(await self._list_revisions(spec, creds))
        live = next((r for r in revisions if r.status == LIVE), None)
        if live is None:
            container = await self._get_container(spec, creds)  # a wrong id ends here as NOT_FOUND
            raise TargetNotFound(
                f"container {container.id} ({container.name or 'unnamed'}) has no ACTIVE revision "
                f"among {len(revisions)} revisions, so there is nothing to roll back from"
            )
        candidates = [
            to_version(r) for r in revisions if r.id != live.id and r.status not in NEVER_CANDIDATES
        ]
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
        return _progress(read(Operation, response, what="get operation"))

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

    async def _list_revisions(self, spec: Spec, creds: Credentials) -> list[Revision]:
        url = f"{spec.api_url.rstrip('/')}/containers/v1/revisions"
        revisions: list[Revision] = []
        params: dict[str, str | int] = {"containerId": spec.container_id, "pageSize": self.page_size}
        for _ in range(self.max_pages):
            call = _Call("GET", url, "list_revisions", params=dict(params))
            response = await self._send(call, spec=spec, creds=creds)
            page = read(RevisionPage, response, what="list revisions")
            revisions.extend(page.revisions)
            if not page.next_page_token:
                return revisions
            params["pageToken"] = page.next_page_token
        raise ProviderRejected(
            f"list revisions: container {spec.container_id} still had more revisions after "
            f"{self.max_pages} pages of {self.page_size}; refusing to choose from a partial history"
        )

    async def _get_container(self, spec: Spec, creds: Credentials) -> Container:
        url = f"{spec.api_url.rstrip('/')}/containers/v1/containers/{quote(spec.container_id, safe='')}"
        response = await self._send(_Call("GET", url, "get_container"), spec=spec, creds=creds)
        return read(Container, response, what="get container")

    async def _rollback(self, spec: Spec, creds: Credentials, revision: str, key: str) -> Operation:
        container = quote(spec.container_id, safe="")
        call = _Call(
            "POST",
            f"{spec.api_url.rstrip('/')}/containers/v1/containers/{container}:rollback",
            "rollback",
            headers={"Idempotency-Key": key},
            json_body={"revisionId": revision},
        )
        response = await self._send(call, spec=spec, creds=creds)
        return read(Operation, response, what="rollback")

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
        return await self.http.request(
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

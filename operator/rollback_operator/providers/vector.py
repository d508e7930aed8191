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

Shapes follow the published OpenAPI spec; the prose docs' variants (``environment_id``, 202
instead of 201, ``running``/``completed`` statuses, ``Z`` timestamps) are read as well.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rollback_operator.errors import (
    CredentialsInvalid,
    CredentialsMissing,
    MalformedResponse,
    OutcomeUnknown,
    ProviderRejected,
    TargetNotFound,
)
from rollback_operator.models import OperationState, Target, VectorProvider
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
    describe_plain,
)
from rollback_operator.providers.selection import choose

if TYPE_CHECKING:
    from rollback_operator.providers.base import Provider

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/vector"
# Visible ASCII only: a token with spaces or control characters cannot go into a header, and
# httpx would fail only while sending, where a failure looks like an unknown outcome.
_TOKEN = re.compile(r"[\x21-\x7e]+")
WireT = TypeVar("WireT", bound=BaseModel)

SUCCESS = frozenset({"deployed", "completed"})
FAILURE = frozenset({"failed"})
# The spec's deployments go pending → deploying → deployed; its rollback text says running → completed.
IN_PROGRESS = frozenset({"pending", "deploying", "running"})


class _Wire(BaseModel):
    """Tolerant reading: unknown fields are ignored, optional ones default."""

    model_config = ConfigDict(extra="ignore")


class _Deployment(_Wire):
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
        return "failed: " + " | ".join(lines[-3:])[-300:]


class _Links(_Wire):
    next: str | None = None


class _Meta(_Wire):
    current_page: int | None = None
    last_page: int | None = None


class _Page(_Wire):
    """A page of ``GET environments/{env}/deployments`` with Laravel's ``links`` and ``meta``."""

    data: list[_Deployment]
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

    data: _Deployment


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
    body = decode_json(response, what=what)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors(include_input=False)[:3]
        )
        raise MalformedResponse(f"{what}: expected {expected}; {problems}") from exc


def _one(response: httpx.Response, *, what: str) -> _One:
    return _parse(_One, response, what=what, expected='{"data": {"id": ..., "status": ...}}')


def _auth(creds: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.values['token']}"}


@dataclass
class _History:
    """What paging through an environment's deployments found."""

    successes: list[_Deployment] = field(default_factory=list)
    """Successful deployments, newest first, each once."""
    watermark: str | None = None
    scanned: int = 0
    truncated: bool = False
    """True when the page cap stopped the search before the end of the history."""
    _seen: set[str] = field(default_factory=set)

    def add(self, deployments: list[_Deployment]) -> None:
        # A deployment created while paging shifts later pages by one; skip repeats.
        for deployment in deployments:
            if deployment.id not in self._seen:
                self._seen.add(deployment.id)
                self.scanned += 1
                if deployment.successful:
                    self.successes.append(deployment)


def _enough(target: Target) -> Callable[[list[_Deployment]], bool]:
    """When paging may stop: the wanted version or enough successful deployments were found."""
    if target.version is not None:
        wanted = target.version
        return lambda found: any(deployment.id == wanted for deployment in found)
    needed = (target.steps_back or 1) + 1  # the live deployment plus N earlier ones
    return lambda found: len(found) >= needed


def _progress(deployment: _Deployment) -> Progress:
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


class VectorAdapter:
    """The Provider contract for Vector Pro environments (see the module docstring)."""

    name: ClassVar[str] = "vector"
    credential_keys: ClassVar[tuple[str, ...]] = ("token",)

    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        page_size: int = 50,
        max_pages: int = 20,
    ) -> None:
        self.http = ProviderHTTP(provider=self.name, transport=transport, timeout=timeout, retry=retry)
        self.page_size = page_size
        """Deployments per list request (Vector allows at most 100)."""
        self.max_pages = max_pages
        """Resolve stops after this many pages, so a huge history cannot keep it busy."""

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    def target_key(self, spec: VectorProvider) -> str:
        """One rollback at a time per environment of one API."""
        return f"vector:{urlsplit(spec.api_url).netloc.lower()}/{spec.environment_id}"

    def endpoints(self, spec: VectorProvider) -> list[str]:
        """Only the API base URL; pagination links are never followed, so no other host is reached."""
        return [spec.api_url]

    def credentials(self, secret_data: Mapping[str, str]) -> Credentials:
        """The ``token`` key, stripped of the newline that ``echo`` tends to leave in Secrets."""
        raw = secret_data.get("token")
        if raw is None:
            raise CredentialsMissing("vector: the Secret has no 'token' key (a Vector Pro API token)")
        token = raw.strip()
        if not _TOKEN.fullmatch(token):
            raise CredentialsInvalid(
                "vector: the Secret's 'token' value is empty or contains spaces or non-ASCII "
                "characters; expected a Vector Pro API token"
            )
        return Credentials({"token": token})

    async def resolve(self, spec: VectorProvider, creds: Credentials, target: Target) -> Resolution:
        """Page through the deployments until the live one and the wanted candidates are known."""
        history = await self._history(spec, creds, enough=_enough(target))
        if not history.successes:
            raise TargetNotFound(
                f"vector: environment {spec.environment_id} has no successful (deployed or completed) "
                f"deployment among its {history.scanned} newest deployments, so there is nothing to "
                "roll back from"
            )
        live, *earlier = history.successes
        try:
            return choose(
                current=live.id,
                candidates=[deployment.version() for deployment in earlier],
                target=target,
                watermark=history.watermark,
            )
        except TargetNotFound as exc:
            if history.truncated:
                raise TargetNotFound(
                    f"{exc.message} (searched only the newest {history.scanned} deployments)"
                ) from exc
            raise

    async def trigger(
        self, spec: VectorProvider, creds: Credentials, resolution: Resolution, idempotency_key: str
    ) -> Handle:
        """Ask for exactly one rollback to ``resolution.target``; the new deployment is the handle.

        Vector takes no idempotency key, so ``idempotency_key`` is unused: the reconciler's claim
        and ``recover`` keep the call exactly-once.
        """
        response = await self.http.request(
            "POST",
            self._url(spec, "environments", spec.environment_id, "rollback"),
            operation="rollback",
            idempotent=False,
            describe=describe,
            secrets=creds.secrets(),
            headers=_auth(creds),
            json_body={"target_deployment_id": resolution.target},
        )
        try:
            created = _one(response, what="vector rollback").data
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
        self, spec: VectorProvider, creds: Credentials, *, enough: Callable[[list[_Deployment]], bool]
    ) -> _History:
        history = _History()
        for page in range(1, self.max_pages + 1):
            listing = await self._list(spec, creds, page=page)
            if page == 1 and listing.data:
                history.watermark = listing.data[0].id
            history.add(listing.data)
            if enough(history.successes) or not listing.has_more(page=page, per_page=self.page_size):
                return history
        history.truncated = True
        return history

    async def _newer_than(
        self, spec: VectorProvider, creds: Credentials, newest: list[_Deployment], *, watermark: str
    ) -> list[_Deployment] | None:
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

    async def _list(self, spec: VectorProvider, creds: Credentials, *, page: int) -> _Page:
        response = await self._get(
            spec,
            creds,
            "environments",
            spec.environment_id,
            "deployments",
            operation="list deployments",
            params={"page": page, "per_page": self.page_size},
        )
        expected = '{"data": [deployment, ...]} with each deployment\'s id and status'
        return _parse(_Page, response, what="vector list deployments", expected=expected)

    async def _deployment(self, spec: VectorProvider, creds: Credentials, deployment_id: str) -> _Deployment:
        response = await self._get(spec, creds, "deployments", deployment_id, operation="get deployment")
        return _one(response, what="vector get deployment").data

    async def _get(
        self,
        spec: VectorProvider,
        creds: Credentials,
        *parts: str,
        operation: str,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        return await self.http.request(
            "GET",
            self._url(spec, *parts),
            operation=operation,
            idempotent=True,
            describe=describe,
            secrets=creds.secrets(),
            headers=_auth(creds),
            params=params,
        )

    @staticmethod
    def _url(spec: VectorProvider, *parts: str) -> str:
        # Ids are quoted so that a value with "/" or "?" cannot reach another route.
        return spec.api_url.rstrip("/") + API_PREFIX + "".join("/" + quote(part, safe="") for part in parts)


if TYPE_CHECKING:
    _conforms: type[Provider[VectorProvider]] = VectorAdapter

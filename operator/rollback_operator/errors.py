"""The typed error tree of the operator; whether an error is retried is decided here, once.

Every failure that crosses a module boundary is one of these. Provider adapters translate httpx
exceptions and HTTP answers into them (``providers/http.py``); the reconciler only asks two
questions of an error: ``retryable`` and ``reason`` (the CamelCase condition reason).

    RollbackError
     ├── TransientError          retried with backoff until the request's deadline
     │    ├── ProviderUnavailable  network errors, 429 and 5xx; carries ``retry_after``
     │    │    └── ProviderTimedOut  an answer not complete within the per-call deadline
     │    ├── MalformedResponse    a body that cannot be read (HTML error page, truncated JSON)
     │    ├── CredentialsMissing   the Secret or one of its keys is absent (GitOps may add it later)
     │    └── KubernetesUnavailable  the API server is unreachable or overloaded
     ├── OutcomeUnknown          a non-idempotent call may have reached the provider: never re-sent
     │                           blindly, the reconciler asks the provider instead (``recover``)
     └── PermanentError          ends the request ``Failed``
          ├── ProviderRejected     a 4xx answer, with the provider's own message
          │    └── ResponseTooLarge  an answer larger than the operator reads (never read whole)
          ├── CredentialsInvalid   401/403, or a Secret value that cannot be used
          ├── TargetNotFound       the requested version is not among the candidates
          ├── PreconditionFailed   ``expectedCurrentVersion`` differs from the live version
          ├── EndpointNotAllowed   a spec URL outside the operator's allow-list
          ├── Expired              ``spec.notAfter`` passed before the claim
          ├── Rejected             an approver rejected the plan
          ├── PlanChanged          the live or target version moved after the plan was approved
          └── GaveUp               a transient failure outlasted the request's deadline

Outside the tree: ``Conflict`` (a guarded status write lost a race) and ``Gone`` (the request was
deleted) describe the Kubernetes side and steer the reconciler's control flow.

Messages have their control characters escaped (``text.printable``) and never contain credential
values: adapters build them from status codes and the provider's error text, and ``redact``
below is applied to anything echoed from a request.
"""

from __future__ import annotations

from collections.abc import Iterable

from rollback_operator.text import printable


class RollbackError(Exception):
    """Base of every error the operator raises on purpose."""

    reason: str = "InternalError"
    retryable: bool = False

    def __init__(self, message: str) -> None:
        message = printable(message)  # provider text on its way to status, Events and logs
        super().__init__(message)
        self.message = message


class TransientError(RollbackError):
    """A failure worth retrying later; ``retry_after`` (seconds) is the provider's hint, if any.

    ``maybe_acted``: the request may have reached the provider and been carried out (a 5xx or a
    lost answer to a call that is safe to repeat), as opposed to refused or never sent.
    """

    reason = "ProviderUnavailable"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, maybe_acted: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_acted = maybe_acted


class ProviderUnavailable(TransientError):
    """Network error, timeout, 429 or 5xx from the provider."""


class ProviderTimedOut(ProviderUnavailable):
    """The provider did not finish its answer within the per-call deadline (a hung or dribbling body)."""


class MalformedResponse(TransientError):
    """The provider answered with a body this adapter cannot read."""

    reason = "MalformedResponse"


class CredentialsMissing(TransientError):
    """The referenced Secret, or a key the provider needs, does not exist (yet)."""

    reason = "CredentialsMissing"


class KubernetesUnavailable(TransientError):
    """The Kubernetes API server could not be reached or answered 5xx/429."""

    reason = "KubernetesUnavailable"


class OutcomeUnknown(RollbackError):
    """A rollback call may or may not have reached the provider; only the provider can tell."""

    reason = "OutcomeUnknown"


class PermanentError(RollbackError):
    """A failure that retrying cannot fix; the request ends ``Failed`` with ``reason``."""


class ProviderRejected(PermanentError):
    """The provider refused the request (a 4xx other than 401/403/429)."""

    reason = "ProviderRejected"

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ResponseTooLarge(ProviderRejected):
    """The provider's answer exceeded the size the operator reads; the rest was not read."""


class CredentialsInvalid(PermanentError):
    """The provider rejected the credentials, or the Secret holds an unusable value."""

    reason = "CredentialsInvalid"


class TargetNotFound(PermanentError):
    """The requested target version is not a rollback candidate."""

    reason = "TargetNotFound"


class PreconditionFailed(PermanentError):
    """The live version is not the one the request expected."""

    reason = "PreconditionFailed"


class EndpointNotAllowed(PermanentError):
    """A provider URL from the spec is outside the operator's allow-list."""

    reason = "EndpointNotAllowed"


class Expired(PermanentError):
    """``spec.notAfter`` passed before the rollback was claimed; nothing was sent."""

    reason = "Expired"


class Rejected(PermanentError):
    """An approver rejected the plan; nothing was sent."""

    reason = "Rejected"


class PlanChanged(PermanentError):
    """The plan resolved again after the approval differs from the approved one; nothing was sent."""

    reason = "PlanChanged"


class GaveUp(PermanentError):
    """A transient failure outlasted the request's deadline; keeps the transient reason."""

    def __init__(self, cause: TransientError, seconds: int) -> None:
        super().__init__(f"gave up after {seconds}s: {cause.message}")
        self.reason = cause.reason


class Conflict(Exception):
    """A guarded status write lost the race: the object changed since it was read."""


class Gone(Exception):
    """The RollbackRequest was deleted while the operator worked on it."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret value (longer than 3 chars) with ``***``."""
    for value in sorted({s for s in secrets if s and len(s) > 3}, key=len, reverse=True):
        text = text.replace(value, "***")
    return text

"""Field types of the RollbackRequest models, with their admission rules written twice.

Holds the bounds and messages of the spec's fields, the ``cel_rule``/``validations`` helpers that
carry CEL rules (``x-kubernetes-validations``) into the generated CRD, and the annotated field types
(``HttpsURL``, ``KubeName``, ``Identifier``) whose pydantic validator and CEL rule share one
message. ``models.py`` builds the spec from these and re-exports every name; ``crd.py`` renders the
rules; ``tests/api/cases.py`` checks that pydantic and the API server agree.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

REASON_MAX_LENGTH = 1024
ID_MAX_LENGTH = 256
URL_MAX_LENGTH = 2048
STEPS_BACK_MAX = 50
TIMEOUT_SECONDS_MIN = 10
TIMEOUT_SECONDS_MAX = 86400
DEFAULT_TIMEOUT_SECONDS = 1800


def cel_rule(rule: str, message: str, *, reason: str | None = None) -> dict[str, str]:
    """One ``x-kubernetes-validations`` entry; ``reason`` picks how the API server words it."""
    return {"rule": rule, "message": message} | ({"reason": reason} if reason else {})


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    """The ``json_schema_extra`` that carries CEL rules into the CRD."""
    return {"x-kubernetes-validations": list(rules)}


# ------------------------------------------------------------------------------- URL rule

URL_MESSAGE = "must be an https URL; plain http is allowed only for localhost, 127.0.0.0/8 and [::1]"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
LOOPBACK_HTTP = rf"http://(localhost|127\.{_OCTET}\.{_OCTET}\.{_OCTET}|\[::1\])(:[0-9]{{1,5}})?([/?#].*)?"
"""Plain http to a loopback host, matched on the whole string (lowercase scheme and host)."""
# The loopback branch matches the string itself: CEL cannot bound the size of what
# url().getHostname() returns, so isIP()/ip() on it blow the CRD's rule cost budget.
URL_RULE = (
    "isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() != '' "
    f"|| self.matches(r'^{LOOPBACK_HTTP}$')"
)


USERINFO_MESSAGE = "must not carry a user name or password: credentials come from the Secret"
USERINFO_RULE = r"!self.matches(r'^[A-Za-z][-+.A-Za-z0-9]*://[^/?#]*@')"
"""No ``user:password@`` before the host: a spec is readable by everyone who can list requests."""
DOTS_MESSAGE = (
    "the path must not have a '.' or '..' segment or a percent-encoded dot (%2e): "
    "the operator checks a URL against its allow-list as it is written"
)
_DOT_SEGMENT = r"^[A-Za-z][-+.A-Za-z0-9]*://[^/?#]*(/[^/?#]*)*/\.\.?([/?#]|$)"
_ENCODED_DOT = r"^[A-Za-z][-+.A-Za-z0-9]*://[^/?#]*/[^?#]*%2[eE]"
DOTS_RULE = f"!self.matches(r'{_DOT_SEGMENT}') && !self.matches(r'{_ENCODED_DOT}')"
"""No dot segment and no encoded dot in the path: ``urls.parse`` would refuse to send it anyway."""
PORT_MESSAGE = "the port must be between 1 and 65535"
PORT_RULE = (
    "!isURL(self) || url(self).getPort() == '' "
    "|| (int(url(self).getPort()) >= 1 && int(url(self).getPort()) <= 65535)"
)


def check_url(value: str) -> str:
    """Accept https URLs with a host, and http only to loopback hosts (the four URL rules in Python).

    Go's URL parser behind ``isURL`` also refuses a few malformed https URLs (a space in the host)
    that this check lets through. The other way round, Python refuses a bracketed host that is no
    IP address (``https://[abc]``), which nothing could connect to; such a request ends
    ``InvalidSpec``.
    """
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:  # e.g. an unbalanced '[' in the host, a port above 65535
        message = PORT_MESSAGE if "out of range" in str(exc) else URL_MESSAGE
        raise ValueError(message) from exc
    if "@" in parts.netloc:
        raise ValueError(USERINFO_MESSAGE)
    if re.search(_DOT_SEGMENT, value) or re.search(_ENCODED_DOT, value):
        raise ValueError(DOTS_MESSAGE)
    if port == 0:
        raise ValueError(PORT_MESSAGE)
    if re.fullmatch(LOOPBACK_HTTP, value) or (parts.scheme == "https" and parts.hostname):
        return value
    raise ValueError(URL_MESSAGE)


HttpsURL = Annotated[
    str,
    Field(
        min_length=1,
        max_length=URL_MAX_LENGTH,
        json_schema_extra=validations(
            cel_rule(URL_RULE, URL_MESSAGE),
            cel_rule(USERINFO_RULE, USERINFO_MESSAGE),
            cel_rule(DOTS_RULE, DOTS_MESSAGE),
            cel_rule(PORT_RULE, PORT_MESSAGE),
        ),
    ),
    AfterValidator(check_url),
]
"""A provider endpoint: https, or http to a loopback host (local sandboxes and tests), with no
credentials in it, no dot segments or encoded dots in its path, and a port a connection can use."""

# ------------------------------------------------------------------------- object name rule

NAME_MESSAGE = (
    "must be a Kubernetes object name: lowercase letters, digits, '-' and '.', alphanumeric at both ends"
)
DNS1123_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
"""A Kubernetes object name (RFC 1123 subdomain), matched on the whole string."""


def check_name(value: str) -> str:
    """Accept a Kubernetes object name (the CEL rule on ``KubeName`` in Python)."""
    if re.fullmatch(DNS1123_SUBDOMAIN, value):
        return value
    raise ValueError(NAME_MESSAGE)


# A CEL rule rather than `pattern`, so that the API server's message explains instead of quoting a regex.
KubeName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=253,
        json_schema_extra=validations(cel_rule(f"self.matches(r'^{DNS1123_SUBDOMAIN}$')", NAME_MESSAGE)),
    ),
    AfterValidator(check_name),
]
"""The name of a Kubernetes object in the request's namespace."""

Identifier = Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH)]
"""A provider-side id or name: opaque, non-empty, bounded so CEL cost estimates stay small."""

# ------------------------------------------------------------------------- timestamps

TIMESTAMP_MESSAGE = "must be an RFC 3339 time with a time zone, e.g. 2026-12-31T23:59:00Z"
RFC3339 = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def check_timestamp(value: str) -> str:
    """Accept an RFC 3339 time with a zone (the CEL rule on ``Timestamp``, plus a real date)."""
    if re.fullmatch(RFC3339, value):
        try:
            datetime.fromisoformat(value.upper())
        except ValueError:
            pass
        else:
            return value
    raise ValueError(TIMESTAMP_MESSAGE)


# A string with a CEL rule, not `format: date-time`: CEL sees such strings as timestamps, and the
# message should say what is wanted instead of quoting a format name.
Timestamp = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        json_schema_extra=validations(cel_rule(f"self.matches(r'^{RFC3339}$')", TIMESTAMP_MESSAGE)),
    ),
    AfterValidator(check_timestamp),
]
"""An RFC 3339 time with a time zone."""

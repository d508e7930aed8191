"""From command-line flags to a RollbackRequest manifest, validated by the operator's own models.

``build_manifest(args)`` turns a provider sub-command (``vector``, ``facets``, ``yandex``) into a
manifest. The spec carries only the keys the user set, so the CRD's defaults apply exactly as they
would to a hand-written manifest. It is validated with ``models.RollbackRequestSpec`` (the same
rules the CRD enforces) and any error becomes a ``PluginError`` that names the flag at fault.
Without ``--name`` the object gets ``metadata.generateName`` = ``<provider>-<short id>-`` and the
API server appends a random suffix. Used by ``cli.py``.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from rollback_operator.fields import check_name
from rollback_operator.models import GROUP, KIND, VERSION, ProviderName, RollbackRequestSpec
from rollback_operator.plugin.errors import EXIT_USAGE, PluginError

SHORT_ID_LENGTH = 20

FLAGS: dict[tuple[str | int, ...], str] = {
    ("reason",): "--reason",
    ("credentialsSecretRef", "name"): "--secret",
    ("target", "stepsBack"): "--steps-back",
    ("target", "version"): "--to",
    ("target",): "--steps-back/--to",
    ("expectedCurrentVersion",): "--expected-current",
    ("timeoutSeconds",): "--timeout-seconds",
    ("dryRun",): "--dry-run",
    ("notAfter",): "--expires-in",
    ("approval", "required"): "--require-approval",
    ("provider", ProviderName.VECTOR, "environmentId"): "ENV_ID",
    ("provider", ProviderName.VECTOR, "apiURL"): "--api-url",
    ("provider", ProviderName.FACETS, "controlPlaneURL"): "--control-plane-url",
    ("provider", ProviderName.FACETS, "environmentId"): "--environment",
    ("provider", ProviderName.FACETS, "resourceType"): "--resource-type",
    ("provider", ProviderName.FACETS, "resourceName"): "--resource-name",
    ("provider", ProviderName.YANDEX, "containerId"): "CONTAINER_ID",
    ("provider", ProviderName.YANDEX, "apiURL"): "--api-url",
    ("provider", ProviderName.YANDEX, "operationsURL"): "--operations-url",
    ("provider", ProviderName.YANDEX, "iamURL"): "--iam-url",
}
"""Where each spec field comes from on the command line (error locations use the wire names)."""


def _set(**fields: Any) -> dict[str, Any]:
    """The fields the user gave (argparse leaves the others None)."""
    return {key: value for key, value in fields.items() if value is not None}


def provider_block(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The ``spec.provider`` key and block for the provider sub-command in ``args``."""
    if args.command == "vector":
        return ProviderName.VECTOR, _set(environmentId=args.environment_id, apiURL=args.api_url)
    if args.command == "facets":
        return ProviderName.FACETS, _set(
            controlPlaneURL=args.control_plane_url,
            environmentId=args.environment,
            resourceType=args.resource_type,
            resourceName=args.resource_name,
        )
    return ProviderName.YANDEX, _set(
        containerId=args.container_id,
        apiURL=args.api_url,
        operationsURL=args.operations_url,
        iamURL=args.iam_url,
    )


def build_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The spec as it goes on the wire (camelCase), checked against the models."""
    key, block = provider_block(args)
    target = {"version": args.to} if args.to is not None else {"stepsBack": args.steps_back}
    spec = _set(
        reason=args.reason,
        provider={key: block},
        credentialsSecretRef={"name": args.secret},
        target=target,
        expectedCurrentVersion=args.expected_current,
        timeoutSeconds=args.timeout_seconds,
        dryRun=True if args.dry_run else None,
        notAfter=_expiry(args.expires_in),
        approval={"required": True} if args.require_approval else None,
    )
    try:
        RollbackRequestSpec.model_validate(spec)
    except ValidationError as exc:
        raise PluginError(_explain(exc), code=EXIT_USAGE) from exc
    return spec


def _expiry(seconds: float | None) -> str | None:
    """``--expires-in`` as the RFC 3339 time it ends (None when not given)."""
    if seconds is None:
        return None
    return (
        (datetime.now(UTC) + timedelta(seconds=seconds))
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z")
    )


def _explain(exc: ValidationError) -> str:
    """One line per problem, each led by the flag that set the field."""
    lines = []
    for error in exc.errors():
        where = FLAGS.get(tuple(error["loc"]), ".".join(map(str, error["loc"])) or "spec")
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "\n".join(lines)


def short_id(value: str) -> str:
    """A name-safe, shortened form of a provider id for generated names."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    return cleaned[:SHORT_ID_LENGTH].strip("-")


def _metadata(args: argparse.Namespace, block: dict[str, Any]) -> dict[str, str]:
    if args.name is not None:
        try:
            return {"name": check_name(args.name)}
        except ValueError as exc:
            raise PluginError(f"--name: {exc}", code=EXIT_USAGE) from exc
    ident = block.get("environmentId") if args.command == "vector" else None
    ident = ident or block.get("resourceName") or block.get("containerId") or ""
    stem = "-".join(part for part in (args.command, short_id(str(ident))) if part)
    return {"generateName": f"{stem}-"}


def build_manifest(args: argparse.Namespace) -> dict[str, Any]:
    """The RollbackRequest to create for a provider sub-command."""
    spec = build_spec(args)
    (block,) = spec["provider"].values()
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": _metadata(args, block),
        "spec": spec,
    }

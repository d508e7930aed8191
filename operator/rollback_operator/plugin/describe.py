"""The ``kubectl rollback status`` summary: what was asked, where it stands, conditions, recent events.

A pure function of the object and its Events (plain dicts as the API server returns them). Used
by ``cli.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rollback_operator.models import ProviderName
from rollback_operator.plugin.show import (
    EVENTS_SHOWN,
    age,
    columns,
    message_of,
    one_line,
    parse_time,
    phase_of,
    status_of,
)


def provider_text(provider: Mapping[str, Any]) -> str:
    """The provider block of a spec in words."""
    if ProviderName.FACETS in provider:
        f = provider[ProviderName.FACETS]
        where = f"{f.get('resourceType')}/{f.get('resourceName')} in environment {f.get('environmentId')}"
        return f"facets {where} at {f.get('controlPlaneURL')}"
    if ProviderName.VECTOR in provider:
        v = provider[ProviderName.VECTOR]
        return f"vector environment {v.get('environmentId')}" + (
            f" at {v['apiURL']}" if v.get("apiURL") else ""
        )
    y = provider.get(ProviderName.YANDEX) or {}
    return f"{ProviderName.YANDEX} {y.get('containerId')}"


def request_text(spec: Mapping[str, Any]) -> str:
    """The target and options of a spec in one line."""
    target = spec.get("target") or {"stepsBack": 1}
    parts = [
        f"version={target['version']}" if "version" in target else f"stepsBack={target.get('stepsBack')}"
    ]
    if spec.get("expectedCurrentVersion"):
        parts.append(f"only if {spec['expectedCurrentVersion']} is live")
    if spec.get("dryRun"):
        parts.append("dry run")
    if spec.get("timeoutSeconds"):
        parts.append(f"timeout {spec['timeoutSeconds']}s")
    return ", ".join(parts)


def _operation_text(op: Mapping[str, Any]) -> str:
    if not op:
        return ""
    if not op.get("id"):
        return f"claimed at {op.get('claimedAt')}, not yet sent to the provider"
    message = f" ({op['message']})" if op.get("message") else ""
    return f"{op['id']}  {op.get('state') or 'Running'}{message}"


def _timing(status: Mapping[str, Any], now: datetime) -> str:
    started, completed = status.get("startedAt"), status.get("completedAt")
    if not started:
        return ""
    text = f"{started} ({age(started, now=now)} ago)"
    begin, end = parse_time(started), parse_time(completed)
    if begin is not None and end is not None:
        text += f", completed {completed} after {int((end - begin).total_seconds())}s"
    return text


def _fields(obj: Mapping[str, Any], now: datetime) -> list[tuple[str, str]]:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, status_of(obj)
    versions = ""
    if status.get("currentVersion") or status.get("targetVersion"):
        versions = f"{status.get('currentVersion') or '?'} -> {status.get('targetVersion') or '?'}"
    return [
        ("Name", meta["name"]),
        ("Namespace", meta.get("namespace", "")),
        ("Created", f"{meta.get('creationTimestamp')} ({age(meta.get('creationTimestamp'), now=now)} ago)"),
        ("Reason", str(spec.get("reason", ""))),
        ("Provider", provider_text(spec.get("provider") or {})),
        ("Request", request_text(spec)),
        ("Phase", phase_of(obj)),
        ("Message", message_of(obj)),
        ("Versions", versions),
        ("Resolution", str(status.get("resolution") or "")),
        ("Operation", _operation_text(status.get("operation") or {})),
        ("Started", _timing(status, now)),
    ]


def _conditions(status: Mapping[str, Any], now: datetime) -> str:
    rows = [["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"]]
    for c in status.get("conditions") or []:
        since = age(c.get("lastTransitionTime"), now=now)
        rows.append([c["type"], c["status"], c.get("reason", ""), since, one_line(c.get("message") or "")])
    return "Conditions:\n" + ("  " + columns(rows).replace("\n", "\n  ") if len(rows) > 1 else "  <none>")


def _events(events: Sequence[Mapping[str, Any]], now: datetime) -> str:
    rows = [["AGE", "TYPE", "REASON", "MESSAGE"]]
    for e in list(events)[-EVENTS_SHOWN:]:
        when = e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp")
        rows.append(
            [age(when, now=now), e.get("type", ""), e.get("reason", ""), one_line(e.get("message") or "")]
        )
    return "Events:\n" + ("  " + columns(rows).replace("\n", "\n  ") if len(rows) > 1 else "  <none>")


def describe(obj: Mapping[str, Any], events: Sequence[Mapping[str, Any]], *, now: datetime) -> str:
    """The whole summary, ready to print."""
    fields = [(label, value) for label, value in _fields(obj, now) if value]
    width = max(len(label) for label, _ in fields) + 2
    head = "\n".join(f"{label + ':':<{width}}{value}" for label, value in fields)
    return "\n\n".join([head, _conditions(status_of(obj), now), _events(events, now)])

"""How the plugin prints RollbackRequests: progress lines, the ``status`` summary, the ``list`` table.

Pure functions from plain object dicts (as the API server returns them) to text; nothing here
talks to the cluster. A request without status yet is shown as Pending, waiting for the operator.
Used by ``cli.py`` and ``follow.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rollback_operator.conditions import READY
from rollback_operator.status_models import TERMINAL_PHASES

NO_STATUS = "waiting for the operator to pick the request up"
MESSAGE_WIDTH = 80
EVENTS_SHOWN = 10


def parse_time(stamp: str | None) -> datetime | None:
    """An RFC 3339 timestamp from the API server, or None."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def age(stamp: str | None, *, now: datetime) -> str:
    """A kubectl-style short duration since ``stamp`` (``42s``, ``3m10s``, ``5h``, ``2d``)."""
    since = parse_time(stamp)
    if since is None:
        return "<unknown>"
    seconds = max(0, int((now - since).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if days < 2:
        return f"{hours}h"
    return f"{days}d"


def status_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object's status (empty before the operator wrote any)."""
    return dict(obj.get("status") or {})


def phase_of(obj: Mapping[str, Any]) -> str:
    """The phase, Pending while there is none."""
    return str(status_of(obj).get("phase") or "Pending")


def message_of(obj: Mapping[str, Any]) -> str:
    """The status message; until the operator has written a phase, that it is awaited."""
    status = status_of(obj)
    return str(status.get("message") or "") if status.get("phase") else NO_STATUS


def condition(status: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The condition of type ``kind`` (empty dict if absent)."""
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), {})


def is_terminal(obj: Mapping[str, Any]) -> bool:
    """Succeeded, Failed or Unknown."""
    return phase_of(obj) in TERMINAL_PHASES


def _operation(status: Mapping[str, Any]) -> str:
    op = status.get("operation") or {}
    if op.get("id"):
        detail = f": {op['message']}" if op.get("message") else ""
        return f"operation {op['id']} {op.get('state') or 'Running'}{detail}"
    return "claimed, not yet sent to the provider" if op.get("claimedAt") else ""


def progress_key(obj: Mapping[str, Any]) -> tuple[str, ...]:
    """What a progress line shows; a new line is printed only when this changes."""
    status = status_of(obj)
    return (phase_of(obj), message_of(obj), _operation(status))


def progress_line(obj: Mapping[str, Any], *, now: datetime | None = None) -> str:
    """One line: time, phase (with the Ready reason once finished), message, operation state."""
    status = status_of(obj)
    phase, message, operation = progress_key(obj)
    if phase in TERMINAL_PHASES and condition(status, READY).get("reason"):
        phase = f"{phase} ({condition(status, READY)['reason']})"
    clock = (now or datetime.now()).strftime("%H:%M:%S")
    parts = [clock, phase, message]
    if operation:
        parts.append(f"[{operation}]")
    return "  ".join(part for part in parts if part)


def columns(rows: Sequence[Sequence[str]]) -> str:
    """Rows aligned in columns three spaces apart, like kubectl's tables."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(text.split())


def clip(text: str, width: int = MESSAGE_WIDTH) -> str:
    """``text`` on one line, cut to ``width`` characters."""
    flat = one_line(text)
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def table(objs: Sequence[Mapping[str, Any]], *, all_namespaces: bool, now: datetime) -> str:
    """The ``list`` table: kubectl get rbr's columns, then AGE and MESSAGE."""
    header = ["NAME", "PROVIDER", "PHASE", "TARGET", "REASON", "AGE", "MESSAGE"]
    rows = [(["NAMESPACE"] if all_namespaces else []) + header]
    ordered = sorted(objs, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
    for obj in ordered:
        meta, status = obj["metadata"], status_of(obj)
        row = [
            meta["name"],
            str(status.get("provider") or ""),
            phase_of(obj),
            str(status.get("targetVersion") or ""),
            str(condition(status, READY).get("reason") or ""),
            age(meta.get("creationTimestamp"), now=now),
            clip(message_of(obj)),
        ]
        rows.append(([meta.get("namespace", "")] if all_namespaces else []) + row)
    return columns(rows)


def history(records: Sequence[Mapping[str, Any]], *, now: datetime) -> str:
    """The ``history`` table: the RollbackRecords, oldest first, with who asked and how each ended."""
    header = ["REQUEST", "PROVIDER", "FROM", "TO", "OUTCOME", "REQUESTED-BY", "APPROVED-BY", "AGE", "RECORD"]
    rows = [header]
    for rec in sorted(
        records, key=lambda r: (r["metadata"].get("creationTimestamp", ""), r["metadata"]["name"])
    ):
        spec, status = rec.get("spec") or {}, rec.get("status") or {}
        outcome = (status.get("outcome") or {}).get("reason") or "InFlight"
        rows.append(
            [
                str(spec.get("requestRef") or ""),
                str(spec.get("provider") or ""),
                str(spec.get("from") or ""),
                str(spec.get("to") or ""),
                outcome,
                str(spec.get("requestedBy") or "unknown"),
                str(spec.get("approvedBy") or "-"),
                age(rec["metadata"].get("creationTimestamp"), now=now),
                rec["metadata"]["name"],
            ]
        )
    return columns(rows)

"""``kubectl rollback plan|approve|reject NAME``: show a request's plan and decide on it.

``plan`` prints what the request would do (from → to, why) and whether it waits for an approval.
``approve`` and ``reject`` create a ``RollbackApproval`` bound to the request's uid and to the plan
its status shows; ``approvedBy`` is the user the API server sees (a ``SelfSubjectReview``), which
is exactly what the ValidatingAdmissionPolicy in ``deploy/admission/`` demands. Used by ``cli.py``.
"""

from __future__ import annotations

from typing import Any

from rollback_operator.approval import APPROVAL_KIND, Decision
from rollback_operator.models import GROUP, VERSION
from rollback_operator.plugin.errors import PluginError
from rollback_operator.plugin.show import condition, status_of
from rollback_operator.status_models import Phase

NOT_WAITING = (
    "{name} is not awaiting approval (phase {phase}); only a request in AwaitingApproval can be decided"
)


def plan(obj: dict[str, Any]) -> str:
    """The request's plan, as lines of ``Label: value``."""
    status = status_of(obj)
    spec, meta = obj.get("spec") or {}, obj["metadata"]
    approval = condition(status, "Approved")
    current, target = status.get("currentVersion"), status.get("targetVersion")
    lines = [
        f"Request:     {meta['namespace']}/{meta['name']} (uid {meta['uid']})",
        f"Phase:       {status.get('phase') or Phase.PENDING}",
        f"Plan:        {current} -> {target}" if target else "Plan:        not resolved yet",
        f"Resolution:  {status.get('resolution') or '-'}",
        f"Requested:   by {status.get('requestedBy') or 'unknown'}: {spec.get('reason', '')}",
        f"Approval:    {'required' if (spec.get('approval') or {}).get('required') else 'not required'}"
        + (f" ({approval.get('status')}, {approval.get('reason')})" if approval else ""),
    ]
    if status.get("approvedBy"):
        lines.append(f"Approved by: {status['approvedBy']}")
    lines.append(f"Message:     {status.get('message') or '-'}")
    return "\n".join(lines)


def approval(obj: dict[str, Any], *, decision: Decision, user: str, comment: str | None) -> dict[str, Any]:
    """The RollbackApproval deciding on ``obj``'s current plan; ``PluginError`` when it has none."""
    status, meta = status_of(obj), obj["metadata"]
    if status.get("phase") != Phase.AWAITING_APPROVAL:
        raise PluginError(NOT_WAITING.format(name=meta["name"], phase=status.get("phase") or Phase.PENDING))
    spec = {
        "requestName": meta["name"],
        "requestUID": meta["uid"],
        "from": status["currentVersion"],
        "to": status["targetVersion"],
        "decision": decision.value,
        "approvedBy": user,
    }
    if comment:
        spec["comment"] = comment
    verb = "approve" if decision is Decision.APPROVE else "reject"
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": APPROVAL_KIND,
        "metadata": {"generateName": f"{meta['name'][:200]}-{verb}-"},
        "spec": spec,
    }

"""The generic rules of kstatus (sigs.k8s.io/cli-utils, pkg/kstatus/status), which Flux applies to CRDs.

For a type without built-in rules, such as any custom resource, kstatus decides from generic
properties only, in this order: ``metadata.deletionTimestamp`` set → Terminating;
``status.observedGeneration`` present and different from ``metadata.generation`` → InProgress; then
the first of the conditions, in list order, that is ``Reconciling=True`` → InProgress or
``Stalled=True`` → Failed; otherwise → Current. ``Ready`` is not consulted. This is that decision
only (not a re-implementation of the library), to check what our conditions tell Flux.
"""

from __future__ import annotations

from typing import Any


def kstatus(obj: dict[str, Any]) -> str:
    """Terminating, InProgress, Failed or Current."""
    meta, status = obj["metadata"], obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    observed = status.get("observedGeneration")
    if observed is not None and meta.get("generation") is not None and observed != meta["generation"]:
        return "InProgress"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Reconciling" and condition.get("status") == "True":
            return "InProgress"
        if condition.get("type") == "Stalled" and condition.get("status") == "True":
            return "Failed"
    return "Current"

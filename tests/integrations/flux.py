"""Flux's CEL health checks (Kustomization `spec.healthCheckExprs`), evaluated with cel-python.

Flux evaluates a kind's expressions against the object (its top-level fields are the variables:
`status`, `metadata`, ...): `inProgress` if given, then `failed`, then `current`; the first that is
true decides, and when none is, the object is in progress. An expression that cannot be evaluated
(a field the object does not have yet) decides nothing either: Flux keeps waiting. This is that
decision, with a real CEL implementation doing the evaluating.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import celpy
import yaml

from tests.support.controlplane import REPO

SNIPPET = REPO / "deploy" / "integrations" / "flux" / "health-check-exprs.yaml"
ORDER = (("inProgress", "InProgress"), ("failed", "Failed"), ("current", "Current"))


def expressions(path: Path = SNIPPET) -> dict[str, str]:
    """The RollbackRequest entry of the Kustomization's healthCheckExprs."""
    kustomization = yaml.safe_load(path.read_text())
    (entry,) = [e for e in kustomization["spec"]["healthCheckExprs"] if e["kind"] == "RollbackRequest"]
    return {key: entry[key] for key, _ in ORDER if key in entry}


class FluxHealth:
    """The expressions of one healthCheckExprs entry, compiled once."""

    def __init__(self, exprs: dict[str, str]) -> None:
        env = celpy.Environment()
        self.programs = {key: env.program(env.compile(text)) for key, text in exprs.items()}

    def value(self, key: str, obj: dict[str, Any]) -> bool | None:
        """The expression's value for ``obj``: True, False, or None when it cannot be evaluated."""
        activation = {name: celpy.json_to_cel(field) for name, field in obj.items()}
        try:
            result = self.programs[key].evaluate(activation)
        except celpy.CELEvalError:
            return None
        if isinstance(result, celpy.CELEvalError):
            return None
        return bool(result)

    def status(self, obj: dict[str, Any]) -> str:
        """InProgress, Failed or Current, as Flux decides."""
        for key, status in ORDER:
            if key in self.programs and self.value(key, obj):
                return status
        return "InProgress"

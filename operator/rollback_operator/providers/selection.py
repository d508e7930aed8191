"""Choosing the rollback target from a provider's history: the rules of the contract, once.

Every adapter gathers the live version and the candidate earlier versions (newest first) its
own way, then calls ``choose``. Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from rollback_operator.errors import TargetNotFound
from rollback_operator.models import Target
from rollback_operator.providers.base import Resolution, Version


def ordinal(n: int) -> str:
    """1 → "1st", 2 → "2nd", 11 → "11th"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _describe(version: Version) -> str:
    return f" ({version.label})" if version.label else ""


def choose(
    *,
    current: str,
    candidates: Sequence[Version],
    target: Target,
    watermark: str | None = None,
) -> Resolution:
    """Pick the target among ``candidates`` (newest first, the live version excluded).

    ``target.version`` must be the live version (nothing to do) or one of the candidates;
    ``target.steps_back`` = N picks the N-th candidate. Raises ``TargetNotFound`` otherwise.
    """
    total = len(candidates)
    if target.version is not None:
        if target.version == current:
            return Resolution(current, current, f"version={current}: already the live version", watermark)
        for index, version in enumerate(candidates, start=1):
            if version.id == target.version:
                line = f"version={version.id}: {ordinal(index)} newest of {total} earlier versions"
                return Resolution(
                    current, version.id, line + _describe(version), watermark, tuple(candidates)
                )
        raise TargetNotFound(
            f"version {target.version} is not among the {total} earlier versions (live version: {current})"
        )
    steps = target.steps_back or 1
    if steps > total:
        raise TargetNotFound(f"stepsBack={steps}, but only {total} earlier versions exist (live: {current})")
    chosen = candidates[steps - 1]
    which = "newest" if steps == 1 else f"{ordinal(steps)} newest"
    line = f"stepsBack={steps}: {which} of {total} earlier versions{_describe(chosen)}"
    return Resolution(current, chosen.id, line, watermark, tuple(candidates))

"""Many requests at once: one per target across the three providers, submitted, awaited, counted.

``Fleet`` names a request per target (round-robin over Facets, Vector and Yandex), creates the
Secrets and the requests, waits until every one is terminal (polling one list call with a
deadline) and reads the sandboxes' rollback counters, which are the exactly-once evidence.
Used by every test in tests/resilience/.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rollback_sandbox.serve import Sandboxes
from tests.support.rollbacks import GROUP, PLURAL, VERSION, Requests, manifest
from tests.support.scenarios import Scenario, World

PROVIDERS = ("facets", "vector", "yandex")
TERMINAL = ("Succeeded", "Failed", "Unknown")


@dataclass
class Fleet:
    requests: Requests
    sandboxes: Sandboxes
    targets: dict[str, Scenario]
    """Request name → its target (each target has exactly one request)."""

    @classmethod
    def across_providers(cls, requests_: Requests, world: World, count: int, *, prefix: str) -> Fleet:
        """``count`` targets, round-robin over the providers; call ``world.apply()`` afterwards."""
        targets = {f"{prefix}-{i:03d}": world.scenario(PROVIDERS[i % len(PROVIDERS)]) for i in range(count)}
        return cls(requests_, world.sandboxes, targets)

    def create_secrets(self) -> None:
        """One Secret per provider, ``creds-<provider>``."""
        for provider in PROVIDERS:
            scenario = next((s for s in self.targets.values() if s.sandbox == provider), None)
            if scenario is not None:
                self.requests.secret(f"creds-{provider}", scenario.secret)

    def submit(self, names: Iterable[str]) -> None:
        for name in names:
            target = self.targets[name]
            self.requests.create(manifest(name, target.provider, secret=f"creds-{target.sandbox}"))

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Every request's status in the namespace, by name (one list call)."""
        listed: Any = self.requests.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.requests.namespace, PLURAL
        )
        return {item["metadata"]["name"]: dict(item.get("status") or {}) for item in listed["items"]}

    def wait_terminal(self, *, timeout: float) -> dict[str, dict[str, Any]]:
        """Poll until every request of the fleet is terminal; returns the last statuses either way."""
        deadline = time.monotonic() + timeout
        while True:
            statuses = self.statuses()
            pending = [n for n in self.targets if statuses.get(n, {}).get("phase") not in TERMINAL]
            if not pending or time.monotonic() > deadline:
                return statuses
            time.sleep(0.25)

    def rollbacks(self) -> dict[str, int]:
        """Request name → rollbacks its target received."""
        return {name: target.rollbacks(self.sandboxes) for name, target in self.targets.items()}

    def verdict(self, statuses: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The figures every resilience test reports."""
        phases = Counter(statuses.get(name, {}).get("phase", "none") for name in self.targets)
        rollbacks = self.rollbacks()
        return {
            "phases": dict(sorted(phases.items())),
            "terminal": sum(phases[p] for p in TERMINAL),
            "duplicates": sum(1 for n in self.targets if rollbacks[n] > 1),
            "succeeded without exactly one rollback": sum(
                1
                for n in self.targets
                if statuses.get(n, {}).get("phase") == "Succeeded" and rollbacks[n] != 1
            ),
            "total rollbacks": sum(rollbacks.values()),
        }

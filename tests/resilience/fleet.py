"""Many requests at once: one per target across the three providers, submitted, awaited, counted.

``Fleet`` names a request per target (round-robin over Facets, Vector and Yandex), creates the
Secrets and the requests, re-creates one as GitOps does (delete, apply the identical manifest),
waits until every one is terminal (polling one list call with a deadline) and reads the
sandboxes' rollback counters, which are the exactly-once evidence. The test's own API calls are
retried while the API server is coming back (``retrying``). Also here: the operator's RSS and an
API server outage, shared by the tests that measure or cause them. Used by every test in
tests/resilience/.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from kubernetes.client.exceptions import ApiException

from rollback_sandbox.serve import Sandboxes
from tests.support.controlplane import ControlPlane
from tests.support.rollbacks import GROUP, PLURAL, VERSION, Requests, manifest
from tests.support.scenarios import Scenario, World

PROVIDERS = ("facets", "vector", "yandex")
TERMINAL = ("Succeeded", "Failed", "Unknown")
T = TypeVar("T")


def retrying(call: Callable[[], T], *, timeout: float = 90) -> T:
    """``call()``, again while the API server is unreachable or not yet serving (429/5xx), until
    ``timeout``: right after a restart a CRD answers 429 until its watch cache is filled."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except ApiException as exc:
            if exc.status not in (429, 500, 502, 503, 504) or time.monotonic() > deadline:
                raise
        except urllib3.exceptions.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def rss_mib(pid: int) -> float:
    """The resident set size of process ``pid`` (``VmRSS`` in /proc), in MiB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:"))


def api_server_outage(cluster: ControlPlane, seconds: float) -> float:
    """Stop kube-apiserver (etcd keeps its data), keep it down ``seconds``, start it again on the
    same address and wait until it is ready; returns the seconds from stop to ready."""
    stopping = time.monotonic()
    cluster.stop_apiserver()
    try:
        time.sleep(seconds)  # the outage itself
    finally:
        cluster.start_apiserver()
    return time.monotonic() - stopping


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
            retrying(
                partial(
                    self.requests.create, manifest(name, target.provider, secret=f"creds-{target.sandbox}")
                )
            )

    def recreate(self, name: str, *, timeout: float = 60) -> None:
        """What a GitOps prune and re-sync does: delete the request (finished or in flight), wait
        until it is gone and create the identical manifest again (a new object, no status)."""
        retrying(lambda: self.requests.delete(name))
        deadline = time.monotonic() + timeout
        while self._exists(name):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} still exists {timeout}s after its deletion")
            time.sleep(0.05)
        self.submit([name])

    def _exists(self, name: str) -> bool:
        try:
            retrying(lambda: self.requests.get(name))
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Every request's status in the namespace, by name (one list call)."""
        listed: Any = retrying(
            lambda: self.requests.custom.list_namespaced_custom_object(
                GROUP, VERSION, self.requests.namespace, PLURAL
            )
        )
        return {item["metadata"]["name"]: dict(item.get("status") or {}) for item in listed["items"]}

    def in_flight(self) -> int:
        """Requests claimed but not finished: the ones a kill interrupts."""
        return sum(
            1
            for status in self.statuses().values()
            if (status.get("operation") or {}).get("claimedAt") and status.get("phase") not in TERMINAL
        )

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
